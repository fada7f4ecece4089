/**
 * Applying changes replicated from other regions: straight to dynalite's store (never through the front, so they do
 * not re-enter this region's feed), only where they win last-writer-wins, under the same item locks as local writes.
 */
import type { Dynalite } from './dynalite.js';
import type { ItemLocks } from './item-locks.js';
import { type LastWriteClock, newestPerItem } from './last-writer-wins.js';
import type { ApplyResult, ReplicatedChange } from './wire.js';

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
    await dynalite.writeReplicated(winners.map(([, change]) => change));
    for (const [origin, ts] of Object.entries(delivered)) clock.noteDelivered(origin, ts);
    clock.commit(winners, changes);
    return { applied: winners.length, skipped: changes.length - winners.length };
  } finally {
    release();
  }
}
