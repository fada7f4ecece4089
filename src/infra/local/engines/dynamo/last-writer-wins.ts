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

/**
 * A replicated change can only lose to an entry of the clock if it is older than that entry. Changes arrive from each
 * origin in the order that origin stamped them (its feed order, stamps from one clock), so once a change stamped T
 * from every peer has been applied here, a later change from any of them is stamped after T minus that clock's
 * jitter, and entries older than T minus a margin can never again decide a winner: they are forgotten. A peer that is
 * down or cut off holds the horizon back, so entries are kept for as long as its changes may still come.
 */
export const FORGET_MARGIN_MS = 60_000;

/** The last-writer-wins clock of one region: per item id, the newest write it holds, local or replicated. */
export class LastWriteClock {
  /** Kept in write order (an update moves the id to the end), so the oldest entries come first. */
  private readonly last = new Map<string, LastWrite>();
  /** Per origin region, the newest stamp among the changes applied here (delivered in that origin's order). */
  private readonly delivered = new Map<string, number>();

  /**
   * @param peers the other regions whose changes are applied here; without them nothing is ever forgotten.
   */
  constructor(
    saved: readonly [string, number, string][] = [],
    private readonly peers: readonly string[] = [],
    private readonly marginMs = FORGET_MARGIN_MS,
  ) {
    for (const [id, ts, origin] of saved) this.last.set(id, { ts, origin });
  }

  /** Items the clock holds an entry for. */
  get size(): number {
    return this.last.size;
  }

  private remember(id: string, write: LastWrite): void {
    this.last.delete(id);
    this.last.set(id, write);
  }

  /** Stamps a local write: now, but always after what this region has seen of the item, so it wins over that. */
  stampLocal(id: string, origin: string, now = Date.now()): number {
    const previous = this.last.get(id);
    const ts = previous ? Math.max(now, previous.ts + 1) : now;
    this.remember(id, { ts, origin });
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

  /**
   * Records applied changes as the newest this region holds, notes how far each origin's changes have been
   * delivered (`delivered`: every change of the applied batch, winners and losers), and forgets what is settled.
   */
  commit(applied: readonly [string, ReplicatedChange][], delivered: readonly ReplicatedChange[] = []): void {
    for (const [id, change] of applied) this.remember(id, { ts: change.ts, origin: change.origin });
    for (const change of delivered) this.noteDelivered(change.origin, change.ts);
    this.forgetSettled();
  }

  /** Every change of `origin` stamped before `ts` has been handed to this region. */
  noteDelivered(origin: string, ts: number): void {
    if (ts > (this.delivered.get(origin) ?? -Infinity)) this.delivered.set(origin, ts);
  }

  /** Before this stamp no replicated change can arrive any more; undefined while some peer has delivered nothing. */
  horizon(): number | undefined {
    if (this.peers.length === 0) return undefined;
    let lowest = Infinity;
    for (const peer of this.peers) lowest = Math.min(lowest, this.delivered.get(peer) ?? -Infinity);
    return Number.isFinite(lowest) ? lowest - this.marginMs : undefined;
  }

  /**
   * Drops entries stamped before the horizon, in write order, stopping at the first one after it (so each call costs
   * what it forgets; an entry written out of stamp order, like a replicated change that lagged, waits for the entries
   * before it); returns how many.
   */
  forgetSettled(): number {
    const horizon = this.horizon();
    if (horizon === undefined) return 0;
    let forgotten = 0;
    for (const [id, write] of this.last) {
      if (write.ts >= horizon) break;
      this.last.delete(id);
      forgotten += 1;
    }
    return forgotten;
  }

  /** For saving: [item id, ts, origin] per item. */
  entries(): [string, number, string][] {
    return [...this.last].map(([id, last]) => [id, last.ts, last.origin]);
  }
}
