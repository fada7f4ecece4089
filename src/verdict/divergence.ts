/**
 * Cross-region divergence at the end of a run: each core database table on the writer against every replica, and each
 * safe store in one region against every other. Databases are compared as two key-ordered streams of (key, hash of
 * the row); safe stores, which have no order to scan in, by hashed buckets: each item's hash is summed into one of
 * 4,096 buckets per region, and only the buckets that differ are read again for the ids. Memory stays bounded by the
 * bucket count and a sample, whatever the row count.
 */
import { createHash } from 'node:crypto';
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { APPS, type AppName } from '../config/apps.js';
import type { Divergence } from './model.js';
import type { DatabaseCopy, QueryClient, VerdictSources } from './sources.js';
import { cursorRows } from './streams.js';

const SAMPLE = 10;

/** The tables of each core database that replicate, with their keys (migrations and heartbeats differ by design). */
const CORE_TABLES: Readonly<Record<AppName, readonly { table: string; key: string }[]>> = {
  trade: [
    { table: 'trade_sides', key: 'id' },
    { table: 'trade_allocations', key: "trade_side_id || '|' || allocation_id" },
  ],
  settlement: [{ table: 'settlements', key: 'id' }],
};

interface Tally {
  referenceRows: number;
  rows: number;
  onlyInReference: number;
  onlyInRegion: number;
  differing: number;
  sample: string[];
}

const newTally = (): Tally => ({
  referenceRows: 0,
  rows: 0,
  onlyInReference: 0,
  onlyInRegion: 0,
  differing: 0,
  sample: [],
});

const note = (tally: Tally, key: string) => tally.sample.length < SAMPLE && tally.sample.push(key);

/** Walks two key-ordered streams of [key, hash] side by side. */
export async function compareSorted(
  reference: AsyncIterator<{ k: string; h: string }>,
  other: AsyncIterator<{ k: string; h: string }>,
): Promise<Tally> {
  const tally = newTally();
  let a = await reference.next();
  let b = await other.next();
  while (!a.done || !b.done) {
    if (!b.done && (a.done || b.value.k < a.value.k)) {
      tally.rows++;
      tally.onlyInRegion++;
      note(tally, b.value.k);
      b = await other.next();
    } else if (!a.done && (b.done || a.value.k < b.value.k)) {
      tally.referenceRows++;
      tally.onlyInReference++;
      note(tally, a.value.k);
      a = await reference.next();
    } else if (!a.done && !b.done) {
      tally.referenceRows++;
      tally.rows++;
      if (a.value.h !== b.value.h) {
        tally.differing++;
        note(tally, a.value.k);
      }
      a = await reference.next();
      b = await other.next();
    }
  }
  return tally;
}

