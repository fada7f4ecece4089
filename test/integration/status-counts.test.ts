import type pg from 'pg';
import type { SettlementResult, Trade } from '../../src/domain/records.js';
import { tradeRecordId } from '../../src/domain/ids.js';
import { applyCoreSchema } from '../../src/infra/local/core-schema.js';
import { switchoverWriter } from '../../src/infra/local/database-roles.js';
import { setupReplicatedDatabase } from '../../src/infra/local/postgres-replication.js';
import { MIGRATIONS, runMigrations } from '../../src/services/core-db/migrations.js';
import { readStatusCounts } from '../../src/services/core-db/status-counts.js';
import { TradeMatchingStore } from '../../src/services/trade-matching/core-store.js';
import { eventually } from '../helpers/eventually.js';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.js';

/**
 * The counts per status the core databases keep themselves (status_counts, a trigger): equal to a real COUNT on the
 * writer and on a logical-replication reader, on a deployment that already had rows when the migration came, under
 * concurrent writers, and after the writer moved.
 */
const STATUSES = ['UNMATCHED', 'MATCHED', 'MISMATCHED', 'SETTLED'] as const;
const DATABASE = 'tm_counts';

let east: TestPostgres;
let west: TestPostgres;
const servers = () => ({ east: { region: 'east', port: east.port }, west: { region: 'west', port: west.port } });

beforeAll(async () => {
  [east, west] = await Promise.all([startTestPostgres(), startTestPostgres()]);
}, 120_000);

afterAll(async () => {
  await Promise.all([east?.stop(), west?.stop()]);
});

/** The truth: a full count of the table, done here. */
async function groundTruth(pool: pg.Pool): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  const { rows } = await pool.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM trade_sides GROUP BY status',
  );
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

const kept = (pool: pg.Pool) => readStatusCounts(pool, 'trade_sides', STATUSES);

/** Kept counts equal the truth on `pool` (a reader: once it has applied what the writer committed). */
async function expectCountsTrue(pool: pg.Pool, writerTruth?: Record<string, number>): Promise<void> {
  let last: unknown;
  await eventually(
    async () => {
      const [truth, counts] = await Promise.all([groundTruth(pool), kept(pool)]);
      last = { truth, counts };
      return (
        JSON.stringify(truth) === JSON.stringify(counts) &&
        (!writerTruth || JSON.stringify(truth) === JSON.stringify(writerTruth))
      );
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'kept counts equal to a COUNT' },
  ).catch(() => undefined);
  const { truth, counts } = last as { truth: Record<string, number>; counts: Record<string, number> };
  expect(counts).toEqual(truth);
  if (writerTruth) expect(truth).toEqual(writerTruth);
}

function trade(tradeId: string, sender: 'IM1' | 'BRK1', overrides: Partial<Trade> = {}): Trade {
  return {
    senderId: sender,
    imId: 'IM1',
    brokerId: 'BRK1',
    tradeId,
    side: 'B',
    security: 'AAPL',
    quantity: 1000,
    price: '41.20',
    tradeDate: '2024-03-14',
    settlementDate: '2024-03-15',
    deliveryInstructions: 'DTC 0005',
    allocations: [{ allocationId: 1, quantity: 1000, account: 'ACC-1' }],
    ...overrides,
  };
}

const settled = (t: Trade): SettlementResult => ({
  settlementId: `${tradeRecordId(t)}-1`,
  tradeRecordId: tradeRecordId(t),
  allocationId: 1,
  status: 'SETTLED',
});

/** `n` deals through `store`, `concurrency` at a time: matched, mismatched (price), unmatched, some settled. */
async function deals(stores: readonly TradeMatchingStore[], prefix: string, n: number): Promise<void> {
  let next = 0;
  const worker = async (store: TradeMatchingStore) => {
    for (let i = next++; i < n; i = next++) {
      const id = `${prefix}-${i}`;
      const im = trade(id, 'IM1');
      await store.acceptTrade(im, new Date());
      if (i % 5 === 4) continue; // stays UNMATCHED
      await store.acceptTrade(trade(id, 'BRK1', i % 5 === 3 ? { price: '41.21' } : {}), new Date());
      if (i % 5 < 2) {
        await store.applySettlementResult(settled(im));
        await store.applySettlementResult(settled(trade(id, 'BRK1')));
      }
    }
  };
  await Promise.all(stores.map(worker));
}

