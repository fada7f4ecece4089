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

function parseTime(text: string, flag: string): number {
  const ms = /^\d{10,13}$/.test(text.trim()) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new UserError(
      `--${flag} "${text}" is not a time`,
      'use ISO 8601, e.g. 2026-05-01T10:00:00Z (or epoch milliseconds)',
      ExitCode.usage,
    );
  }
  return ms;
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
  if (toMs > now) return { fromMs, toMs: now, clampedTo: true };
  return { fromMs, toMs };
}