async function compareTable(
  database: string,
  table: { table: string; key: string },
  writer: DatabaseCopy,
  replica: DatabaseCopy,
): Promise<Divergence> {
  const name = `${database}.${table.table}`;
  const base = { kind: 'database' as const, name, reference: writer.region, region: replica.region };
  const unavailable = writer.unavailable ?? replica.unavailable;
  if (unavailable) return { ...base, error: unavailable };
  const clients: QueryClient[] = [];
  try {
    clients.push(await writer.connect(database), await replica.connect(database));
    const sql = `SELECT (${table.key}) COLLATE "C" AS k, md5(t::text) AS h FROM ${table.table} t ORDER BY 1`;
    const tally = await compareSorted(
      cursorRows<{ k: string; h: string }>(clients[0], sql)[Symbol.asyncIterator](),
      cursorRows<{ k: string; h: string }>(clients[1], sql)[Symbol.asyncIterator](),
    );
    return { ...base, ...tally };
  } catch (error) {
    return { ...base, error: (error as Error).message };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

/** Every replicated table of every core database, writer against each replica. */
export async function databaseDivergence(
  sources: VerdictSources,
  onProgress?: (message: string) => void,
): Promise<Divergence[]> {
  const out: Divergence[] = [];
  for (const app of APPS) {
    const { writer, replicas } = sources.copies(app);
    for (const replica of replicas) {
      for (const table of CORE_TABLES[app]) {
        onProgress?.(`comparing ${sources.databases[app]}.${table.table}: ${writer.region} → ${replica.region}`);
        out.push(await compareTable(sources.databases[app], table, writer, replica));
      }
    }
  }
  return out;
}

const BUCKETS = 4_096;

/** An item as canonical text: attributes in name order, so two copies of one item read the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function itemHash(item: Record<string, AttributeValue>): { id: string; bucket: number; hash: number } {
  const id = item.id?.S ?? canonical(item.id);
  const digest = createHash('sha1').update(canonical(item)).digest();
  return { id, bucket: createHash('sha1').update(id).digest().readUInt16BE(0) % BUCKETS, hash: digest.readUInt32BE(0) };
}

async function scan(
  client: DynamoDBClient,
  table: string,
  visit: (item: Record<string, AttributeValue>) => void,
): Promise<void> {
  const segments = 4;
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            ExclusiveStartKey: start,
            ConsistentRead: true,
          }),
        );
        for (const item of page.Items ?? []) visit(item);
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
}

interface Buckets {
  count: number;
  sums: Uint32Array;
  counts: Uint32Array;
}

async function bucketsOf(client: DynamoDBClient, table: string): Promise<Buckets> {
  const buckets: Buckets = { count: 0, sums: new Uint32Array(BUCKETS), counts: new Uint32Array(BUCKETS) };
  await scan(client, table, (item) => {
    const { bucket, hash } = itemHash(item);
    buckets.count++;
    buckets.sums[bucket] = (buckets.sums[bucket] + hash) >>> 0;
    buckets.counts[bucket]++;
  });
  return buckets;
}

/** The items of the given buckets only, id → hash (bounded by `limit`). */
async function itemsIn(
  client: DynamoDBClient,
  table: string,
  buckets: ReadonlySet<number>,
  limit: number,
): Promise<Map<string, number>> {
  const items = new Map<string, number>();
  await scan(client, table, (item) => {
    const { id, bucket, hash } = itemHash(item);
    if (buckets.has(bucket) && items.size < limit) items.set(id, hash);
  });
  return items;
}

async function compareStore(
  sources: NonNullable<VerdictSources['safeStores']>,
  table: string,
  reference: string,
  region: string,
): Promise<Divergence> {
  const base = { kind: 'safe-store' as const, name: table, reference, region };
  try {
    const [a, b] = await Promise.all([
      bucketsOf(sources.client(reference), table),
      bucketsOf(sources.client(region), table),
    ]);
    const differ = new Set<number>();
    for (let i = 0; i < BUCKETS; i++) if (a.sums[i] !== b.sums[i] || a.counts[i] !== b.counts[i]) differ.add(i);
    const result = { ...base, referenceRows: a.count, rows: b.count };
    if (!differ.size) return { ...result, onlyInReference: 0, onlyInRegion: 0, differing: 0 };
    // Read the differing buckets again for their ids: a bounded number of items, however large the table.
    const limit = 50_000;
    const [left, right] = await Promise.all([
      itemsIn(sources.client(reference), table, differ, limit),
      itemsIn(sources.client(region), table, differ, limit),
    ]);
    const tally = newTally();
    for (const [id, hash] of left) {
      if (!right.has(id)) {
        tally.onlyInReference++;
        note(tally, id);
      } else if (right.get(id) !== hash) {
        tally.differing++;
        note(tally, id);
      }
    }
    for (const id of right.keys()) {
      if (!left.has(id)) {
        tally.onlyInRegion++;
        note(tally, id);
      }
    }
    return {
      ...result,
      onlyInReference: tally.onlyInReference,
      onlyInRegion: tally.onlyInRegion,
      differing: tally.differing,
      sample: tally.sample,
    };
  } catch (error) {
    return { ...base, error: (error as Error).message };
  }
}

/** Every safe store (and the audit table): the first available region against each other one. */
export async function safeStoreDivergence(
  sources: VerdictSources,
  onProgress?: (message: string) => void,
): Promise<Divergence[]> {
  const stores = sources.safeStores;
  if (!stores || stores.regions.length < 2) return [];
  const reference = stores.regions.find((r) => !r.unavailable) ?? stores.regions[0];
  const out: Divergence[] = [];
  for (const table of stores.tables) {
    for (const other of stores.regions.filter((r) => r.region !== reference.region)) {
      const unavailable = reference.unavailable ?? other.unavailable;
      if (unavailable) {
        out.push({
          kind: 'safe-store',
          name: table,
          reference: reference.region,
          region: other.region,
          error: unavailable,
        });
        continue;
      }
      onProgress?.(`comparing safe store ${table}: ${reference.region} → ${other.region}`);
      out.push(await compareStore(stores, table, reference.region, other.region));
    }
  }
  return out;
}
