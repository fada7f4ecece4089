export interface EventuallyOptions {
  /** Give up after this long (default 15 s). */
  readonly timeoutMs?: number;
  /** Between two looks (default 25 ms). */
  readonly intervalMs?: number;
  /** What is awaited, for the failure message. */
  readonly what?: string;
}

/**
 * Waits on a condition, not a clock: polls `condition` until it returns something other than undefined or false and
 * resolves with that value; a condition that throws counts as not yet (the last error is in the failure message).
 */
export async function eventually<T>(
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 15_000, intervalMs = 25, what = 'condition' }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`${what} not reached within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
