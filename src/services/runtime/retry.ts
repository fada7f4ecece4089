/**
 * Backoff with jitter, shared by the producer, the consumer and the safe store.
 *
 * Delays grow exponentially from `baseMs` and are capped at `maxMs`; each delay is drawn uniformly from the upper
 * half of its exponential step ("equal jitter"), so concurrent retriers spread out but never retry at once.
 */
export interface BackoffOptions {
  /** First delay, in ms. Default 50. */
  readonly baseMs?: number;
  /** Largest delay, in ms. Default 2000. */
  readonly maxMs?: number;
}

/** Delay before retry number `attempt` (0 for the first retry). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 50;
  const max = opts.maxMs ?? 2000;
  const step = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + Math.random() * (step / 2));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface RetryOptions extends BackoffOptions {
  /** Attempts in all, including the first. Default 5. */
  readonly attempts?: number;
  /** Whether an error is worth another attempt. Default: every error. */
  readonly retryable?: (error: unknown) => boolean;
  /** Called before each retry with the error and the delay about to be waited. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Aborting stops retrying: the last error is thrown at once. */
  readonly signal?: AbortSignal;
}

/** Runs `fn` until it resolves or the attempts are spent; throws the last error. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const last = attempt + 1 >= attempts;
      if (last || opts.signal?.aborted || (opts.retryable && !opts.retryable(error))) throw error;
      const delay = backoffDelay(attempt, opts);
      opts.onRetry?.(error, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}

/** AWS SDK error name (e.g. `ConditionalCheckFailedException`), or undefined. */
export function errorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const name = (error as { name?: unknown }).name;
  return typeof name === 'string' ? name : undefined;
}

/** Errors of the request as a whole that a later attempt may not see: throttling, 5xx, network. */
export function isTransientAwsError(error: unknown): boolean {
  const name = errorName(error) ?? '';
  if (
    /Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|InternalFailure|InternalServerError|ServiceUnavailable|LimitExceeded|TimeoutError|RequestTimeout/.test(
      name,
    )
  ) {
    return true;
  }
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+/.test(code)) return true;
  // Network failures without an HTTP answer.
  return status === undefined && /ECONN|EPIPE|ETIMEDOUT|socket hang up|EAI_AGAIN/.test(String(error));
}

/** Runs `worker` over `items` with at most `concurrency` at once; resolves with the results in order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await worker(items[index], index) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  return results;
}
