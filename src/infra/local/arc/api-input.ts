/** Errors in the AWS JSON 1.0 shape the cluster API answers with, and reading its inputs field by field. */
import type { RoutingState } from '../../../clients/types.js';

export type ValidationReason = 'cannotParse' | 'fieldValidationFailed' | 'other' | 'unknownOperation';

/** An error the API returns to the caller in the AWS JSON 1.0 error shape. */
export class ApiError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
    readonly members: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function validation(message: string, reason: ValidationReason, field?: string): ApiError {
  return new ApiError('ValidationException', 400, message, {
    reason,
    ...(field ? { fields: [{ name: field, message }] } : {}),
  });
}

export function notFound(resourceType: string, resourceId: string): ApiError {
  return new ApiError('ResourceNotFoundException', 404, `${resourceType} ${resourceId} does not exist`, {
    resourceId,
    resourceType,
  });
}

export type Input = Record<string, unknown>;

export function requireString(input: Input, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw validation(`${field} is required and must be a non-empty string`, 'fieldValidationFailed', field);
  }
  return value;
}

export function requireState(input: Input, field: string): RoutingState {
  const value = input[field];
  if (value !== 'On' && value !== 'Off') {
    throw validation(`${field} must be On or Off`, 'fieldValidationFailed', field);
  }
  return value;
}

export function optionalStringList(input: Input, field: string): string[] {
  const value = input[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw validation(`${field} must be a list of strings`, 'fieldValidationFailed', field);
  }
  return value as string[];
}

export function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64url');
}

export function decodeToken(token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isInteger(parsed.offset) && parsed.offset >= 0) {
      return parsed.offset;
    }
  } catch {
    // fall through to the validation error
  }
  throw validation('NextToken is not a token this cluster issued', 'fieldValidationFailed', 'NextToken');
}

/** Account id of an ARN (arn:aws:service:region:ACCOUNT:resource), or undefined. */
export function ownerOf(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account ? account : undefined;
}
