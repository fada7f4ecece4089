/**
 * Trade-matching state in PostgreSQL (docs/domain.md#matching): accepting a trade side, pairing it with exactly one
 * counterpart, and recording settlement results per allocation.
 *
 * Every change happens in one transaction. Trades are serialized per match key with a transaction-scoped advisory
 * lock: two consumers inserting the two sides of a deal at the same instant would, under plain READ COMMITTED,
 * each miss the other's uncommitted row and both stay UNMATCHED. With the lock, the second waits for the first to
 * commit and then sees it. Counterparts are also locked FOR UPDATE, so nothing else changes them mid-match.
 * Every operation is idempotent: redelivering the same record changes nothing and returns the current state, so a
 * caller that crashed after commit re-emits it.
 */
import type pg from 'pg';
import { countByStatus } from '../core-db/counts.js';
import { decimalsEqual } from '../../domain/decimal.js';
import { matchKey, settlementId, tradeRecordId } from '../../domain/ids.js';
import type {
  AllocationState,
  SettlementResult,
  SettlementStatus,
  Trade,
  TradeSideState,
  TradeStatus,
} from '../../domain/records.js';

export interface TradeMatchingStoreOptions {
  /** Largest price difference still treated as equal, as a decimal string. Default "0": exact. */
  readonly priceTolerance?: string;
}

export interface AcceptTradeResult {
  readonly outcome: 'new' | 'duplicate' | 'conflict';
  /**
   * The states to emit downstream: the trade first, then its counterpart when it has one. On `duplicate`, their
   * current states (a redelivery re-emits); on `conflict`, empty.
   */
  readonly sides: TradeSideState[];
  readonly reason?: string;
}

export interface SettlementResultOutcome {
  readonly outcome: 'applied' | 'duplicate' | 'conflict' | 'unknown-trade' | 'unknown-allocation';
  /** The side's current state: present when its status changed, and on `duplicate` (so a redelivery re-emits). */
  readonly side?: TradeSideState;
  /** True when this result moved the side's status (MATCHED → SETTLED). */
  readonly sideChanged?: boolean;
  readonly reason?: string;
}

/** A trade side's row as SIDE_COLUMNS reads it: the trade's own fields come from its columns, exactly as sent. */
interface SideRow {
  id: string;
  sender_id: string;
  im_id: string;
  broker_id: string;
  trade_id: string;
  side: Trade['side'];
  security: string;
  quantity: string;
  price: string;
  trade_date: string;
  settlement_date: string;
  delivery_instructions: string;
  status: TradeStatus;
  counterpart_id: string | null;
  reason: string | null;
  received_at: Date;
  updated_at: Date;
}

interface AllocationRow {
  trade_side_id: string;
  allocation_id: number;
  quantity: string | number;
  account: string;
  settlement_id: string;
  settlement_status: SettlementStatus;
  settlement_counterpart_id: string | null;
  settlement_reason: string | null;
}

/**
 * The columns a side's state is built from. The trade's fields are read back from their own columns (numeric keeps
 * the price's digits as sent; dates as written): the row keeps no second copy of the trade, which would be most of
 * its size. The older `payload` column is left empty (see trade-schema.ts).
 */
const SIDE_COLUMNS = `id, sender_id, im_id, broker_id, trade_id, side, security, quantity::text AS quantity,
  price::text AS price, to_char(trade_date, 'YYYY-MM-DD') AS trade_date,
  to_char(settlement_date, 'YYYY-MM-DD') AS settlement_date, delivery_instructions, status, counterpart_id, reason,
  received_at, updated_at`;
const ALLOCATION_COLUMNS = `trade_side_id, allocation_id, quantity, account, settlement_id, settlement_status,
  settlement_counterpart_id, settlement_reason`;

