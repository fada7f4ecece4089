import type pg from 'pg';
import { pairKey, settlementId, tradeRecordId } from '../../src/domain/ids.js';
import type { SettlementInstruction, TradeSideState } from '../../src/domain/records.js';
import { MIGRATIONS, runMigrations } from '../../src/services/core-db/migrations.js';
import { createScenarioGenerator } from '../../src/services/generator/scenarios.js';
import { SettlementStore } from '../../src/services/settlement/core-store.js';
import { TradeMatchingStore } from '../../src/services/trade-matching/core-store.js';
import { indexOfUnmatchedLookup, startTestPostgres, type TestPostgres, unmatchedIndexes } from '../helpers/postgres.js';

let server: TestPostgres;
let pool: pg.Pool;
let store: SettlementStore;
let otherStore: SettlementStore;

beforeAll(async () => {
  server = await startTestPostgres();
  await server.createDatabase('st');
  pool = server.pool('st', 8);
  const client = await pool.connect();
  expect(await runMigrations(client, 'settlement')).toEqual({ applied: MIGRATIONS.settlement.map((m) => m.version) });
  client.release();
  store = new SettlementStore(pool);
  otherStore = new SettlementStore(server.pool('st', 8));
});

afterAll(async () => {
  await server?.stop();
});

beforeEach(async () => {
  await pool.query('TRUNCATE settlements');
});

