/**
 * Applying changes replicated from other regions: straight to dynalite (never through the front, so they do not
 * re-enter this region's feed), only where they win last-writer-wins, under the same item locks as local writes.
 */
import type { Dynalite } from './dynalite.js';
import type { ItemLocks } from './item-locks.js';
import { type LastWriteClock, newestPerItem } from './last-writer-wins.js';
import type { ApplyResult, ReplicatedChange } from './wire.js';

/** BatchWriteItem's limit of requests per call. */
export const BATCH_LIMIT = 25;
const APPLY_CONCURRENCY = 4;

/** One BatchWriteItem call's worth of writes to one table. */
export interface WriteBatch {
  readonly table: string;
  readonly requests: unknown[];
}

/** The winning changes as BatchWriteItem requests: grouped by table, at most `limit` per batch, order kept. */
export function writeBatches(changes: readonly ReplicatedChange[], limit = BATCH_LIMIT): WriteBatch[] {
  const byTable = new Map<string, unknown[]>();
  for (const change of changes) {
    const list = byTable.get(change.table) ?? [];
    list.push(change.op === 'put' ? { PutRequest: { Item: change.image } } : { DeleteRequest: { Key: change.key } });
    byTable.set(change.table, list);
  }
  const batches: WriteBatch[] = [];
  for (const [table, requests] of byTable) {
    for (let i = 0; i < requests.length; i += limit) batches.push({ table, requests: requests.slice(i, i + limit) });
  }
  return batches;
}

/** One batch, retrying what dynalite leaves unprocessed with a growing pause. */
async function batchWrite(dynalite: Dynalite, batch: WriteBatch): Promise<void> {
  let pending: Record<string, unknown[]> = { [batch.table]: batch.requests };
  for (let attempt = 0; ; attempt++) {
    const result = await dynalite.call('BatchWriteItem', { RequestItems: pending });
    const unprocessed = (result.UnprocessedItems ?? {}) as Record<string, unknown[]>;
    if (Object.values(unprocessed).every((list) => list.length === 0)) return;
    if (attempt >= 20) throw new Error(`BatchWriteItem left items unprocessed after ${attempt + 1} attempts`);
    pending = unprocessed;
    await new Promise((resolve) => setTimeout(resolve, Math.min(500, 5 * 2 ** attempt)));
  }
}

export async function applyReplicatedChanges(
  changes: readonly ReplicatedChange[],
  { dynalite, locks, clock }: { dynalite: Dynalite; locks: ItemLocks; clock: LastWriteClock },
  delivered: Readonly<Record<string, number>> = {},
): Promise<ApplyResult> {
  // Only the newest change per item matters: the feed is ordered per key and last-writer-wins decides the rest.
  const newest = newestPerItem(changes);
  const release = await locks.acquire([...newest.keys()]);
  try {
    const winners = clock.winners(newest);
    const batches = writeBatches(winners.map(([, change]) => change));
    let next = 0;
    const worker = async () => {
      while (next < batches.length) await batchWrite(dynalite, batches[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, batches.length) }, worker));
    for (const [origin, ts] of Object.entries(delivered)) clock.noteDelivered(origin, ts);
    clock.commit(winners, changes);
    return { applied: winners.length, skipped: changes.length - winners.length };
  } finally {
    release();
  }
}
