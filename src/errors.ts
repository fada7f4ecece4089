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
  /** `tsr reconcile`: records are missing between stages or regions; `tsr verify`: trades lost, duplicated or wrong. */
  gapsFound: 6,
  interrupted: 130,
} as const;

/**
 * Every exit code with what it means: the one table behind `--help` (EXIT CODES, for the commands that declare
 * `static exitCodes`) and the README's list (a test keeps them equal).
 */
export const EXIT_CODES: readonly { readonly code: number; readonly short: string; readonly meaning: string }[] = [
  { code: ExitCode.ok, short: 'ok', meaning: 'done' },
  { code: ExitCode.failure, short: 'failure', meaning: 'something failed; the message says what' },
  { code: ExitCode.usage, short: 'bad input', meaning: 'an unknown flag, argument or value; nothing was done' },
  { code: ExitCode.notDeployed, short: 'nothing deployed', meaning: 'no platform here: run `tsr deploy` first' },
  {
    code: ExitCode.unhealthy,
    short: 'unhealthy',
    meaning: 'something is down, unreadable or not replicating, or the platform is falling behind',
  },
  {
    code: ExitCode.refused,
    short: 'refused',
    meaning: 'a safety rule or a check refused, or no confirmation; nothing was changed',
  },
  {
    code: ExitCode.gapsFound,
    short: 'records missing',
    meaning:
      'records are missing between stages or regions (`tsr reconcile`), or trades lost, duplicated or wrong (`tsr verify`)',
  },
  { code: ExitCode.interrupted, short: 'interrupted', meaning: 'stopped by Ctrl-C; the journal says where' },
];

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