const T0 = Date.parse('2024-03-15T07:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

/** The settlement instruction egress builds for allocation `allocationId` of `senderId`'s side of deal `tradeId`. */
function instruction(
  senderId = 'IM1',
  overrides: Partial<SettlementInstruction> = {},
  tradeId = 'T-1',
  allocationId = 1,
): SettlementInstruction {
  const trade = { senderId, imId: 'IM1', brokerId: 'BRK1', tradeId };
  const recordId = tradeRecordId(trade);
  return {
    id: settlementId(recordId, allocationId),
    tradeRecordId: recordId,
    ...trade,
    allocationId,
    security: 'AAPL',
    side: 'B',
    quantity: 600,
    price: '41.20',
    tradeDate: '2024-03-14',
    settlementDate: '2024-03-15',
    account: 'ACC-1',
    status: 'UNMATCHED',
    ...overrides,
  };
}

describe('migrations', () => {
  it('look up unmatched instructions by a partial hash index (a B-tree on rising pair keys kept growing)', async () => {
    expect(await unmatchedIndexes(pool, 'settlements')).toEqual([
      "CREATE INDEX settlements_unmatched_hash_idx ON public.settlements USING hash (pair_key) WHERE (status = 'UNMATCHED'::text)",
    ]);
    expect(await indexOfUnmatchedLookup(pool, 'settlements', 'pair_key')).toBe('settlements_unmatched_hash_idx');
  });

  it('create a settlements table keyed by id, with no sequences, and apply nothing the second time', async () => {
    const client = await pool.connect();
    try {
      expect(await runMigrations(client, 'settlement')).toEqual({ applied: [] });
    } finally {
      client.release();
    }
    const { rows: sequences } = await pool.query('SELECT sequencename FROM pg_sequences');
    expect(sequences).toEqual([]);
    const { rows: keys } = await pool.query(`
      SELECT c.relname, k.contype FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p'
      WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname`);
    expect(keys).toEqual([
      { relname: 'schema_migrations', contype: 'p' },
      { relname: 'settlements', contype: 'p' },
      { relname: 'status_counts', contype: 'p' },
    ]);
  });
});

describe('pairing', () => {
  it('stores a lone instruction UNMATCHED, then settles both when the other party instructs the same', async () => {
    const first = await store.acceptInstruction(instruction('IM1'), at(0));
    expect(first.outcome).toBe('new');
    expect(first.sides).toEqual([
      {
        ...(({ status: _s, ...rest }) => rest)(instruction('IM1')),
        status: 'UNMATCHED',
        receivedAt: at(0).toISOString(),
        updatedAt: expect.any(String),
      },
    ]);
    const second = await store.acceptInstruction(instruction('BRK1'), at(1));
    expect(second.sides.map((s) => [s.id, s.status, s.counterpartId])).toEqual([
      ['BRK1-IM1-BRK1-T-1-1', 'SETTLED', 'IM1-IM1-BRK1-T-1-1'],
      ['IM1-IM1-BRK1-T-1-1', 'SETTLED', 'BRK1-IM1-BRK1-T-1-1'],
    ]);
    expect(await store.getSettlement('IM1-IM1-BRK1-T-1-1')).toEqual(second.sides[1]);
    expect(await store.counts()).toEqual({ UNMATCHED: 0, SETTLED: 2, MISMATCHED: 0 });
  });

  it('pairs by pair key regardless of arrival order', async () => {
    await store.acceptInstruction(instruction('BRK1'), at(0));
    expect((await store.acceptInstruction(instruction('IM1'), at(1))).sides.map((s) => s.status)).toEqual([
      'SETTLED',
      'SETTLED',
    ]);
  });

  it.each([
    ['security', { security: 'MSFT' }],
    ['side', { side: 'S' as const }],
    ['quantity', { quantity: 599 }],
    ['price', { price: '41.21' }],
    ['tradeDate', { tradeDate: '2024-03-13' }],
    ['settlementDate', { settlementDate: '2024-03-18' }],
    ['account', { account: 'ACC-1-X' }],
  ])('a different %s makes both MISMATCHED with a reason naming it', async (field, change) => {
    await store.acceptInstruction(instruction('IM1'), at(0));
    const outcome = await store.acceptInstruction(instruction('BRK1', change), at(1));
    expect(outcome.sides.map((s) => s.status)).toEqual(['MISMATCHED', 'MISMATCHED']);
    expect(outcome.sides[0].reason).toMatch(new RegExp(`^${field} differs: BRK1 instructed .*, IM1 instructed `));
    expect(outcome.sides[1].reason).toBe(outcome.sides[0].reason);
  });

  it('compares prices exactly, with no tolerance: "41.2" equals "41.20", "41.200001" does not', async () => {
    await store.acceptInstruction(instruction('IM1'), at(0));
    expect((await store.acceptInstruction(instruction('BRK1', { price: '41.2' }), at(1))).sides[0].status).toBe(
      'SETTLED',
    );
    await store.acceptInstruction(instruction('IM1', {}, 'T-2'), at(2));
    const off = await store.acceptInstruction(instruction('BRK1', { price: '41.200001' }, 'T-2'), at(3));
    expect(off.sides[0].status).toBe('MISMATCHED');
  });

  it('names every differing field', async () => {
    await store.acceptInstruction(instruction('IM1'), at(0));
    const outcome = await store.acceptInstruction(instruction('BRK1', { account: 'Z', quantity: 1 }), at(1));
    expect(outcome.sides[0].reason).toBe(
      'quantity differs: BRK1 instructed 1, IM1 instructed 600; account differs: BRK1 instructed "Z", IM1 instructed "ACC-1"',
    );
  });

  it('keeps instructions of other allocations or deals apart (different pair keys)', async () => {
    await store.acceptInstruction(instruction('IM1', {}, 'T-1', 1), at(0));
    await store.acceptInstruction(instruction('BRK1', {}, 'T-1', 2), at(1));
    await store.acceptInstruction(instruction('BRK1', {}, 'T-2', 1), at(2));
    expect(await store.counts()).toEqual({ UNMATCHED: 3, SETTLED: 0, MISMATCHED: 0 });
    expect(pairKey(instruction('IM1'))).toBe('IM1|BRK1|T-1|1');
  });

  it('chooses exactly one counterpart when several wait: the oldest; the others stay UNMATCHED', async () => {
    // acceptInstruction never leaves two UNMATCHED instructions on one pair key, so this state is planted.
    for (const [sender, seconds] of [
      ['ZZZ', 1],
      ['AAA', 3],
    ] as const) {
      const planted = instruction(sender);
      const payload = { ...planted, status: undefined };
      await pool.query(
        `INSERT INTO settlements (id, pair_key, trade_record_id, sender_id, im_id, broker_id, trade_id, allocation_id,
           security, side, quantity, price, trade_date, settlement_date, account, payload, status, received_at, updated_at)
         VALUES ($1, $2, $3, $4, 'IM1', 'BRK1', 'T-1', 1, 'AAPL', 'B', 600, 41.20, '2024-03-14', '2024-03-15', 'ACC-1',
           $5, 'UNMATCHED', $6, now())`,
        [planted.id, pairKey(planted), planted.tradeRecordId, sender, JSON.stringify(payload), at(seconds)],
      );
    }
    const outcome = await store.acceptInstruction(instruction('BRK1'), at(9));
    expect(outcome.sides.map((s) => [s.id, s.status])).toEqual([
      ['BRK1-IM1-BRK1-T-1-1', 'SETTLED'],
      ['ZZZ-IM1-BRK1-T-1-1', 'SETTLED'],
    ]);
    expect((await store.getSettlement('AAA-IM1-BRK1-T-1-1'))?.status).toBe('UNMATCHED');
  });

  it('refuses an instruction whose ids are inconsistent (it must be validated first)', async () => {
    await expect(store.acceptInstruction(instruction('IM1', { id: 'other' }), at(0))).rejects.toThrow(
      /inconsistent ids/,
    );
  });
});

describe('redelivery', () => {
  it('a duplicate returns the current states of both and changes nothing', async () => {
    await store.acceptInstruction(instruction('IM1'), at(0));
    const settled = await store.acceptInstruction(instruction('BRK1'), at(1));
    const again = await store.acceptInstruction(instruction('IM1'), at(30));
    expect(again).toEqual({ outcome: 'duplicate', sides: [settled.sides[1], settled.sides[0]] });
    expect(await store.acceptInstruction(instruction('BRK1'), at(31))).toEqual({
      outcome: 'duplicate',
      sides: settled.sides,
    });
    expect(await store.counts()).toEqual({ UNMATCHED: 0, SETTLED: 2, MISMATCHED: 0 });
  });

  it('the same id with different content is a conflict and keeps the first version', async () => {
    await store.acceptInstruction(instruction('IM1'), at(0));
    const conflict = await store.acceptInstruction(instruction('IM1', { account: 'OTHER' }), at(1));
    expect(conflict.outcome).toBe('conflict');
    expect(conflict.sides).toEqual([]);
    expect(conflict.reason).toMatch(/already received with different content/);
    expect((await store.getSettlement('IM1-IM1-BRK1-T-1-1'))?.account).toBe('ACC-1');
  });
});

describe('what a settlement keeps', () => {
  it('reads every field back exactly as sent from its own columns, and stores no second copy', async () => {
    const sent = instruction('IM1', {
      quantity: 9_007_199_254_740_991,
      price: '0.00000001',
      tradeDate: '2024-02-29',
      settlementDate: '2025-01-02',
      account: 'ACC "7" ü',
    });
    const { sides } = await store.acceptInstruction(sent, at(0));
    expect(sides[0]).toMatchObject({ ...sent, status: 'UNMATCHED' });
    expect(await store.getSettlement(sent.id)).toEqual(sides[0]);
    const { rows } = await pool.query('SELECT payload FROM settlements WHERE id = $1', [sent.id]);
    expect(rows).toEqual([{ payload: null }]);
    expect(await store.acceptInstruction(sent, at(5))).toEqual({ outcome: 'duplicate', sides });
  });
});

describe('concurrency (two consumers on two pools)', () => {
  it('races both instructions of 250 allocations: each pair decided exactly once', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 250 }, (_, i) => [
        store.acceptInstruction(instruction('IM1', {}, `R-${i}`, (i % 5) + 1), at(i)),
        otherStore.acceptInstruction(
          instruction('BRK1', i % 10 === 0 ? { account: 'X' } : {}, `R-${i}`, (i % 5) + 1),
          at(i),
        ),
      ]).flat(),
    );
    expect(await store.counts()).toEqual({ UNMATCHED: 0, SETTLED: 450, MISMATCHED: 50 });
    const decided = outcomes.flatMap((o) => o.sides.filter((s) => s.status !== 'UNMATCHED').map((s) => s.id));
    expect(decided).toHaveLength(500);
    expect(new Set(decided).size).toBe(500);
  });

  it('races three instructions on one pair key: one pair, the third stays UNMATCHED', async () => {
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => [
        store.acceptInstruction(instruction('IM1', {}, `TRI-${i}`), at(i)),
        otherStore.acceptInstruction(instruction('BRK1', {}, `TRI-${i}`), at(i)),
        (i % 2 ? store : otherStore).acceptInstruction(instruction('THIRD', {}, `TRI-${i}`), at(i)),
      ]).flat(),
    );
    const { rows } = await pool.query<{ statuses: string[] }>(
      'SELECT array_agg(status ORDER BY status) AS statuses FROM settlements GROUP BY pair_key',
    );
    expect(rows).toHaveLength(60);
    for (const row of rows) expect(row.statuses).toEqual(['SETTLED', 'SETTLED', 'UNMATCHED']);
  });
});

