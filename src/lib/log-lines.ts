import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { paint } from './colour.js';

/** Fields every line of a service carries: the command already says which service it is. */
const CONTEXT_FIELDS = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'service',
  'app',
  'region',
  'stage',
  'workerId',
]);

const LEVEL_STYLE: Record<string, (text: string) => string> = {
  fatal: (t) => paint.red.bold(t),
  error: (t) => paint.red(t),
  warn: (t) => paint.yellow(t),
  debug: (t) => paint.gray(t),
  trace: (t) => paint.gray(t),
};

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/**
 * A JSON log line (pino) as a person reads it: `12:00:01.234 INFO  message  key=value …`. Anything that is not
 * such a line (a crash trace on stderr) stays as it is.
 */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return line;
  const time =
    typeof entry.time === 'string'
      ? entry.time.slice(11, 23)
      : typeof entry.time === 'number'
        ? new Date(entry.time).toISOString().slice(11, 23)
        : '';
  const level = String(entry.level ?? '').toLowerCase();
  const styled = (LEVEL_STYLE[level] ?? ((t: string) => t))(level.toUpperCase().padEnd(5));
  const fields = Object.entries(entry)
    .filter(([key]) => !CONTEXT_FIELDS.has(key))
    .map(([key, value]) => `${paint.dim(`${key}=`)}${fieldText(value)}`);
  return [paint.dim(time), styled, String(entry.msg ?? ''), ...fields].filter(Boolean).join('  ');
}

export interface FollowOptions {
  /** Byte offset to start from (default: the current end). */
  readonly from?: number;
  readonly signal: AbortSignal;
  readonly onLine: (line: string) => void;
  /** How often to look for more (default 200 ms). */
  readonly pollMs?: number;
}

/** Reads `file` from `from` on as it grows, line by line, until the signal fires; a truncated file is read anew. */
export async function followFile(file: string, { from, signal, onLine, pollMs = 200 }: FollowOptions): Promise<void> {
  let offset = from ?? (existsSync(file) ? statSync(file).size : 0);
  let partial = '';
  while (!signal.aborted) {
    const size = existsSync(file) ? statSync(file).size : 0;
    if (size < offset) offset = 0; // truncated or replaced: the new content from its start
    if (size > offset) {
      const buffer = Buffer.alloc(size - offset);
      const fd = openSync(file, 'r');
      try {
        readSync(fd, buffer, 0, buffer.length, offset);
      } finally {
        closeSync(fd);
      }
      offset = size;
      const lines = (partial + buffer.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    }
    await delay(pollMs, undefined, { signal }).catch(() => undefined);
  }
}
