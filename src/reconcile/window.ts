import { ExitCode, UserError } from '../errors.js';

/** A reconciliation window: records accepted in [fromMs, toMs). */
export interface ReconcileWindow {
  readonly fromMs: number;
  readonly toMs: number;
  /** Set when the requested end lay in the future and was brought back to now. */
  readonly clampedTo?: boolean;
}

export interface WindowInput {
  /** A duration back from now: `90s`, `15m`, `1h`, `2d`, `1h30m`. */
  readonly since?: string;
  /** ISO 8601 time (e.g. 2026-05-01T10:00:00Z). */
  readonly from?: string;
  /** ISO 8601 time; default now. */
  readonly to?: string;
  /** The longest window accepted (a duration); default DEFAULT_MAX_WINDOW. */
  readonly maxWindow?: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `1h30m` → 5,400,000. Throws a usage error on anything else. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new UserError(
      `"${text}" is not a duration`,
      'use a number with a unit: 90s, 15m, 1h, 2d or a combination like 1h30m',
      ExitCode.usage,
    );
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]], 0);
}

/** Date, or date and time with seconds optional, fraction optional and a zone required (Z or ±hh:mm). */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/** A region name where a time belongs: `--from/--to` name regions on rotate and failover. */
const LOOKS_LIKE_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Strict ISO 8601 (or epoch milliseconds); anything else, including an impossible date, is a usage error. */
export function parseTime(text: string, flag: string): number {
  const trimmed = text.trim();
  if (/^\d{13}$/.test(trimmed)) return Number(trimmed);
  const match = ISO_8601.exec(trimmed);
  const ms = match ? Date.parse(match[4] === undefined ? `${trimmed}T00:00:00Z` : trimmed) : NaN;
  // Date.parse rolls 2026-02-31 over to March: the date must read back as written.
  const real =
    match &&
    Number.isFinite(ms) &&
    new Date(ms + offsetMs(match[7])).toISOString().slice(0, 10) === trimmed.slice(0, 10);
  if (!real) {
    const region = LOOKS_LIKE_REGION.test(trimmed)
      ? ` (--${flag} is a time here; on rotate and failover it names a region)`
      : '';
    throw new UserError(
      `--${flag} "${text}" is not an ISO 8601 time${region}`,
      'e.g. 2026-05-01T10:00:00Z, 2026-05-01T12:00:00+02:00 or 2026-05-01 (UTC midnight); or use --since 1h',
      ExitCode.usage,
    );
  }
  return ms;
}

/** The zone offset of an ISO time in ms (what to add to UTC to read the local date back). */
function offsetMs(zone: string | undefined): number {
  if (!zone || zone === 'Z') return 0;
  const [, sign, hours, minutes] = /^([+-])(\d{2}):?(\d{2})$/.exec(zone) ?? [];
  return (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes)) * 60_000;
}

/** Longest window by default: reading minute by minute, a window costs time and memory per minute it spans. */
export const DEFAULT_MAX_WINDOW = '7d';
/** What --max-window may raise it to. */
const LONGEST_WINDOW_MS = 366 * 86_400_000;

function checkLength(lengthMs: number, maxWindow: string): void {
  const maxMs = parseDuration(maxWindow);
  if (maxMs > LONGEST_WINDOW_MS) {
    throw new UserError(
      `--max-window ${maxWindow} is longer than a year`,
      'reconcile a long period in parts, one --from/--to window after another',
      ExitCode.usage,
    );
  }
  if (lengthMs > maxMs) {
    throw new UserError(
      `the window is ${describeLength(lengthMs)} long; at most ${maxWindow} is read at once (minute by minute)`,
      `narrow it (--since, --from/--to), or go wider with --max-window ${describeLength(lengthMs)}, up to 366d`,
      ExitCode.usage,
    );
  }
}

/** 90061000 → "1d1h2m" (rounded up to the minute, so it is a --max-window that accepts the window). */
function describeLength(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  const [d, h, m] = [Math.floor(minutes / 1440), Math.floor((minutes % 1440) / 60), minutes % 60];
  return `${d ? `${d}d` : ''}${h ? `${h}h` : ''}${m || (!d && !h) ? `${m}m` : ''}`;
}

/**
 * The window to reconcile, validated: --since and --from are exclusive; an empty, reversed or future window is a
 * usage error with the way out; an end in the future is brought back to now (records cannot be there yet).
 */
export function resolveWindow(input: WindowInput, now = Date.now()): ReconcileWindow {
  if (input.since !== undefined && (input.from !== undefined || input.to !== undefined)) {
    throw new UserError('--since cannot be combined with --from/--to', 'give either --since or --from [--to]', 2);
  }
  let fromMs: number;
  let toMs: number;
  if (input.from !== undefined) {
    fromMs = parseTime(input.from, 'from');
    toMs = input.to === undefined ? now : parseTime(input.to, 'to');
  } else if (input.to !== undefined) {
    throw new UserError('--to needs --from', 'e.g. --from 2026-05-01T10:00:00Z --to 2026-05-01T11:00:00Z', 2);
  } else {
    const duration = parseDuration(input.since ?? '1h');
    if (duration <= 0) throw new UserError('--since must be longer than zero', 'e.g. --since 15m', ExitCode.usage);
    fromMs = now - duration;
    toMs = now;
  }
  if (fromMs >= now) {
    throw new UserError(
      `the window starts in the future (${new Date(fromMs).toISOString()}; now is ${new Date(now).toISOString()})`,
      'reconcile a window that has already begun, e.g. --since 1h',
      ExitCode.usage,
    );
  }
  if (toMs < fromMs) {
    throw new UserError(
      `the window is reversed: --to ${new Date(toMs).toISOString()} is before --from ${new Date(fromMs).toISOString()}`,
      'swap --from and --to',
      ExitCode.usage,
    );
  }
  if (toMs === fromMs) {
    throw new UserError('the window is empty (--from equals --to)', 'give a later --to, or use --since', 2);
  }
  const end = Math.min(toMs, now);
  checkLength(end - fromMs, input.maxWindow ?? DEFAULT_MAX_WINDOW);
  if (toMs > now) return { fromMs, toMs: now, clampedTo: true };
  return { fromMs, toMs };
}