describe('both cores together on generated scenarios', () => {
  it('reach exactly the final states the generator predicts', async () => {
    await server.createDatabase('tm_flow');
    const tmPool = server.pool('tm_flow', 4);
    const client = await tmPool.connect();
    await runMigrations(client, 'trade');
    client.release();
    const tm = new TradeMatchingStore(tmPool);
    const generator = createScenarioGenerator({
      seed: 7,
      runId: 'flow',
      tradeDate: '2024-03-14',
      settlementDifferenceShare: 0.3,
    });
    const pairs = Array.from({ length: 120 }, () => generator.next());

    // tm core: every side of every pair, the broker side of some deals first.
    const decided: TradeSideState[] = [];
    for (const [i, pair] of pairs.entries()) {
      const sides = i % 2 ? [...pair.sides].reverse() : pair.sides;
      for (const side of sides) decided.push(...(await tm.acceptTrade(side, at(i))).sides);
    }
    // tm egress → st core: one instruction per allocation of each MATCHED side.
    const instructions = decided
      .filter((side) => side.status === 'MATCHED')
      .flatMap((side) =>
        side.allocations.map((a): SettlementInstruction => ({
          id: a.settlementId,
          tradeRecordId: side.id,
          senderId: side.senderId,
          imId: side.imId,
          brokerId: side.brokerId,
          tradeId: side.tradeId,
          allocationId: a.allocationId,
          security: side.security,
          side: side.side,
          quantity: a.quantity,
          price: side.price,
          tradeDate: side.tradeDate,
          settlementDate: side.settlementDate,
          account: a.account,
          status: 'UNMATCHED',
        })),
      );
    const settlementResults = [];
    for (const [i, instr] of instructions.entries()) {
      for (const state of (await store.acceptInstruction(instr, at(i))).sides) {
        if (state.status !== 'UNMATCHED') settlementResults.push(state);
      }
    }
    // st egress → tm core: results back, twice (redelivery changes nothing).
    for (const state of [...settlementResults, ...settlementResults]) {
      await tm.applySettlementResult({
        settlementId: state.id,
        tradeRecordId: state.tradeRecordId,
        allocationId: state.allocationId,
        status: state.status as 'SETTLED' | 'MISMATCHED',
        counterpartId: state.counterpartId,
        reason: state.reason,
      });
    }

    for (const pair of pairs) {
      for (const [id, status] of Object.entries(pair.expected.tradeStatus)) {
        expect([pair.scenario, id, (await tm.getTradeSide(id))?.status]).toEqual([pair.scenario, id, status]);
      }
      for (const [id, status] of Object.entries(pair.expected.settlementStatus)) {
        expect([pair.scenario, id, (await store.getSettlement(id))?.status]).toEqual([pair.scenario, id, status]);
      }
    }
    const expectedSettlements = pairs.flatMap((p) => Object.keys(p.expected.settlementStatus)).length;
    const counts = await store.counts();
    expect(counts.UNMATCHED + counts.SETTLED + counts.MISMATCHED).toBe(expectedSettlements);
  });
});
