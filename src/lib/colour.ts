import { Chalk, supportsColor } from 'chalk';

/**
 * The colour level for stdout: none when NO_COLOR is set (https://no-color.org; chalk itself ignores it) or when
 * stdout is not a terminal (files, pipes, CI logs), else what the terminal supports.
 */
export function colourLevel(
  env: NodeJS.ProcessEnv = process.env,
  isTTY = Boolean(process.stdout.isTTY),
): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR) return 0;
  if (!isTTY) return 0;
  return supportsColor ? supportsColor.level : 0;
}

/** Chalk at the level above: every styled text of tsr goes through it. */
export const paint = new Chalk({ level: colourLevel() });

/** Green when good, red when not: the states users scan for. */
export const okOrNot = (ok: boolean, text: string): string => (ok ? paint.green(text) : paint.red.bold(text));

// Matching the escape character is the point here: SGR sequences are what colour adds to a string.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Length as seen on screen (escape codes take no room). */
export const visibleLength = (text: string): number => text.replace(ANSI, '').length;