it('are true on writer and reader: rows from before the migration, concurrent writers, a writer move', async () => {
  const { east: eastServer, west: westServer } = servers();
  const password = east.password;
  for (const server of [east, west]) await server.createDatabase(DATABASE);
  // An existing deployment without the counts (version 2), replicated east → west, with rows in it. It has the
  // later migration that stopped requiring a payload, since the store used here writes none.
  for (const server of [east, west]) {
    const client = await server.pool(DATABASE, 1).connect();
    await runMigrations(
      client,
      'trade',
      MIGRATIONS.trade.filter((m) => m.version !== 2),
    );
    client.release();
  }
  await setupReplicatedDatabase(eastServer, [westServer], DATABASE, password);
  const eastPool = east.pool(DATABASE, 8);
  const westPool = west.pool(DATABASE, 8);
  await deals([new TradeMatchingStore(eastPool)], 'before', 25);
  const before = await groundTruth(eastPool);
  expect(before).toEqual({ UNMATCHED: 5, MATCHED: 10, MISMATCHED: 10, SETTLED: 20 });

  await eventually(async () => JSON.stringify(await groundTruth(westPool)) === JSON.stringify(before), {
    timeoutMs: 20_000,
    intervalMs: 100,
    what: 'the reader has the rows from before the migration',
  });
  const errors = async () => {
    const { rows } = await westPool.query(
      'SELECT sum(apply_error_count + sync_error_count)::int AS errors FROM pg_stat_subscription_stats',
    );
    return Number(rows[0].errors ?? 0);
  };
  const errorsBefore = await errors();
  // What deploy does on every start: migrate every region, writer first, then refresh the readers' subscriptions.
  await applyCoreSchema('trade', DATABASE, eastServer, [westServer], password);
  expect(await kept(eastPool)).toEqual(before);
  await expectCountsTrue(westPool, before);

  // Many sessions at once on the writer (one slot each, mostly): no lost update, no deadlock.
  await deals(
    Array.from({ length: 8 }, () => new TradeMatchingStore(eastPool)),
    'load',
    200,
  );
  const afterLoad = await groundTruth(eastPool);
  expect(afterLoad.SETTLED).toBe(20 + 160);
  await expectCountsTrue(eastPool);
  // The reader's counts arrive by replication with the rows they count (its trigger does not fire on apply: if it
  // did, every replicated change would be counted twice).
  await expectCountsTrue(westPool, afterLoad);
  // Adding the counts broke nothing in the subscription (no apply or sync error: no key collision on the copy).
  expect(await errors()).toBe(errorsBefore);

  // The writer moves west (a rotation's switchover): west counts its own writes on from the replicated counts.
  await switchoverWriter({ database: DATABASE, from: eastServer, to: westServer, others: [], password });
  await deals([new TradeMatchingStore(west.pool(DATABASE, 4))], 'moved', 25);
  const moved = await groundTruth(westPool);
  expect(moved.UNMATCHED).toBe(afterLoad.UNMATCHED + 5);
  await expectCountsTrue(westPool);
  await expectCountsTrue(east.pool(DATABASE, 2), moved);

  // Rows removed, one by one or all at once, leave the counts true.
  await westPool.query("DELETE FROM trade_sides WHERE id LIKE '%-moved-1%'");
  await expectCountsTrue(westPool);
  await westPool.query('TRUNCATE trade_sides CASCADE');
  expect(await kept(westPool)).toEqual({ UNMATCHED: 0, MATCHED: 0, MISMATCHED: 0, SETTLED: 0 });
}, 180_000);

it('a second migration run changes nothing, and a fresh database counts from zero', async () => {
  await east.createDatabase('tm_fresh');
  const pool = east.pool('tm_fresh', 2);
  const client = await pool.connect();
  try {
    expect((await runMigrations(client, 'trade')).applied).toEqual(MIGRATIONS.trade.map((m) => m.version));
    expect(await kept(pool)).toEqual({ UNMATCHED: 0, MATCHED: 0, MISMATCHED: 0, SETTLED: 0 });
    await deals([new TradeMatchingStore(pool)], 'fresh', 10);
    expect(await runMigrations(client, 'trade')).toEqual({ applied: [] });
    expect(await kept(pool)).toEqual(await groundTruth(pool));
    // The read is one primary-key range read of status_counts, not a look at trade_sides.
    const { rows } = await pool.query(
      `EXPLAIN (FORMAT JSON) SELECT status, sum(n) AS n FROM status_counts WHERE table_name = 'trade_sides' GROUP BY status`,
    );
    const plan = JSON.stringify(rows[0]);
    expect(plan).not.toMatch(/"Relation Name":\s*"trade_sides"/);
  } finally {
    client.release();
  }
});
