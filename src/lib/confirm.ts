import { ExitCode, UserError } from '../errors.js';

export interface ConfirmOptions {
  /** A yes/no question. */
  readonly question?: string;
  /** Or: the word the user must type (Heroku's pattern for the most destructive commands). */
  readonly typed?: string;
  /** The value of --confirm, if given. */
  readonly given?: string;
  readonly what?: string;
}

/**
 * Asks before something destructive. Without a terminal (scripts, CI) it refuses rather than guess, and says which
 * flag to pass.
 */
export async function confirmDestructive({ question, typed, given, what }: ConfirmOptions): Promise<void> {
  if (typed && given !== undefined) {
    if (given === typed) return;
    throw new UserError(
      `--confirm "${given}" does not match "${typed}"`,
      `pass --confirm ${typed} to ${what ?? 'go ahead'}`,
      ExitCode.refused,
    );
  }
  if (!process.stdin.isTTY) {
    const flag = typed ? `--confirm ${typed}` : '--yes';
    throw new UserError(
      'refusing to go ahead without confirmation (no terminal to ask on)',
      `pass ${flag}`,
      ExitCode.refused,
    );
  }
  const { confirm, input } = await import('@inquirer/prompts');
  const ok = typed
    ? (await input({ message: `To ${what}, type "${typed}":` })) === typed
    : await confirm({ message: question ?? 'Go ahead?', default: false });
  if (!ok) throw new UserError('cancelled; nothing was changed', undefined, ExitCode.refused);
}
