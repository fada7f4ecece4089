/**
 * Applying, one loop per ordered region pair: send the pair's queue, in order and in bounded batches, to the target's
 * `POST /_tsr/apply` once each change is older than the configured delay; probe a target that has nothing to do, back
 * off from one that fails, and let the source be trimmed after each batch.
 */
import { describe, requestJson } from './http-json.js';
import { cursor, type LinkContext, type PairState } from './link-topology.js';
import { trim } from './puller.js';

const APPLY_BATCH = 2_000;
const APPLY_BATCH_BYTES = 8 * 1024 * 1024;
const APPLY_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_EVERY_MS = 500;

/**
 * Checks an idle target now and then, so its health is known before there is something to apply. With nothing queued
 * from a source that was caught up, the check tells the target so (an apply of no changes with `delivered`): its
 * last-writer-wins clock may then forget what that source can no longer contradict, even if the source writes nothing.
 */
async function probe(pair: PairState, context: LinkContext): Promise<void> {
  if (Date.now() - pair.lastContactAt < PROBE_EVERY_MS) return;
  const caughtUpAt = pair.queue.length === 0 ? pair.source.caughtUpAt : undefined;
  try {
    if (caughtUpAt === undefined) {
      await requestJson('GET', `${pair.endpoint}/_tsr/health`, { timeoutMs: PROBE_TIMEOUT_MS, agent: context.agent });
    } else {
      const body = { changes: [], delivered: { [pair.source.region]: caughtUpAt } };
      await requestJson('POST', `${pair.endpoint}/_tsr/apply`, {
        body,
        timeoutMs: PROBE_TIMEOUT_MS,
        agent: context.agent,
      });
    }
    pair.error = undefined;
  } catch (error) {
    if (!context.control.closed) pair.error = `target ${pair.to} (${pair.endpoint}) did not answer: ${describe(error)}`;
  }
  pair.lastContactAt = Date.now();
}

/** Applies one pair's queue until the link closes. */
export async function runPair(pair: PairState, context: LinkContext): Promise<void> {
  let failures = 0;
  while (!context.control.closed) {
    if (pair.forgetQueued) {
      // Between applies, so no batch taken from the queue is in flight. Pulled again from where this pair applied
      // once the source answers (its feed keeps what no target applied).
      pair.forgetQueued = false;
      pair.source.fetchedSeq = Math.min(pair.source.fetchedSeq, cursor(pair));
      pair.source.generation += 1;
      pair.queue.clear();
    }
    const now = Date.now();
    const batch = context.control.paused
      ? []
      : pair.queue.take(APPLY_BATCH, APPLY_BATCH_BYTES, (entry) => entry.change.ts + context.control.delayMs <= now);
    if (batch.length === 0) {
      await probe(pair, context);
      const head = pair.queue.first();
      const wait =
        head && !context.control.paused
          ? Math.min(context.pollIntervalMs, head.change.ts + context.control.delayMs - now)
          : context.pollIntervalMs;
      await pair.waker.sleep(Math.max(1, wait));
      continue;
    }
    try {
      await requestJson('POST', `${pair.endpoint}/_tsr/apply`, {
        body: { changes: batch.map((entry) => entry.change) },
        timeoutMs: APPLY_TIMEOUT_MS,
        agent: context.agent,
      });
      pair.queue.drop(batch.length);
      pair.error = undefined;
      pair.lastContactAt = Date.now();
      failures = 0;
      void trim(pair.source, context);
    } catch (error) {
      if (context.control.closed) return;
      pair.error = `target ${pair.to} (${pair.endpoint}) did not apply: ${describe(error)}`;
      pair.lastContactAt = Date.now();
      failures += 1;
      await pair.waker.sleep(Math.min(1_000, context.pollIntervalMs * 2 ** Math.min(failures, 10)));
    }
  }
}
