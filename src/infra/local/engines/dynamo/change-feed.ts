/**
 * The change feed of one DynamoDB engine: every acknowledged local write, numbered contiguously, paged to the
 * replication link, trimmed once every consumer has applied it, and saved on a clean close so a restart continues the
 * same sequence (a new epoch tells consumers the feed started over).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ChangeRecord, ChangesPage } from './wire.js';

/** Pages stay around this size (always at least one change), so one answer never grows without bound. */
const MAX_PAGE_BYTES = 16 * 1024 * 1024;

function approximateSize(change: Omit<ChangeRecord, 'seq'>): number {
  return 200 + (change.image ? JSON.stringify(change.image).length : JSON.stringify(change.key).length);
}

/** The in-memory change feed of one engine: contiguous sequence numbers, trimmed from the front. */
export class ChangeFeed {
  private entries: ChangeRecord[];
  /** Approximate JSON size of each entry, to keep pages bounded. */
  private sizes: number[];
  private readonly waiters = new Set<() => void>();
  private wakeScheduled = false;

  constructor(
    readonly region: string,
    private readonly maxEntries: number,
    readonly epoch: string,
    public lastSeq: number,
    entries: ChangeRecord[],
  ) {
    this.entries = entries;
    this.sizes = entries.map(approximateSize);
  }

  /** Lowest seq still held (lastSeq + 1 when empty). */
  get firstSeq(): number {
    return this.entries.length > 0 ? this.entries[0].seq : this.lastSeq + 1;
  }

  get size(): number {
    return this.entries.length;
  }

  append(change: Omit<ChangeRecord, 'seq'>): void {
    this.lastSeq += 1;
    const entry = { seq: this.lastSeq, ...change };
    this.entries.push(entry);
    this.sizes.push(approximateSize(entry));
    // Drop the oldest in slices, not one by one: consumers see the gap through firstSeq.
    if (this.entries.length > this.maxEntries + Math.ceil(this.maxEntries / 10)) {
      this.entries = this.entries.slice(this.entries.length - this.maxEntries);
      this.sizes = this.sizes.slice(this.sizes.length - this.maxEntries);
    }
    // Wake long-polling readers once per turn, so the records of one request travel together.
    if (!this.wakeScheduled && this.waiters.size > 0) {
      this.wakeScheduled = true;
      setImmediate(() => {
        this.wakeScheduled = false;
        this.wakeAll();
      });
    }
  }

  /** Changes with seq > after, oldest first: at most `limit`, and about `maxBytes` (always at least one). */
  page(after: number, limit: number, maxBytes = MAX_PAGE_BYTES): ChangesPage {
    const firstSeq = this.firstSeq;
    const start = Math.max(0, after + 1 - firstSeq);
    let end = start;
    let bytes = 0;
    while (end < this.entries.length && end - start < limit && (end === start || bytes + this.sizes[end] <= maxBytes)) {
      bytes += this.sizes[end];
      end += 1;
    }
    return {
      region: this.region,
      epoch: this.epoch,
      firstSeq,
      lastSeq: this.lastSeq,
      changes: this.entries.slice(start, end),
    };
  }

  /** Resolves once there is a change after `after`, or after `waitMs`, or when the engine closes. */
  waitForChanges(after: number, waitMs: number): Promise<void> {
    if (this.lastSeq > after || waitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), waitMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Drops every change with seq <= upTo; returns how many. */
  trim(upTo: number): number {
    const count = Math.max(0, Math.min(this.entries.length, upTo + 1 - this.firstSeq));
    if (count > 0) {
      this.entries = this.entries.slice(count);
      this.sizes = this.sizes.slice(count);
    }
    return count;
  }

  snapshot(): ChangeRecord[] {
    return this.entries;
  }
}

/** What a clean close saves: the feed, and the last-writer-wins clock that goes with it. */
export interface PersistedFeed {
  readonly epoch: string;
  readonly lastSeq: number;
  readonly feed: ChangeRecord[];
  /** [item id, ts, origin] per item (see LastWriteClock). */
  readonly lastWrites: [string, number, string][];
}

interface PersistedState extends PersistedFeed {
  readonly version: 1;
  readonly region: string;
}

/**
 * The state a clean close saved for this region, if any; the file is removed at once, so a crash from here on
 * cannot resurrect a stale sequence (the next start then gets a new epoch).
 */
export function takeSavedFeed(statePath: string, region: string): PersistedFeed | undefined {
  if (!existsSync(statePath)) return undefined;
  let restored: PersistedFeed | undefined;
  try {
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as PersistedState;
    if (saved.version === 1 && saved.region === region) restored = saved;
  } catch (error) {
    console.error(`[dynamo-engine ${region}] ignoring unreadable ${statePath}: ${String(error)}`);
  }
  rmSync(statePath, { force: true });
  return restored;
}

/** A feed that continues the saved one, or a fresh one with a new epoch. */
export function restoreFeed(region: string, maxEntries: number, saved: PersistedFeed | undefined): ChangeFeed {
  return saved
    ? new ChangeFeed(region, maxEntries, saved.epoch, saved.lastSeq, saved.feed)
    : new ChangeFeed(region, maxEntries, randomUUID(), 0, []);
}

/** Saves the feed for the next start; a failure is logged, not thrown (the next start then begins a new epoch). */
export function saveFeed(statePath: string, feed: ChangeFeed, lastWrites: [string, number, string][]): void {
  const state: PersistedState = {
    version: 1,
    region: feed.region,
    epoch: feed.epoch,
    lastSeq: feed.lastSeq,
    feed: feed.snapshot(),
    lastWrites,
  };
  try {
    writeFileSync(statePath, JSON.stringify(state));
  } catch (error) {
    console.error(`[dynamo-engine ${feed.region}] could not save the change feed: ${String(error)}`);
  }
}
