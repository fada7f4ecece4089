import { ExitCode, UserError } from '../errors.js';

/**
 * One rule for every command that changes or destroys something:
 * - prompts go to the terminal through stderr, never stdout (stdout may be piped to `tee` or hold --json);
 * - destructive commands ask on a terminal and need --yes without one;
 * - the most dangerous (purge, forced failover, overriding a safety rule) need a name typed, or --confirm <name>:
 *   --yes alone is not enough for them.
 */
export interface ConfirmOptions {
  /** A yes/no question. */
  readonly question?: string;
  /** Or: the word the user must type (Heroku's pattern for the most destructive commands). */
  readonly typed?: string;
  /** The value of --confirm, if given. */
  readonly given?: string;
  /** --yes was given (enough for a yes/no question, not for a typed name). */
  readonly yes?: boolean;
  /** What going ahead does, for the typed prompt and the refusal ("purge the data of dev"). */
  readonly what?: string;
}

/** Prompts need a terminal to read from and one to write to (stderr: stdout may be a pipe). */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

const promptContext = () => ({ input: process.stdin, output: process.stderr });

/** Asks a yes/no question on the terminal (stderr); Ctrl-C on the prompt counts as no. */
export async function askYesNo(message: string): Promise<boolean> {
  const { confirm } = await import('@inquirer/prompts');
  try {
    return await confirm({ message, default: false }, promptContext());
  } catch (error) {
    if ((error as Error).name === 'ExitPromptError') return false;
    throw error;
  }
}

async function askTyped(message: string): Promise<string> {
  const { input } = await import('@inquirer/prompts');
  try {
    return await input({ message }, promptContext());
  } catch (error) {
    if ((error as Error).name === 'ExitPromptError') return '';
    throw error;
  }
}

/** Asks before something destructive, or refuses (exit 5) naming the flag that would have confirmed it. */
export async function confirmDestructive({ question, typed, given, yes, what }: ConfirmOptions): Promise<void> {
  if (typed) {
    if (given === typed) return;
    if (given !== undefined) {
      throw new UserError(
        `--confirm "${given}" does not match "${typed}"`,
        `pass --confirm ${typed} to ${what ?? 'go ahead'}`,
        ExitCode.refused,
      );
    }
  } else if (yes) {
    return;
  }
  if (!canPrompt()) {
    const flag = typed ? `--confirm ${typed}` : '--yes';
    const note = typed && yes ? ` (--yes is not enough to ${what ?? 'do this'})` : '';
    throw new UserError(
      `refusing to go ahead without confirmation: no terminal to ask on${note}`,
      `pass ${flag}`,
      ExitCode.refused,
    );
  }
  const ok = typed
    ? (await askTyped(`To ${what ?? 'go ahead'}, type "${typed}":`)) === typed
    : await askYesNo(question ?? 'Go ahead?');
  if (!ok) throw new UserError('cancelled; nothing was changed', undefined, ExitCode.refused);
}
