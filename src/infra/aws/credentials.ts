import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ExitCode, UserError } from '../../errors.js';

export interface CallerIdentity {
  readonly account: string;
  readonly arn: string;
}

const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired']);
const INVALID = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'AccessDenied',
]);

const FIX =
  'sign in again (`aws sso login --profile <profile>`), or set AWS_PROFILE / AWS_ACCESS_KEY_ID and ' +
  'AWS_SECRET_ACCESS_KEY; check with `aws sts get-caller-identity`';

/**
 * Asks STS who we are before any terraform run, so missing or expired credentials fail in a second with a fix,
 * not halfway through an apply. Optionally checks the account is the configured one.
 */
export async function checkAwsCredentials(region: string, expectedAccount?: string): Promise<CallerIdentity> {
  const client = new STSClient({ region, maxAttempts: 2 });
  try {
    const answer = await client.send(new GetCallerIdentityCommand({}));
    const identity = { account: answer.Account ?? '', arn: answer.Arn ?? '' };
    if (expectedAccount && identity.account !== expectedAccount) {
      throw new UserError(
        `the AWS credentials belong to account ${identity.account} (${identity.arn}), but the configuration says ${expectedAccount}`,
        'switch to a profile of the configured account, or fix aws.accountId in tsr.config.yaml',
        ExitCode.usage,
      );
    }
    return identity;
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw describeCredentialError(error);
  } finally {
    client.destroy();
  }
}

export function describeCredentialError(error: unknown): UserError {
  const name = (error as { name?: string }).name ?? '';
  const message = (error as Error).message ?? String(error);
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new UserError(`no AWS credentials found: ${message}`, FIX, ExitCode.usage);
  }
  if (EXPIRED.has(name) || /expired/i.test(message)) {
    return new UserError(`the AWS credentials have expired (${name || 'expired'}): ${message}`, FIX, ExitCode.usage);
  }
  if (INVALID.has(name)) {
    return new UserError(`AWS rejected the credentials (${name}): ${message}`, FIX, ExitCode.usage);
  }
  return new UserError(
    `could not verify the AWS credentials with STS: ${message}`,
    'check the network and the credentials (`aws sts get-caller-identity`), then retry',
    ExitCode.failure,
  );
}
