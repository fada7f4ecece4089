import { describeCredentialError } from '../../infra/aws/credentials.js';
import { ExitCode, UserError } from '../../errors.js';

const CREDENTIALS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
]);
const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'ProvisionedThroughputExceededException',
]);
const NOT_FOUND = new Set([
  'GlobalClusterNotFoundFault',
  'DBClusterNotFoundFault',
  'ClusterNotFoundException',
  'ServiceNotFoundException',
  'ResourceNotFoundException',
]);
const WRONG_STATE = new Set([
  'InvalidGlobalClusterStateFault',
  'InvalidDBClusterStateFault',
  'ServiceNotActiveException',
  'InvalidParameterException',
  'InvalidParameterValueException',
]);
const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

/** Missing, expired or rejected credentials: every call fails the same way until the user signs in. */
export function isCredentialError(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return CREDENTIALS.has(name) || /could not load credentials/i.test((error as Error).message ?? '');
}

/**
 * Turns an AWS SDK error a user can cause or fix into a UserError with a next step; anything else is returned
 * unchanged (a bug or an outage keeps its stack). `action` says what tsr was doing, e.g. "switching over trade".
 */
export function toUserError(error: unknown, action: string): Error {
  if (error instanceof UserError) return error;
  const name = (error as { name?: string }).name ?? '';
  const message = (error as Error).message ?? String(error);
  if (isCredentialError(error)) return describeCredentialError(error);
  if (THROTTLED.has(name)) {
    return new UserError(
      `AWS throttled ${action} even after retries (${name})`,
      'wait a minute and run the command again; if it persists, check the account’s API quotas',
      ExitCode.unhealthy,
    );
  }
  if (NOT_FOUND.has(name)) {
    return new UserError(
      `${action}: ${message}`,
      'is the environment deployed to AWS with these regions? Check with `tsr status --target aws`, or deploy with `tsr deploy --target aws`',
      ExitCode.notDeployed,
    );
  }
  if (WRONG_STATE.has(name)) {
    return new UserError(
      `${action} was refused: ${message}`,
      'wait for the resource to become available (an operation may be in progress) and retry',
      ExitCode.refused,
    );
  }
  if (DENIED.has(name)) {
    return new UserError(
      `${action} was denied: ${message}`,
      'use credentials allowed to operate this environment (an operator role), then retry',
      ExitCode.refused,
    );
  }
  return error instanceof Error ? error : new Error(message);
}
