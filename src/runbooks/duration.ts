import { z } from 'zod';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** "500ms", "30s", "2m", "1h", "1m30s" → milliseconds; undefined when `text` is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(PART)) total += Number(amount) * UNIT_MS[unit];
  return Math.round(total);
}

/** 420 → "420 ms", 12_345 → "12.3 s", 125_000 → "2 m 05 s". */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  return `${minutes} m ${String(seconds).padStart(2, '0')} s`;
}

/** A duration in step parameters: "30s"-style text, or a number of milliseconds. Parses to milliseconds. */
export const durationSchema = z.union([
  z.number().nonnegative(),
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${text}" is not a duration (e.g. 500ms, 30s, 2m, 1h)` });
      return z.NEVER;
    }
    return ms;
  }),
]);
