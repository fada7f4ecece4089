import type pg from 'pg';
import { tradeRecordId } from '../../src/domain/ids.js';
import type { SettlementResult, Trade, TradeSideState } from '../../src/domain/records.js';
import { MIGRATIONS, runMigrations } from '../../src/services/core-db/migrations.js';
import { TradeMatchingStore } from '../../src/services/trade-matching/core-store.js';
import { setupReplicatedDatabase } from '../../src/infra/local/postgres-replication.js';
import { indexOfUnmatchedLookup, startTestPostgres, type TestPostgres, unmatchedIndexes } from '../helpers/postgres.js';
import { eventually } from '../helpers/eventually.js';

let server: TestPostgres;
let pool: pg.Pool;
let otherPool: pg.Pool;
let store: TradeMatchingStore;
let otherStore: TradeMatchingStore;

beforeAll(async () => {
  server = await startTestPostgres();
  await server.createDatabase('tm');
  pool = server.pool('tm', 8);
  otherPool = server.pool('tm', 8);
  const client = await pool.connect();
  await runMigrations(client, 'trade');
  client.release();
  store = new TradeMatchingStore(pool);
  otherStore = new TradeMatchingStore(otherPool);
});

afterAll(async () => {
  await server?.stop();
});

beforeEach(async () => {
  await pool.query('TRUNCATE trade_sides CASCADE');
});

