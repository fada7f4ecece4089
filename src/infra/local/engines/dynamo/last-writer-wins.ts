/**
 * Last-writer-wins, like DynamoDB global tables: per item, the write with the later origin timestamp wins, ties
 * broken by origin region so every region picks the same winner.
 */
import { itemId, type ReplicatedChange } from './wire.js';

export interface LastWrite {
  readonly ts: number;
  readonly origin: string;
}

/** a is newer than b: later origin timestamp, ties broken by origin region so every region picks the same winner. */
export function isNewer(a: LastWrite, b: LastWrite): boolean {
  return a.ts > b.ts || (a.ts === b.ts && a.origin > b.origin);
}

/** The newest change per item id; the others in the batch are superseded (the feed is ordered per key). */
export function newestPerItem(changes: readonly ReplicatedChange[]): Map<string, ReplicatedChange> {
  const newest = new Map<string, ReplicatedChange>();
  for (const change of changes) {
    const id = itemId(change.table, change.key);
    const current = newest.get(id);
    if (!current || !isNewer(current, change)) newest.set(id, change);
  }
  return newest;
}

/** The last-writer-wins clock of one region: per item id, the newest write it holds, local or replicated. */
export class LastWriteClock {
  private readonly last = new Map<string, LastWrite>();

  constructor(saved: readonly [string, number, string][] = []) {
    for (const [id, ts, origin] of saved) this.last.set(id, { ts, origin });
  }

  /** Stamps a local write: now, but always after what this region has seen of the item, so it wins over that. */
  stampLocal(id: string, origin: string, now = Date.now()): number {
    const previous = this.last.get(id);
    const ts = previous ? Math.max(now, previous.ts + 1) : now;
    this.last.set(id, { ts, origin });
    return ts;
  }

  /** The changes newer than what this region holds of their item (to apply); the rest lose. */
  winners(newest: ReadonlyMap<string, ReplicatedChange>): [string, ReplicatedChange][] {
    const winners: [string, ReplicatedChange][] = [];
    for (const [id, change] of newest) {
      const previous = this.last.get(id);
      if (!previous || isNewer(change, previous)) winners.push([id, change]);
    }
    return winners;
  }

  /** Records applied changes as the newest this region holds. */
  commit(applied: readonly [string, ReplicatedChange][]): void {
    for (const [id, change] of applied) this.last.set(id, { ts: change.ts, origin: change.origin });
  }

  /** For saving: [item id, ts, origin] per item. */
  entries(): [string, number, string][] {
    return [...this.last].map(([id, last]) => [id, last.ts, last.origin]);
  }
}
