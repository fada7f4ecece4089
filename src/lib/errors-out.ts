import { Errors } from '@oclif/core';
import { ExitCode, UserError } from '../errors.js';

/** oclif's flag and argument errors (unknown flag, bad option, missing argument…) carry what the parser saw. */
function isParseError(error: unknown): error is Errors.CLIError {
  return error instanceof Errors.CLIError && 'parse' in error;
}

/**
 * The error as the user should see it: tsr's own errors as they are, oclif's parse errors as bad input (exit 2)
 * with the help to read; anything else is a bug and stays as it is.
 */
export function asUserError(error: unknown, helpCommand: string): UserError | undefined {
  if (error instanceof UserError) return error;
  if (isParseError(error)) {
    // oclif ends its messages with "See more help with --help": the fix says it, with the command.
    const message = error.message.replace(/\n*See more help with --help\s*$/, '').trim();
    return new UserError(message, `see \`${helpCommand} --help\``, ExitCode.usage);
  }
  return undefined;
}

/** The one JSON shape of every error, so scripts read `.error.message`, `.error.fix` and `.error.exitCode`. */
export function errorJson(
  error: unknown,
  exitCode: number,
): { error: { message: string; fix?: string; exitCode: number } } {
  const message = error instanceof Error ? error.message : String(error);
  const fix = error instanceof UserError ? error.fix : undefined;
  return { error: { message, ...(fix ? { fix } : {}), exitCode } };
}
