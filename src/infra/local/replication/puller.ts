/**
 * Pulling, one loop per source region: read the engine's change feed from the cursor (long poll), queue the changes
 * of global tables for every other region, and trim the feed up to what every target has applied.
 */
import type { ChangesPage } from '../engines/dynamo-engine.js';
import { describe, requestJson } from './http-json.js';
import { cursor, type LinkContext, type SourceState } from './link-topology.js';

const PAGE_SIZE = 5_000;
export const FETCH_TIMEOUT_MS = 5_000;
/** How long the source holds an empty pull open waiting for a write (long poll). */
export const LONG_POLL_MS = 1_000;

/** Trims the source feed up to what every target has applied; one trim per source at a time. */
export async function trim(source: SourceState, context: LinkContext): Promise<void> {
  if (source.trimming) {
    source.trimAgain = true;
    return;
  }
  source.trimming = true;
  try {
    do {
      source.trimAgain = false;
      const upTo = Math.min(...source.pairs.map(cursor));
      if (upTo <= source.trimmedTo || context.control.closed) break;
      try {
        await requestJson('POST', `${source.endpoint}/_tsr/trim?upTo=${upTo}`, {
          timeoutMs: FETCH_TIMEOUT_MS,
          agent: context.agent,
        });
        source.trimmedTo = upTo;
      } catch {
        break; // retried after the next pull or apply
      }
    } while (source.trimAgain);
  } finally {
    source.trimming = false;
  }
}

/** One pull; whether to pull again at once. */
async function pull(source: SourceState, context: LinkContext): Promise<boolean> {
  if (source.pairs.some((pair) => pair.queue.length >= context.maxBuffered)) {
    source.backpressured = true;
    return false;
  }
  source.backpressured = false;
  const pulledAt = Date.now();
  const generation = source.generation;
  const page = await requestJson<ChangesPage>(
    'GET',
    `${source.endpoint}/_tsr/changes?after=${source.fetchedSeq}&limit=${PAGE_SIZE}&waitMs=${LONG_POLL_MS}`,
    { timeoutMs: LONG_POLL_MS + FETCH_TIMEOUT_MS, agent: context.agent },
  );
  // The link forgot this source's changes while the page was on its way (region lost): ask again from the rewound seq.
  if (source.generation !== generation) return true;
  const known = source.epoch !== undefined;
  if (known && page.epoch !== source.epoch) {
    // The engine restarted without its saved feed: its sequence starts over. Queued changes are still applied.
    source.note = `source ${source.region} restarted its change feed; changes it had not handed over before were lost`;
    source.epoch = page.epoch;
    source.fetchedSeq = 0;
    source.trimmedTo = 0;
    return true;
  }
  source.epoch = page.epoch;
  if (known && page.firstSeq > source.fetchedSeq + 1) {
    const lost = page.firstSeq - source.fetchedSeq - 1;
    source.note = `source ${source.region} dropped ${lost} change(s) from its feed before they were replicated`;
  }
  for (const change of page.changes) {
    if (!context.tables.has(change.table)) continue;
    const bytes = change.image ? JSON.stringify(change.image).length + 200 : 300;
    for (const pair of source.pairs) pair.queue.push({ change, bytes, epoch: page.epoch });
  }
  const last = page.changes.at(-1);
  source.fetchedSeq = last ? last.seq : Math.max(source.fetchedSeq, page.firstSeq - 1);
  if (source.fetchedSeq >= page.lastSeq) source.caughtUpAt = pulledAt;
  source.lastOkAt = Date.now();
  source.error = undefined;
  if (page.changes.length > 0) for (const pair of source.pairs) pair.waker.wake();
  await trim(source, context);
  // Pull again at once, unless an empty answer came back without waiting (an engine that is shutting down).
  return page.changes.length > 0 || Date.now() - pulledAt >= LONG_POLL_MS / 2;
}

/** Pulls from one source until the link closes. */
export async function runSource(source: SourceState, context: LinkContext): Promise<void> {
  while (!context.control.closed) {
    // The pull itself waits (long poll) while the source has nothing new; sleep only after errors or when full.
    let again = false;
    try {
      again = await pull(source, context);
    } catch (error) {
      if (context.control.closed) return;
      source.error = `source ${source.region} (${source.endpoint}) did not answer: ${describe(error)}`;
    }
    if (!again) await source.waker.sleep(context.pollIntervalMs);
  }
}
