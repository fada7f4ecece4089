/**
 * Ordered streams and the merge join over them: the verdict reads the ledger and each database in the same key order
 * (run, then sequence number) and walks them side by side, so its memory is a few batches, whatever the pair count.
 */
import type { QueryClient } from './sources.js';

/** Where a pair sits in every stream: its generator run, then its sequence number in that run. */
export interface PairKey {
  readonly run: string;
  readonly seq: number;
}

/** Code-unit order for runs (PostgreSQL's `COLLATE "C"`), numeric order for sequence numbers. */
export function compareKeys(a: PairKey, b: PairKey): number {
  if (a.run !== b.run) return a.run < b.run ? -1 : 1;
  return a.seq - b.seq;
}

/** `<run>-<seq>` at the end of a deal reference or of a trade record id; undefined for anything else (canaries). */
export function keyOfTradeId(id: string): PairKey | undefined {
  const match = /(?:^|-)([^-]+)-(\d+)$/.exec(id);
  return match ? { run: match[1], seq: Number(match[2]) } : undefined;
}

let cursors = 0;

/**
 * The rows of `sql`, fetched `batch` at a time through a server-side cursor (the next batch is on its way while
 * this one is used). Runs in its own read-only transaction on `client`, which must be used for nothing else meanwhile.
 */
export async function* cursorRows<T>(
  client: QueryClient,
  sql: string,
  params: readonly unknown[] = [],
  batch = 5_000,
): AsyncGenerator<T> {
  const name = `tsr_verdict_${++cursors}`;
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    // Sort in memory rather than on disk, and join by hashing: the cursors read whole tables in a new order. (The
    // planner, misled by the expressions the verdict sorts on, would otherwise take a nested loop.)
    await client.query(`SET LOCAL work_mem = '128MB'`);
    await client.query('SET LOCAL enable_nestloop = off');
    await client.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${sql}`, [...params]);
    let next = client.query(`FETCH ${batch} FROM ${name}`);
    for (;;) {
      const { rows } = await next;
      if (!rows.length) break;
      next = client.query(`FETCH ${batch} FROM ${name}`);
      yield* rows as T[];
    }
  } finally {
    await client.query('COMMIT').catch(() => undefined);
  }
}

/** Consecutive items with the same key, as one group. The input must be ordered by that key. */
export async function* groupByKey<T>(
  items: AsyncIterable<T>,
  keyOf: (item: T) => PairKey,
): AsyncGenerator<{ key: PairKey; items: T[] }> {
  let current: { key: PairKey; items: T[] } | undefined;
  for await (const item of items) {
    const key = keyOf(item);
    if (current && compareKeys(current.key, key) === 0) {
      current.items.push(item);
      continue;
    }
    if (current && compareKeys(current.key, key) > 0) {
      throw new Error(`stream out of order: ${key.run}-${key.seq} after ${current.key.run}-${current.key.seq}`);
    }
    if (current) yield current;
    current = { key, items: [item] };
  }
  if (current) yield current;
}

/**
 * One side of a merge join: `take(key)` returns the group with that key (or none), skipping every group before it.
 * Keys must be asked in increasing order.
 */
export class MergeCursor<T> {
  private head?: { key: PairKey; items: T[] };
  private done = false;
  /** Groups passed over without being asked for (rows the ledger does not list). */
  skipped = 0;

  constructor(private readonly groups: AsyncIterator<{ key: PairKey; items: T[] }>) {}

  static of<T>(groups: AsyncIterable<{ key: PairKey; items: T[] }>): MergeCursor<T> {
    return new MergeCursor(groups[Symbol.asyncIterator]());
  }

  static empty<T>(): MergeCursor<T> {
    return MergeCursor.of<T>((async function* () {})());
  }

  async take(key: PairKey): Promise<T[]> {
    for (;;) {
      if (!this.head && !this.done) {
        const next = await this.groups.next();
        if (next.done) this.done = true;
        else this.head = next.value;
      }
      if (!this.head) return [];
      const order = compareKeys(this.head.key, key);
      if (order > 0) return [];
      const head = this.head;
      this.head = undefined;
      if (order === 0) return head.items;
      this.skipped++;
    }
  }

  /** Stops the underlying stream early (closing its cursor). */
  async close(): Promise<void> {
    await this.groups.return?.();
  }
}