/** The trade fields in a fixed order, nothing else: what is stored and compared for duplicates. */
function canonicalTrade(trade: Trade): Trade {
  return {
    senderId: trade.senderId,
    imId: trade.imId,
    brokerId: trade.brokerId,
    tradeId: trade.tradeId,
    side: trade.side,
    security: trade.security,
    quantity: trade.quantity,
    price: trade.price,
    tradeDate: trade.tradeDate,
    settlementDate: trade.settlementDate,
    deliveryInstructions: trade.deliveryInstructions,
    allocations: trade.allocations.map((a) => ({
      allocationId: a.allocationId,
      quantity: a.quantity,
      account: a.account,
    })),
  };
}

/** Same content, whatever the order the allocations were listed in (they are stored and read by id). */
function sameTrade(a: Trade, b: Trade): boolean {
  const comparable = (trade: Trade) => {
    const fields = canonicalTrade(trade);
    return JSON.stringify({
      ...fields,
      allocations: [...fields.allocations].sort((x, y) => x.allocationId - y.allocationId),
    });
  };
  return comparable(a) === comparable(b);
}

/** The trade's fields of a row, as they were sent. */
function tradeTerms(row: SideRow): Omit<Trade, 'allocations'> {
  return {
    senderId: row.sender_id,
    imId: row.im_id,
    brokerId: row.broker_id,
    tradeId: row.trade_id,
    side: row.side,
    security: row.security,
    quantity: Number(row.quantity),
    price: row.price,
    tradeDate: row.trade_date,
    settlementDate: row.settlement_date,
    deliveryInstructions: row.delivery_instructions,
  };
}

function toAllocationState(row: AllocationRow): AllocationState {
  return {
    allocationId: row.allocation_id,
    quantity: Number(row.quantity),
    account: row.account,
    settlementId: row.settlement_id,
    settlementStatus: row.settlement_status,
    ...(row.settlement_counterpart_id ? { settlementCounterpartId: row.settlement_counterpart_id } : {}),
    ...(row.settlement_reason ? { settlementReason: row.settlement_reason } : {}),
  };
}

