/**
 * Compares two sets of records read from two safe stores, window minute by window minute, in bounded memory.
 *
 * Both sides are fed in time order, one minute bucket at a time and in lockstep. A record waits in its side's map for
 * its partner for `lookAheadMs` of read time; after that it is a leftover and is point-read (BatchGetItem) on the
 * other side, which also finds partners outside the window (a record stored just before `from`, one that reached
 * the next stage after `to`, one whose acceptedAt a redelivery moved). Memory holds about one minute plus the
 * look-ahead of records, whatever the window's size.
 *
 * A pair is counted once: when the left record lies in the window, the left side owns the match.
 */
import type { RecordRef, StoreReader } from './store-reader.js';
import { inFlightSince, toRef } from './store-reader.js';

export interface Side {
  readonly reader: StoreReader;
  /** Whether a stored record belongs to this side of the comparison (e.g. forwarded, of the hop's kinds). */
  readonly accept: (ref: RecordRef) => boolean;
  /**
   * Whether a record found by a point read counts as the partner of one on the other side; default `accept`. Wider
   * where records this side leaves out of its own count may still be partners (see ReconcileOptions.live).
   */
  readonly partner?: (ref: RecordRef) => boolean;
}

export interface StatusDiff {
  readonly id: string;
  readonly left: string;
  readonly right: string;
}

export interface ComparisonResult {
  readonly leftCount: number;
  readonly rightCount: number;
  readonly matched: number;
  /** In left, in the window, and nowhere on the right. */
  readonly missing: readonly string[];
  /** The part of `missing` the left side holds undelivered (forwarded=false): delayed upstream, not lost. */
  readonly held: readonly string[];
  /** On the right, in the window, and nowhere on the left. */
  readonly extra: readonly string[];
  readonly statusDiffers: readonly StatusDiff[];
  /** Set when the comparison could not be completed, and why. */
  readonly failure?: string;
}

interface Pending {
  readonly side: 'left' | 'right';
  readonly refs: RecordRef[];
}

const CHECK_BATCH = 100;

export class Comparison {
  private leftCount = 0;
  private rightCount = 0;
  private matched = 0;
  private readonly leftMap = new Map<string, RecordRef>();
  private readonly rightMap = new Map<string, RecordRef>();
  /** Partners found by a point read ahead of the read frontier: skip them when the window reaches them. */
  private readonly awaitLeft = new Set<string>();
  private readonly awaitRight = new Set<string>();
  private readonly queued: { left: RecordRef[]; right: RecordRef[] } = { left: [], right: [] };
  /** Candidates not found on the other side; young ones are read again after the grace period. */
  private readonly candidates: { left: RecordRef[]; right: RecordRef[] } = { left: [], right: [] };
  private readonly statusDiffs: StatusDiff[] = [];
  private frontier: number;
  failure?: string;