const T0 = Date.parse('2024-03-14T09:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

/** The IM's side of deal `tradeId`; `broker()` gives the broker's side of the same deal. */
function im(tradeId = 'T-1', overrides: Partial<Trade> = {}): Trade {
  return {
    senderId: 'IM1',
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
    allocations: [
      { allocationId: 1, quantity: 600, account: 'ACC-1' },
      { allocationId: 2, quantity: 400, account: 'ACC-2' },
    ],
    ...overrides,
  };
}
const broker = (tradeId = 'T-1', overrides: Partial<Trade> = {}) => im(tradeId, { senderId: 'BRK1', ...overrides });
const idOf = (trade: Trade) => tradeRecordId(trade);

function result(trade: Trade, allocationId: number, status: 'SETTLED' | 'MISMATCHED' = 'SETTLED'): SettlementResult {
  const id = idOf(trade);
  return { settlementId: `${id}-${allocationId}`, tradeRecordId: id, allocationId, status };
}

describe('migrations', () => {
  it('apply once even when several processes start at the same time', async () => {
    await server.createDatabase('migrate_race');
    const racers = [server.pool('migrate_race', 2), server.pool('migrate_race', 2), server.pool('migrate_race', 2)];
    const runs = await Promise.all(
      racers.flatMap((p) =>
        ['trade', 'trade'].map(async (app) => {
          const client = await p.connect();
          try {
            return await runMigrations(client, app as 'trade');
          } finally {
            client.release();
          }
        }),
      ),
    );
    expect(runs.flatMap((r) => r.applied)).toEqual(MIGRATIONS.trade.map((m) => m.version));
    const { rows } = await racers[0].query('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(MIGRATIONS.trade.map((m) => ({ version: m.version, name: m.name })));
  });

  it('use natural keys only: no sequences or identity columns, a primary key on every table', async () => {
    const { rows: sequences } = await pool.query('SELECT sequencename FROM pg_sequences');
    expect(sequences).toEqual([]);
    const { rows: identities } = await pool.query(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND is_identity = 'YES'",
    );
    expect(identities).toEqual([]);
    const { rows: withoutKey } = await pool.query(`
      SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r'
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')`);
    expect(withoutKey).toEqual([]);
    const { rows: tables } = await pool.query(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    expect(tables.map((t) => t.tablename)).toEqual([
      'schema_migrations',
      'status_counts',
      'trade_allocations',
      'trade_sides',
    ]);
  });

  it('look up unmatched sides by a partial hash index, which stays small while sides that never match pile up', async () => {
    expect(await unmatchedIndexes(pool, 'trade_sides')).toEqual([
      "CREATE INDEX trade_sides_unmatched_hash_idx ON public.trade_sides USING hash (match_key) WHERE (status = 'UNMATCHED'::text)",
    ]);
    expect(await indexOfUnmatchedLookup(pool, 'trade_sides', 'match_key')).toBe('trade_sides_unmatched_hash_idx');

    // Keys rising with the trade id, a fifth left UNMATCHED for good, vacuum between rounds: what a long run does.
    // (The B-tree this replaced held ~220 bytes per live entry here, and more the longer it ran.)
    await server.createDatabase('tm_growth');
    const growth = server.pool('tm_growth', 2);
    const client = await growth.connect();
    await runMigrations(client, 'trade');
    client.release();
    for (let round = 0; round < 8; round++) {
      await growth.query(
        `INSERT INTO trade_sides (id, match_key, sender_id, im_id, broker_id, trade_id, side, security, quantity, price,
           trade_date, settlement_date, delivery_instructions, status, received_at, updated_at)
         SELECT 'S' || n, 'IM' || n % 3 || '|BRK' || n % 5 || '|T-' || lpad(n::text, 10, '0') || '|B|2026-12-07|2026-12-09',
           'IM1', 'IM1', 'BRK1', 'T-' || n, 'B', 'SEC', 100, 10, '2026-12-07', '2026-12-09', 'DI', 'UNMATCHED', now(), now()
         FROM generate_series($1::int, $1::int + 999) AS n`,
        [round * 1000],
      );
      await growth.query(
        "UPDATE trade_sides SET status = 'MATCHED' WHERE status = 'UNMATCHED' AND substr(id, 2)::int >= $1 AND substr(id, 2)::int % 5 <> 0",
        [round * 1000],
      );
      await growth.query('VACUUM trade_sides');
    }
    const { rows } = await growth.query<{ bytes: string; live: string }>(
      `SELECT pg_relation_size('trade_sides_unmatched_hash_idx') AS bytes,
         (SELECT count(*) FROM trade_sides WHERE status = 'UNMATCHED') AS live`,
    );
    expect(Number(rows[0].live)).toBe(1600);
    expect(Number(rows[0].bytes) / Number(rows[0].live)).toBeLessThan(100);
  });

  it('a second run applies nothing', async () => {
    const client = await pool.connect();
    try {
      expect(await runMigrations(client, 'trade')).toEqual({ applied: [] });
    } finally {
      client.release();
    }
  });
});

describe('migrations under logical replication', () => {
  it('run on writer and reader alike without breaking the subscription, and matched state replicates', async () => {
    const reader = await startTestPostgres();
    try {
      const database = 'tm_replicated';
      const pools: pg.Pool[] = [];
      for (const target of [server, reader]) {
        await target.createDatabase(database);
        const p = target.pool(database, 2);
        pools.push(p);
        const client = await p.connect();
        expect((await runMigrations(client, 'trade')).applied).toEqual(MIGRATIONS.trade.map((m) => m.version));
        client.release();
      }
      await setupReplicatedDatabase(
        { region: 'writer', port: server.port },
        [{ region: 'reader', port: reader.port }],
        database,
        server.password,
      );
      const writerStore = new TradeMatchingStore(pools[0]);
      await writerStore.acceptTrade(im(), at(0));
      await writerStore.acceptTrade(broker(), at(1));
      // A later start on the reader applies nothing and writes nothing that could collide with replicated rows.
      const client = await pools[1].connect();
      expect(await runMigrations(client, 'trade')).toEqual({ applied: [] });
      client.release();
      const readerStore = new TradeMatchingStore(pools[1]);
      const expected = await writerStore.getTradeSide('IM1-IM1-BRK1-T-1');
      let replicated = await readerStore.getTradeSide('IM1-IM1-BRK1-T-1');
      await eventually(
        async () => {
          replicated = await readerStore.getTradeSide('IM1-IM1-BRK1-T-1');
          return JSON.stringify(replicated) === JSON.stringify(expected);
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      ).catch(() => undefined); // the assertion shows the difference
      expect(replicated).toEqual(expected);
      expect(replicated?.status).toBe('MATCHED');
      // The reader holds both nodes' migration records; the subscription's workers report no errors.
      const { rows } = await pools[1].query('SELECT count(DISTINCT node)::int AS nodes FROM schema_migrations');
      expect(rows[0].nodes).toBe(2);
      const { rows: stats } = await pools[1].query(
        'SELECT apply_error_count + sync_error_count AS errors FROM pg_stat_subscription_stats',
      );
      expect(stats.map((s) => Number(s.errors))).toEqual([0]);
    } finally {
      await reader.stop();
    }
  });
});

describe('matching', () => {
  it('stores a lone side UNMATCHED, then matches the other side of the deal: both MATCHED', async () => {
    const first = await store.acceptTrade(im(), at(0));
    expect(first.outcome).toBe('new');
    expect(first.sides.map((s) => [s.id, s.status])).toEqual([['IM1-IM1-BRK1-T-1', 'UNMATCHED']]);
    expect(first.sides[0].allocations.map((a) => a.settlementStatus)).toEqual(['UNMATCHED', 'UNMATCHED']);

    const second = await store.acceptTrade(broker(), at(1));
    expect(second.outcome).toBe('new');
    expect(second.sides.map((s) => [s.id, s.status, s.counterpartId])).toEqual([
      ['BRK1-IM1-BRK1-T-1', 'MATCHED', 'IM1-IM1-BRK1-T-1'],
      ['IM1-IM1-BRK1-T-1', 'MATCHED', 'BRK1-IM1-BRK1-T-1'],
    ]);
    const state = second.sides[1];
    expect(state).toMatchObject({ ...im(), allocations: expect.any(Array), receivedAt: at(0).toISOString() });
    expect(state.allocations).toEqual([
      {
        allocationId: 1,
        quantity: 600,
        account: 'ACC-1',
        settlementId: 'IM1-IM1-BRK1-T-1-1',
        settlementStatus: 'UNMATCHED',
      },
      {
        allocationId: 2,
        quantity: 400,
        account: 'ACC-2',
        settlementId: 'IM1-IM1-BRK1-T-1-2',
        settlementStatus: 'UNMATCHED',
      },
    ]);
    expect(state.reason).toBeUndefined();
    expect(await store.getTradeSide('IM1-IM1-BRK1-T-1')).toEqual(state);
    expect(await store.counts()).toEqual({ UNMATCHED: 0, MATCHED: 2, MISMATCHED: 0, SETTLED: 0 });
  });

  it('matches whichever side arrives first (out of order: broker before IM)', async () => {
    expect((await store.acceptTrade(broker(), at(0))).sides[0].status).toBe('UNMATCHED');
    const second = await store.acceptTrade(im(), at(1));
    expect(second.sides.map((s) => s.status)).toEqual(['MATCHED', 'MATCHED']);
  });

  it.each([
    ['security', { security: 'MSFT' }, 'security differs: IM1 sent "AAPL", BRK1 sent "MSFT"'],
    [
      'quantity',
      { quantity: 900, allocations: [{ allocationId: 1, quantity: 900, account: 'ACC-1' }] },
      'quantity differs: IM1 sent 1000, BRK1 sent 900',
    ],
    ['price', { price: '41.21' }, 'price differs: IM1 sent "41.20", BRK1 sent "41.21"'],
  ])('a different %s makes both sides MISMATCHED with a reason naming it', async (_field, change, reason) => {
    await store.acceptTrade(im(), at(0));
    const outcome = await store.acceptTrade(broker('T-1', change as Partial<Trade>), at(1));
    expect(outcome.sides.map((s) => s.status)).toEqual(['MISMATCHED', 'MISMATCHED']);
    // The stored side's perspective comes first in the reason.
    expect(outcome.sides[0].reason).toBe(reason.replace(/IM1 sent (.*), BRK1 sent (.*)/, 'BRK1 sent $2, IM1 sent $1'));
    expect(outcome.sides[1].reason).toBe(outcome.sides[0].reason);
    expect(await store.counts()).toEqual({ UNMATCHED: 0, MATCHED: 0, MISMATCHED: 2, SETTLED: 0 });
  });

  it('names every differing field at once', async () => {
    await store.acceptTrade(im(), at(0));
    const outcome = await store.acceptTrade(broker('T-1', { security: 'IBM', price: '1.00' }), at(1));
    expect(outcome.sides[0].reason).toMatch(/^security differs: .*; price differs: /);
  });

  it('compares prices as exact decimals: "41.2" matches "41.20"', async () => {
    await store.acceptTrade(im(), at(0));
    expect((await store.acceptTrade(broker('T-1', { price: '41.2' }), at(1))).sides[0].status).toBe('MATCHED');
  });

  it('matches within a configured price tolerance, inclusive, and not beyond it', async () => {
    const tolerant = new TradeMatchingStore(pool, { priceTolerance: '0.05' });
    await tolerant.acceptTrade(im('T-1'), at(0));
    expect((await tolerant.acceptTrade(broker('T-1', { price: '41.25' }), at(1))).sides[0].status).toBe('MATCHED');
    await tolerant.acceptTrade(im('T-2'), at(2));
    const beyond = await tolerant.acceptTrade(broker('T-2', { price: '41.26' }), at(3));
    expect(beyond.sides[0].status).toBe('MISMATCHED');
    expect(beyond.sides[0].reason).toContain('price (tolerance 0.05) differs');
    expect(() => new TradeMatchingStore(pool, { priceTolerance: 'abc' })).toThrow();
  });

  it.each([
    ['settlementDate', { settlementDate: '2024-03-18' }],
    ['tradeDate', { tradeDate: '2024-03-13' }],
    ['side', { side: 'S' }],
    ['brokerId', { brokerId: 'BRK2', senderId: 'BRK2' }],
    ['imId', { imId: 'IM2' }],
  ])('leaves the two sides UNMATCHED when their %s differs (another match key)', async (_field, change) => {
    await store.acceptTrade(im(), at(0));
    const other = await store.acceptTrade(broker('T-1', change as Partial<Trade>), at(1));
    expect(other.sides.map((s) => s.status)).toEqual(['UNMATCHED']);
    expect(await store.counts()).toEqual({ UNMATCHED: 2, MATCHED: 0, MISMATCHED: 0, SETTLED: 0 });
  });

  it('treats the same trade id under another match key as a conflict, not a second side', async () => {
    await store.acceptTrade(broker(), at(0));
    const moved = await store.acceptTrade(broker('T-1', { settlementDate: '2024-03-18' }), at(1));
    expect(moved.outcome).toBe('conflict');
  });

  it('never matches a side with the same sender: a second IM side of the deal is a conflict, not a match', async () => {
    await store.acceptTrade(im(), at(0));
    const again = await store.acceptTrade(im('T-1', { price: '41.30' }), at(1));
    expect(again.outcome).toBe('conflict');
    expect(again.sides).toEqual([]);
    expect(again.reason).toBe(
      'trade IM1-IM1-BRK1-T-1 was already received with different content; the first version is kept',
    );
    expect((await store.getTradeSide('IM1-IM1-BRK1-T-1'))?.price).toBe('41.20');
    expect(await store.counts()).toEqual({ UNMATCHED: 1, MATCHED: 0, MISMATCHED: 0, SETTLED: 0 });
  });

  it('chooses exactly one counterpart when several wait: the oldest, then the lowest id; the rest stay UNMATCHED', async () => {
    // acceptTrade never leaves two UNMATCHED sides of different senders on one match key (the second would have
    // matched the first), so this state is planted directly: the rule still holds for it.
    const waiting = [
      { trade: im('T-1', { senderId: 'ZZZ' }), receivedAt: at(5) },
      { trade: im('T-1', { senderId: 'YYY' }), receivedAt: at(1) },
      { trade: im('T-1', { senderId: 'XXX' }), receivedAt: at(1) },
    ];
    for (const { trade, receivedAt } of waiting) await plantUnmatched(trade, receivedAt);
    const outcome = await store.acceptTrade(broker(), at(9));
    expect(outcome.sides.map((s) => [s.id, s.status])).toEqual([
      ['BRK1-IM1-BRK1-T-1', 'MATCHED'],
      ['XXX-IM1-BRK1-T-1', 'MATCHED'],
    ]);
    expect((await store.getTradeSide('YYY-IM1-BRK1-T-1'))?.status).toBe('UNMATCHED');
    expect((await store.getTradeSide('ZZZ-IM1-BRK1-T-1'))?.status).toBe('UNMATCHED');
  });

  it('never matches an already MATCHED or MISMATCHED side again', async () => {
    await store.acceptTrade(im(), at(0));
    await store.acceptTrade(broker(), at(1));
    const late = await store.acceptTrade(im('T-1', { senderId: 'LATE' }), at(2));
    expect(late.sides.map((s) => s.status)).toEqual(['UNMATCHED']);
  });
});

/** Writes an UNMATCHED side straight into the table, bypassing matching. */
async function plantUnmatched(trade: Trade, receivedAt: Date): Promise<void> {
  const id = idOf(trade);
  await pool.query(
    `INSERT INTO trade_sides (id, match_key, sender_id, im_id, broker_id, trade_id, side, security, quantity, price,
       trade_date, settlement_date, delivery_instructions, payload, status, received_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'UNMATCHED', $15, now())`,
    [
      id,
      [trade.imId, trade.brokerId, trade.tradeId, trade.side, trade.tradeDate, trade.settlementDate].join('|'),
      trade.senderId,
      trade.imId,
      trade.brokerId,
      trade.tradeId,
      trade.side,
      trade.security,
      trade.quantity,
      trade.price,
      trade.tradeDate,
      trade.settlementDate,
      trade.deliveryInstructions,
      JSON.stringify(trade),
      receivedAt,
    ],
  );
}

describe('redelivery', () => {
  it('a duplicate of a matched side changes nothing and returns the current states of both sides', async () => {
    await store.acceptTrade(im(), at(0));
    const matched = await store.acceptTrade(broker(), at(1));
    // Same content, other key order, an unknown field dropped upstream, a later receive time.
    const { allocations, ...rest } = im();
    const reordered = { allocations, ...Object.fromEntries(Object.entries(rest).reverse()) } as Trade;
    const again = await store.acceptTrade(reordered, at(60));
    expect(again.outcome).toBe('duplicate');
    expect(again.sides).toEqual([matched.sides[1], matched.sides[0]]);
    const brokerAgain = await store.acceptTrade(broker(), at(61));
    expect(brokerAgain).toEqual({ outcome: 'duplicate', sides: matched.sides });
    expect(await store.counts()).toEqual({ UNMATCHED: 0, MATCHED: 2, MISMATCHED: 0, SETTLED: 0 });
  });

  it('a duplicate of a lone side returns it, still UNMATCHED', async () => {
    const first = await store.acceptTrade(im(), at(0));
    expect(await store.acceptTrade(im(), at(5))).toEqual({ outcome: 'duplicate', sides: first.sides });
  });

  it('the same side delivered twice at once is stored once', async () => {
    const outcomes = await Promise.all([store.acceptTrade(im(), at(0)), otherStore.acceptTrade(im(), at(0))]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['duplicate', 'new']);
    expect(await store.counts()).toEqual({ UNMATCHED: 1, MATCHED: 0, MISMATCHED: 0, SETTLED: 0 });
  });
});

describe('what a side keeps', () => {
  it('reads every field back exactly as sent from its own columns, and stores no second copy of the trade', async () => {
    const sent = im('T-EDGE', {
      quantity: 9_007_199_254_740_991,
      price: '999999999999.00000010',
      tradeDate: '2024-02-29',
      settlementDate: '2024-12-31',
      deliveryInstructions: 'DTC 0005 / "ref" ü',
      allocations: [
        { allocationId: 7, quantity: 9_007_199_254_740_000, account: 'ACC-7' },
        { allocationId: 2, quantity: 991, account: 'ACC-2' },
      ],
    });
    const { sides } = await store.acceptTrade(sent, at(0));
    const { allocations, ...terms } = sent;
    expect(sides[0]).toMatchObject(terms);
    expect(
      sides[0].allocations.map(({ allocationId, quantity, account }) => ({ allocationId, quantity, account })),
    ).toEqual([allocations[1], allocations[0]]);
    expect(await store.getTradeSide(idOf(sent))).toEqual(sides[0]);
    const { rows } = await pool.query('SELECT payload FROM trade_sides WHERE id = $1', [idOf(sent)]);
    expect(rows).toEqual([{ payload: null }]);
    // The same trade with its allocations listed in another order is the same content.
    const again = await store.acceptTrade({ ...sent, allocations: [...allocations].reverse() }, at(5));
    expect(again).toEqual({ outcome: 'duplicate', sides });
  });

  it('still reads and matches a side an earlier version stored with its payload', async () => {
    const earlier = im();
    await plantUnmatched(earlier, at(0));
    await pool.query(
      `INSERT INTO trade_allocations (trade_side_id, allocation_id, quantity, account, settlement_id, settlement_status,
         updated_at)
       SELECT $1, a.allocation_id, a.quantity, a.account, $1 || '-' || a.allocation_id, 'UNMATCHED', now()
       FROM unnest($2::int[], $3::bigint[], $4::text[]) AS a (allocation_id, quantity, account)`,
      [
        idOf(earlier),
        earlier.allocations.map((a) => a.allocationId),
        earlier.allocations.map((a) => a.quantity),
        earlier.allocations.map((a) => a.account),
      ],
    );
    const { sides } = await store.acceptTrade(broker(), at(1));
    expect(sides.map((s) => [s.senderId, s.status])).toEqual([
      ['BRK1', 'MATCHED'],
      ['IM1', 'MATCHED'],
    ]);
    expect(await store.acceptTrade(im(), at(2))).toMatchObject({ outcome: 'duplicate' });
  });
});

describe('settlement results', () => {
  async function matchedDeal(tradeId = 'T-1', allocations = im().allocations): Promise<Trade> {
    await store.acceptTrade(im(tradeId, { allocations }), at(0));
    await store.acceptTrade(broker(tradeId, { allocations }), at(1));
    return im(tradeId, { allocations });
  }

  it('settles allocations one by one; the side becomes SETTLED with the last one', async () => {
    const trade = await matchedDeal();
    const first = await store.applySettlementResult({ ...result(trade, 1), counterpartId: 'BRK1-IM1-BRK1-T-1-1' });
    expect(first).toEqual({ outcome: 'applied', sideChanged: false });
    const partial = await store.getTradeSide(idOf(trade));
    expect(partial?.status).toBe('MATCHED');
    expect(partial?.allocations.map((a) => a.settlementStatus)).toEqual(['SETTLED', 'UNMATCHED']);
    expect(partial?.allocations[0].settlementCounterpartId).toBe('BRK1-IM1-BRK1-T-1-1');

    const last = await store.applySettlementResult(result(trade, 2));
    expect(last.outcome).toBe('applied');
    expect(last.sideChanged).toBe(true);
    expect(last.side?.status).toBe('SETTLED');
    expect(last.side?.allocations.map((a) => a.settlementStatus)).toEqual(['SETTLED', 'SETTLED']);
    expect(await store.counts()).toEqual({ UNMATCHED: 0, MATCHED: 1, MISMATCHED: 0, SETTLED: 1 });
    expect(await store.allocationCounts()).toEqual({ UNMATCHED: 2, SETTLED: 2, MISMATCHED: 0 });
  });

  it('a repeated result changes nothing and returns the current side (for re-emission)', async () => {
    const trade = await matchedDeal();
    await store.applySettlementResult(result(trade, 1));
    const partialAgain = await store.applySettlementResult(result(trade, 1));
    expect(partialAgain.outcome).toBe('duplicate');
    expect(partialAgain.side?.status).toBe('MATCHED');
    const settled = await store.applySettlementResult(result(trade, 2));
    const again = await store.applySettlementResult(result(trade, 2));
    expect(again).toEqual({ outcome: 'duplicate', side: settled.side, sideChanged: false });
    expect((await store.getTradeSide(idOf(trade)))?.updatedAt).toBe(settled.side?.updatedAt);
  });

  it('a MISMATCHED allocation keeps the side MATCHED, and a later contradicting result is refused', async () => {
    const trade = await matchedDeal();
    await store.applySettlementResult(result(trade, 1));
    const mismatched = await store.applySettlementResult({
      ...result(trade, 2, 'MISMATCHED'),
      reason: 'account differs',
    });
    expect(mismatched).toEqual({ outcome: 'applied', sideChanged: false });
    const state = await store.getTradeSide(idOf(trade));
    expect(state?.status).toBe('MATCHED');
    expect(state?.allocations[1]).toMatchObject({
      settlementStatus: 'MISMATCHED',
      settlementReason: 'account differs',
    });
    const contradicting = await store.applySettlementResult(result(trade, 2, 'SETTLED'));
    expect(contradicting.outcome).toBe('conflict');
    expect((await store.getTradeSide(idOf(trade)))?.status).toBe('MATCHED');
  });

  it('a single-allocation side settles with its one result', async () => {
    const trade = await matchedDeal('T-9', [{ allocationId: 1, quantity: 1000, account: 'A' }]);
    expect((await store.applySettlementResult(result(trade, 1))).side?.status).toBe('SETTLED');
  });

  it('reports unknown trades and unknown allocations without changing anything', async () => {
    const trade = await matchedDeal();
    expect((await store.applySettlementResult(result(im('T-404'), 1))).outcome).toBe('unknown-trade');
    expect((await store.applySettlementResult(result(trade, 3))).outcome).toBe('unknown-allocation');
    expect(await store.allocationCounts()).toEqual({ UNMATCHED: 4, SETTLED: 0, MISMATCHED: 0 });
  });

  it('never settles a side that is not MATCHED (MATCHED → SETTLED only)', async () => {
    await store.acceptTrade(im(), at(0));
    await store.applySettlementResult(result(im(), 1));
    const outcome = await store.applySettlementResult(result(im(), 2));
    expect(outcome).toEqual({ outcome: 'applied', sideChanged: false });
    expect((await store.getTradeSide(idOf(im())))?.status).toBe('UNMATCHED');
  });
});

describe('concurrency (two consumers on two pools)', () => {
  it('races the two sides of 250 deals: every deal matched exactly once, no side double-matched', async () => {
    const deals = Array.from({ length: 250 }, (_, i) => `R-${i}`);
    const outcomes = await Promise.all(
      deals.flatMap((tradeId, i) => [
        store.acceptTrade(im(tradeId), at(i)),
        otherStore.acceptTrade(broker(tradeId), at(i)),
      ]),
    );
    expect(await store.counts()).toEqual({ UNMATCHED: 0, MATCHED: 500, MISMATCHED: 0, SETTLED: 0 });
    // Each side is reported MATCHED by exactly one transaction (the one that paired it).
    const reportedMatched = outcomes.flatMap((o) => o.sides.filter((s) => s.status === 'MATCHED').map((s) => s.id));
    expect(reportedMatched).toHaveLength(500);
    expect(new Set(reportedMatched).size).toBe(500);
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM trade_sides a JOIN trade_sides b ON b.id = a.counterpart_id
       WHERE b.counterpart_id = a.id AND a.match_key = b.match_key AND a.sender_id <> b.sender_id`,
    );
    expect(rows[0].n).toBe(500);
  });

  it('races three eligible sides of 80 deals: exactly one pair per deal, the third stays UNMATCHED', async () => {
    const deals = Array.from({ length: 80 }, (_, i) => `TRI-${i}`);
    await Promise.all(
      deals.flatMap((tradeId, i) => [
        store.acceptTrade(im(tradeId), at(i)),
        otherStore.acceptTrade(broker(tradeId), at(i)),
        (i % 2 ? store : otherStore).acceptTrade(im(tradeId, { senderId: 'THIRD' }), at(i)),
      ]),
    );
    const { rows } = await pool.query<{ trade_id: string; statuses: string[] }>(
      `SELECT trade_id, array_agg(status ORDER BY status) AS statuses FROM trade_sides GROUP BY trade_id`,
    );
    expect(rows).toHaveLength(80);
    for (const row of rows) expect(row.statuses).toEqual(['MATCHED', 'MATCHED', 'UNMATCHED']);
    const { rows: pairs } = await pool.query(
      `SELECT count(*)::int AS n FROM trade_sides a JOIN trade_sides b ON b.id = a.counterpart_id
       WHERE a.status = 'MATCHED' AND b.counterpart_id = a.id`,
    );
    expect(pairs[0].n).toBe(160);
  });

  it('settles a side whose allocation results arrive at once on both consumers', async () => {
    const allocations = Array.from({ length: 5 }, (_, i) => ({ allocationId: i + 1, quantity: 200, account: `A${i}` }));
    const trades = ['S-1', 'S-2', 'S-3', 'S-4', 'S-5', 'S-6', 'S-7', 'S-8'].map((tradeId) =>
      im(tradeId, { allocations }),
    );
    for (const [i, trade] of trades.entries()) {
      await store.acceptTrade(trade, at(i));
      await store.acceptTrade({ ...trade, senderId: 'BRK1' }, at(i));
    }
    const outcomes = await Promise.all(
      trades.flatMap((trade) =>
        allocations.flatMap((a, i) => [
          (i % 2 ? store : otherStore).applySettlementResult(result(trade, a.allocationId)),
          (i % 2 ? otherStore : store).applySettlementResult(result(trade, a.allocationId)),
        ]),
      ),
    );
    const changed: TradeSideState[] = outcomes.flatMap((o) => (o.sideChanged && o.side ? [o.side] : []));
    expect(changed.map((s) => s.id).sort()).toEqual(trades.map(idOf).sort());
    expect(outcomes.filter((o) => o.outcome === 'applied')).toHaveLength(40);
    expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(40);
    expect((await store.counts()).SETTLED).toBe(8);
  });
});