function toState(row: SideRow, allocations: AllocationState[]): TradeSideState {
  return {
    ...tradeTerms(row),
    id: row.id,
    status: row.status,
    ...(row.counterpart_id ? { counterpartId: row.counterpart_id } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
    allocations: [...allocations].sort((a, b) => a.allocationId - b.allocationId),
    receivedAt: row.received_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function quote(value: string | number): string {
  return typeof value === 'string' ? `"${value}"` : String(value);
}

type MatchedTerms = Pick<Trade, 'senderId' | 'security' | 'quantity' | 'price'>;

/** Why two sides of a deal do not match, naming each differing field; undefined when they match. */
export function tradeDifferences(a: MatchedTerms, b: MatchedTerms, priceTolerance = '0'): string | undefined {
  const differences: string[] = [];
  const differ = (field: string, x: string | number, y: string | number) =>
    differences.push(`${field} differs: ${a.senderId} sent ${quote(x)}, ${b.senderId} sent ${quote(y)}`);
  if (a.security !== b.security) differ('security', a.security, b.security);
  if (a.quantity !== b.quantity) differ('quantity', a.quantity, b.quantity);
  if (!decimalsEqual(a.price, b.price, priceTolerance)) {
    differ(`price${priceTolerance === '0' ? '' : ` (tolerance ${priceTolerance})`}`, a.price, b.price);
  }
  return differences.length ? differences.join('; ') : undefined;
}

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export class TradeMatchingStore {
  private readonly priceTolerance: string;

  constructor(
    private readonly pool: pg.Pool,
    options: TradeMatchingStoreOptions = {},
  ) {
    this.priceTolerance = options.priceTolerance ?? '0';
    // Fail at construction, not at the first match.
    decimalsEqual('0', '0', this.priceTolerance);
  }

  /** Stores a trade side and matches it against exactly one counterpart, in one transaction. */
  async acceptTrade(input: Trade, receivedAt: Date): Promise<AcceptTradeResult> {
    const trade = canonicalTrade(input);
    const id = tradeRecordId(trade);
    const key = matchKey(trade);
    return inTransaction(this.pool, async (client) => {
      // One statement takes the match key's lock (the side's INSERT reads from it, so it runs first) and inserts the
      // side and its allocations; no allocation rows means the id already existed.
      const { rowCount } = await client.query(
        `WITH side AS (
           INSERT INTO trade_sides (id, match_key, sender_id, im_id, broker_id, trade_id, side, security, quantity,
             price, trade_date, settlement_date, delivery_instructions, status, received_at, updated_at)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'UNMATCHED', $14, now()
           FROM (SELECT pg_advisory_xact_lock(hashtextextended($2, 0))) AS match_lock
           ON CONFLICT (id) DO NOTHING
           RETURNING id)
         INSERT INTO trade_allocations (trade_side_id, allocation_id, quantity, account, settlement_id,
           settlement_status, updated_at)
         SELECT side.id, a.allocation_id, a.quantity, a.account, side.id || '-' || a.allocation_id, 'UNMATCHED', now()
         FROM side, unnest($15::int[], $16::bigint[], $17::text[]) AS a (allocation_id, quantity, account)`,
        [
          id,
          key,
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
          receivedAt,
          trade.allocations.map((a) => a.allocationId),
          trade.allocations.map((a) => a.quantity),
          trade.allocations.map((a) => a.account),
        ],
      );
      if (!rowCount) return this.redelivered(client, id, trade);

      const { rows: candidates } = await client.query<SideRow>(
        `SELECT ${SIDE_COLUMNS} FROM trade_sides
         WHERE match_key = $1 AND status = 'UNMATCHED' AND sender_id <> $2 AND id <> $3
         ORDER BY received_at, id
         LIMIT 1
         FOR UPDATE`,
        [key, trade.senderId, id],
      );
      const counterpart = candidates[0];
      if (!counterpart) {
        const [state] = await this.states(client, [id]);
        return { outcome: 'new', sides: [state] };
      }
      const reason = tradeDifferences(trade, tradeTerms(counterpart), this.priceTolerance);
      const status: TradeStatus = reason ? 'MISMATCHED' : 'MATCHED';
      await client.query(
        `UPDATE trade_sides
         SET status = $3, reason = $4, updated_at = now(),
             counterpart_id = CASE WHEN id = $1 THEN $2 ELSE $1 END
         WHERE id IN ($1, $2)`,
        [id, counterpart.id, status, reason ?? null],
      );
      return { outcome: 'new', sides: await this.states(client, [id, counterpart.id]) };
    });
  }

  /** The id already exists: the same content is a duplicate (current states), different content a conflict. */
  private async redelivered(client: pg.ClientBase, id: string, trade: Trade): Promise<AcceptTradeResult> {
    const [existing] = await this.states(client, [id]);
    if (!existing) throw new Error(`trade side ${id} vanished while being redelivered`);
    if (!sameTrade(existing, trade)) {
      return {
        outcome: 'conflict',
        sides: [],
        reason: `trade ${id} was already received with different content; the first version is kept`,
      };
    }
    const counterpart = existing.counterpartId ? await this.states(client, [existing.counterpartId]) : [];
    return { outcome: 'duplicate', sides: [existing, ...counterpart] };
  }

  /** Records one allocation's settlement result; the side becomes SETTLED when every allocation is SETTLED. */
  async applySettlementResult(result: SettlementResult): Promise<SettlementResultOutcome> {
    return inTransaction(this.pool, async (client) => {
      // Lock the side first: results for different allocations of one side are serialized, so the last one
      // always sees the others and settles the side.
      const { rows: sides } = await client.query<{ status: TradeStatus }>(
        'SELECT status FROM trade_sides WHERE id = $1 FOR UPDATE',
        [result.tradeRecordId],
      );
      const side = sides[0];
      if (!side) {
        return {
          outcome: 'unknown-trade',
          reason: `no trade ${result.tradeRecordId} for settlement ${result.settlementId}`,
        };
      }
      // A separate statement, so its snapshot is taken after the row lock: it sees every result committed before.
      const { rows: allocations } = await client.query<AllocationRow>(
        `SELECT ${ALLOCATION_COLUMNS} FROM trade_allocations WHERE trade_side_id = $1`,
        [result.tradeRecordId],
      );
      const allocation = allocations.find((a) => a.allocation_id === result.allocationId);
      if (!allocation) {
        return {
          outcome: 'unknown-allocation',
          reason: `trade ${result.tradeRecordId} has no allocation ${result.allocationId}`,
        };
      }
      if (allocation.settlement_status !== 'UNMATCHED') {
        const [state] = await this.states(client, [result.tradeRecordId]);
        if (allocation.settlement_status === result.status)
          return { outcome: 'duplicate', side: state, sideChanged: false };
        return {
          outcome: 'conflict',
          reason: `settlement ${allocation.settlement_id} is already ${allocation.settlement_status}; ${result.status} ignored`,
        };
      }
      await client.query(
        `UPDATE trade_allocations
         SET settlement_status = $3, settlement_counterpart_id = $4, settlement_reason = $5, updated_at = now()
         WHERE trade_side_id = $1 AND allocation_id = $2`,
        [result.tradeRecordId, result.allocationId, result.status, result.counterpartId ?? null, result.reason ?? null],
      );
      const allSettled =
        result.status === 'SETTLED' &&
        allocations.every((a) => a.allocation_id === result.allocationId || a.settlement_status === 'SETTLED');
      if (!(allSettled && side.status === 'MATCHED')) return { outcome: 'applied', sideChanged: false };
      await client.query(`UPDATE trade_sides SET status = 'SETTLED', updated_at = now() WHERE id = $1`, [
        result.tradeRecordId,
      ]);
      const [state] = await this.states(client, [result.tradeRecordId]);
      return { outcome: 'applied', side: state, sideChanged: true };
    });
  }

  /** The current state of one trade side, or undefined. */
  async getTradeSide(id: string): Promise<TradeSideState | undefined> {
    const [state] = await this.states(this.pool, [id]);
    return state;
  }

  /** Trade sides per status (every status present, zero when none). */
  async counts(): Promise<Record<TradeStatus, number>> {
    return countByStatus(this.pool, 'SELECT status, count(*) AS n FROM trade_sides GROUP BY status', [
      'UNMATCHED',
      'MATCHED',
      'MISMATCHED',
      'SETTLED',
    ]);
  }

  /** Settlement statuses of every allocation (for tests and status). */
  async allocationCounts(): Promise<Record<SettlementStatus, number>> {
    return countByStatus(
      this.pool,
      'SELECT settlement_status AS status, count(*) AS n FROM trade_allocations GROUP BY settlement_status',
      ['UNMATCHED', 'SETTLED', 'MISMATCHED'],
    );
  }

  /** States of the given sides, in the order given (missing ids are skipped), in one round trip. */
  private async states(client: pg.ClientBase | pg.Pool, ids: string[]): Promise<TradeSideState[]> {
    const { rows } = await client.query<SideRow & { allocations: AllocationRow[] }>(
      `SELECT ${SIDE_COLUMNS},
         (SELECT coalesce(json_agg(json_build_object(
             'trade_side_id', a.trade_side_id, 'allocation_id', a.allocation_id, 'quantity', a.quantity,
             'account', a.account, 'settlement_id', a.settlement_id, 'settlement_status', a.settlement_status,
             'settlement_counterpart_id', a.settlement_counterpart_id, 'settlement_reason', a.settlement_reason)
             ORDER BY a.allocation_id), '[]')
          FROM trade_allocations a WHERE a.trade_side_id = s.id) AS allocations
       FROM trade_sides s WHERE s.id = ANY($1)`,
      [ids],
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.flatMap((id) => {
      const row = byId.get(id);
      return row ? [toState(row, row.allocations.map(toAllocationState))] : [];
    });
  }
}

/** The settlement id of each allocation of a trade side (what egress sends per allocation). */
export function settlementIdsOf(state: Pick<TradeSideState, 'id' | 'allocations'>): string[] {
  return state.allocations.map((a) => settlementId(state.id, a.allocationId));
}
