/**
 * Errors a user can cause or fix. Commands print `message` and `fix` without a stack trace and exit with `exitCode`.
 * Anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
    readonly exitCode: number = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Exit codes shared by every command, so scripts and runbooks can branch on them. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notDeployed: 3,
  unhealthy: 4,
  refused: 5,
  /** `tsr reconcile`: records are missing between stages or regions. */
  gapsFound: 6,
  interrupted: 130,
} as const;

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