  constructor(
    readonly name: string,
    readonly left: Side,
    readonly right: Side,
    readonly compareStatus: boolean,
    private readonly window: { readonly fromMs: number; readonly toMs: number },
  ) {
    this.frontier = window.fromMs;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  fail(reason: string): void {
    this.failure ??= reason;
    this.leftMap.clear();
    this.rightMap.clear();
    this.queued.left = [];
    this.queued.right = [];
  }

  private inWindow(at: number): boolean {
    return at >= this.window.fromMs && at < this.window.toMs;
  }

  private match(left: RecordRef, right: RecordRef): void {
    this.matched++;
    if (this.compareStatus && left.status !== right.status) {
      this.statusDiffs.push({ id: left.id, left: left.status, right: right.status });
    }
  }

  /** Feeds one minute of both sides; `frontierMs` is the end of that minute. */
  feed(leftItems: readonly RecordRef[], rightItems: readonly RecordRef[], frontierMs: number): void {
    if (this.failed) return;
    for (const ref of leftItems) {
      if (!this.left.accept(ref)) continue;
      this.leftCount++;
      if (this.awaitLeft.delete(ref.id)) continue;
      const partner = this.rightMap.get(ref.id);
      if (partner) {
        this.rightMap.delete(ref.id);
        this.match(ref, partner);
      } else this.leftMap.set(ref.id, ref);
    }
    for (const ref of rightItems) {
      if (!this.right.accept(ref)) continue;
      this.rightCount++;
      if (this.awaitRight.delete(ref.id)) continue;
      const partner = this.leftMap.get(ref.id);
      if (partner) {
        this.leftMap.delete(ref.id);
        this.match(partner, ref);
      } else this.rightMap.set(ref.id, ref);
    }
    this.frontier = frontierMs;
  }

  /** Moves records older than `beforeMs` that found no partner to the point-read queue. */
  evict(beforeMs: number): void {
    for (const [map, queue] of [
      [this.leftMap, this.queued.left],
      [this.rightMap, this.queued.right],
    ] as const) {
      // Maps iterate in insertion order, which is time order: stop at the first young record.
      for (const [id, ref] of map) {
        if (ref.acceptedAt >= beforeMs) break;
        map.delete(id);
        queue.push(ref);
      }
    }
  }

  /** Everything still waiting goes to the point-read queue (the window has been read). */
  flush(): void {
    this.evict(Number.POSITIVE_INFINITY);
    this.frontier = Number.POSITIVE_INFINITY;
  }

  /** Batches ready for point reads; with `all`, the partial last ones too. */
  takeBatches(all: boolean): Pending[] {
    const out: Pending[] = [];
    for (const side of ['left', 'right'] as const) {
      const queue = this.queued[side];
      while (queue.length >= CHECK_BATCH || (all && queue.length > 0))
        out.push({ side, refs: queue.splice(0, CHECK_BATCH) });
    }
    return out;
  }

  /** Reads a batch of leftovers on the other side and settles each: matched, or a candidate gap. */
  async check(batch: Pending): Promise<void> {
    if (this.failed) return;
    const other = batch.side === 'left' ? this.right : this.left;
    let found;
    try {
      found = await other.reader.getMany(batch.refs.map((r) => r.id));
    } catch (error) {
      this.fail(`point reads on ${other.reader.label} failed: ${(error as Error).message}`);
      return;
    }
    for (const ref of batch.refs) {
      const raw = found.get(ref.id);
      const partner = raw ? toRef(raw) : undefined;
      if (!partner || !(other.partner ?? other.accept)(partner)) {
        this.candidates[batch.side].push(ref);
        continue;
      }
      this.settle(batch.side, ref, partner);
    }
  }

  private settle(side: 'left' | 'right', ref: RecordRef, partner: RecordRef): void {
    const [left, right] = side === 'left' ? [ref, partner] : [partner, ref];
    const otherMap = side === 'left' ? this.rightMap : this.leftMap;
    const otherAwait = side === 'left' ? this.awaitRight : this.awaitLeft;
    if (!this.inWindow(partner.acceptedAt)) {
      this.match(left, right);
      return;
    }
    if (otherMap.delete(partner.id)) {
      this.match(left, right);
      return;
    }
    if (partner.acceptedAt >= this.frontier) {
      // Not read yet: when the window reaches it, it is counted but not matched again.
      otherAwait.add(partner.id);
      this.match(left, right);
      return;
    }
    // The partner was read and is itself a leftover: the left side owns the pair.
    if (side === 'left') this.match(left, right);
  }

  /**
   * Reads again, once, the candidates younger than `graceMs` (still in flight to the next stage, or still being
   * replicated), after waiting until they are that old. Young counts from inFlightSince: a held record delivered
   * just now keeps its old acceptedAt but is as much in flight as one accepted just now.
   */
  async settleYoung(graceMs: number, now = Date.now()): Promise<void> {
    if (this.failed) return;
    for (const side of ['left', 'right'] as const) {
      const young = this.candidates[side].filter((r) => inFlightSince(r) > now - graceMs);
      if (!young.length) continue;
      const wait = Math.max(...young.map(inFlightSince)) + graceMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const old = this.candidates[side].filter((r) => inFlightSince(r) <= now - graceMs);
      this.candidates[side] = old;
      for (let i = 0; i < young.length; i += CHECK_BATCH) {
        await this.check({ side, refs: young.slice(i, i + CHECK_BATCH) });
      }
    }
  }

  get hasYoungCandidates(): boolean {
    return this.candidates.left.length + this.candidates.right.length > 0;
  }

  result(): ComparisonResult {
    return {
      leftCount: this.leftCount,
      rightCount: this.rightCount,
      matched: this.matched,
      missing: this.failed ? [] : this.candidates.left.map((r) => r.id).sort(),
      held: this.failed
        ? []
        : this.candidates.left
            .filter((r) => r.forwarded !== true)
            .map((r) => r.id)
            .sort(),
      extra: this.failed ? [] : this.candidates.right.map((r) => r.id).sort(),
      statusDiffers: this.failed ? [] : [...this.statusDiffs].sort((a, b) => a.id.localeCompare(b.id)),
      failure: this.failure,
    };
  }
}
