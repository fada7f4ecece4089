/**
 * Settlement state in PostgreSQL (docs/domain.md#matching): the two instructions of one allocation (the IM's and the
 * broker's) are paired by pair key; when every settlement field agrees both are SETTLED, otherwise both MISMATCHED.
 *
 * Each instruction is handled in one transaction, serialized per pair key with a transaction-scoped advisory lock
 * (so the two instructions of a pair arriving at the same instant on two consumers still find each other), and
 * the counterpart is locked FOR UPDATE. Redelivery is idempotent and returns current states for re-emission.
 */
import type pg from 'pg';
import { countByStatus } from '../core-db/counts.js';
import { compareDecimals } from '../../domain/decimal.js';
import { pairKey, settlementId, tradeRecordId } from '../../domain/ids.js';
import type { SettlementInstruction, SettlementState, SettlementStatus } from '../../domain/records.js';

export interface AcceptInstructionResult {
  readonly outcome: 'new' | 'duplicate' | 'conflict';
  /**
   * The instruction's state first, then its counterpart's when it has one. On `duplicate`, their current states
   * (a redelivery re-emits); on `conflict`, empty.
   */
  readonly sides: SettlementState[];
  readonly reason?: string;
}

type InstructionFields = Omit<SettlementInstruction, 'status'>;

/** A settlement's row as COLUMNS reads it: the instruction's own fields come from its columns, exactly as sent. */
interface SettlementRow {
  id: string;
  trade_record_id: string;
  sender_id: string;
  im_id: string;
  broker_id: string;
  trade_id: string;
  allocation_id: number;
  security: string;
  side: InstructionFields['side'];
  quantity: string;
  price: string;
  trade_date: string;
  settlement_date: string;
  account: string;
  status: SettlementStatus;
  counterpart_id: string | null;
  reason: string | null;
  received_at: Date;
  updated_at: Date;
}

/**
 * The columns a settlement's state is built from. The instruction's fields are read back from their own columns
 * (numeric keeps the price's digits as sent; dates as written): the row keeps no second copy of the instruction,
 * which would be most of its size. The older `payload` column is left empty (see settlement-schema.ts).
 */
const COLUMNS = `id, trade_record_id, sender_id, im_id, broker_id, trade_id, allocation_id, security, side,
  quantity::text AS quantity, price::text AS price, to_char(trade_date, 'YYYY-MM-DD') AS trade_date,
  to_char(settlement_date, 'YYYY-MM-DD') AS settlement_date, account, status, counterpart_id, reason, received_at,
  updated_at`;

/** The instruction fields in a fixed order, nothing else: what is stored and compared for duplicates. */
function canonical(instruction: InstructionFields): InstructionFields {
  return {
    id: instruction.id,
    tradeRecordId: instruction.tradeRecordId,
    senderId: instruction.senderId,
    imId: instruction.imId,
    brokerId: instruction.brokerId,
    tradeId: instruction.tradeId,
    allocationId: instruction.allocationId,
    security: instruction.security,
    side: instruction.side,
    quantity: instruction.quantity,
    price: instruction.price,
    tradeDate: instruction.tradeDate,
    settlementDate: instruction.settlementDate,
    account: instruction.account,
  };
}

/** The instruction's fields of a row, as they were sent. */
function instructionOf(row: SettlementRow): InstructionFields {
  return {
    id: row.id,
    tradeRecordId: row.trade_record_id,
    senderId: row.sender_id,
    imId: row.im_id,
    brokerId: row.broker_id,
    tradeId: row.trade_id,
    allocationId: row.allocation_id,
    security: row.security,
    side: row.side,
    quantity: Number(row.quantity),
    price: row.price,
    tradeDate: row.trade_date,
    settlementDate: row.settlement_date,
    account: row.account,
  };
}

function toState(row: SettlementRow): SettlementState {
  return {
    ...instructionOf(row),
    status: row.status,
    ...(row.counterpart_id ? { counterpartId: row.counterpart_id } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
    receivedAt: row.received_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

const MATCHED_FIELDS = ['security', 'side', 'quantity', 'price', 'tradeDate', 'settlementDate', 'account'] as const;

/** Why two settlement instructions of one allocation disagree, naming each field; undefined when they agree. */
export function settlementDifferences(a: InstructionFields, b: InstructionFields): string | undefined {
  const differences = MATCHED_FIELDS.filter((field) =>
    field === 'price' ? compareDecimals(a.price, b.price) !== 0 : a[field] !== b[field],
  ).map((field) => {
    const show = (value: string | number) => (typeof value === 'string' ? `"${value}"` : String(value));
    return `${field} differs: ${a.senderId} instructed ${show(a[field])}, ${b.senderId} instructed ${show(b[field])}`;
  });
  return differences.length ? differences.join('; ') : undefined;
}

export class SettlementStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Stores a settlement instruction and pairs it with exactly one counterpart, in one transaction. */
  async acceptInstruction(input: SettlementInstruction, receivedAt: Date): Promise<AcceptInstructionResult> {
    const instruction = canonical(input);
    const expectedTrade = tradeRecordId(instruction);
    const expectedId = settlementId(instruction.tradeRecordId, instruction.allocationId);
    if (instruction.tradeRecordId !== expectedTrade || instruction.id !== expectedId) {
      throw new Error(
        `settlement instruction ${instruction.id} has inconsistent ids (validate it with parseSettlementInstruction)`,
      );
    }
    const key = pairKey(instruction);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // One round trip takes the pair's lock (the INSERT reads from it, so it runs first) and inserts; RETURNING
      // gives the new row's state, so an instruction without a counterpart needs no further read.
      const { rows: inserted } = await client.query<SettlementRow>(
        `INSERT INTO settlements (id, pair_key, trade_record_id, sender_id, im_id, broker_id, trade_id, allocation_id,
           security, side, quantity, price, trade_date, settlement_date, account, status, received_at, updated_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'UNMATCHED', $16, now()
         FROM (SELECT pg_advisory_xact_lock(hashtextextended($2, 0))) AS pair_lock
         ON CONFLICT (id) DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          instruction.id,
          key,
          instruction.tradeRecordId,
          instruction.senderId,
          instruction.imId,
          instruction.brokerId,
          instruction.tradeId,
          instruction.allocationId,
          instruction.security,
          instruction.side,
          instruction.quantity,
          instruction.price,
          instruction.tradeDate,
          instruction.settlementDate,
          instruction.account,
          receivedAt,
        ],
      );
      let result: AcceptInstructionResult;
      if (!inserted.length) {
        result = await this.redelivered(client, instruction);
      } else {
        const { rows } = await client.query<SettlementRow>(
          `SELECT ${COLUMNS} FROM settlements
           WHERE pair_key = $1 AND status = 'UNMATCHED' AND id <> $2
           ORDER BY received_at, id
           LIMIT 1
           FOR UPDATE`,
          [key, instruction.id],
        );
        const counterpart = rows[0];
        let sides = [toState(inserted[0])];
        if (counterpart) {
          const reason = settlementDifferences(instruction, instructionOf(counterpart));
          const { rows: updated } = await client.query<SettlementRow>(
            `UPDATE settlements
             SET status = $3, reason = $4, updated_at = now(), counterpart_id = CASE WHEN id = $1 THEN $2 ELSE $1 END
             WHERE id IN ($1, $2)
             RETURNING ${COLUMNS}`,
            [instruction.id, counterpart.id, reason ? 'MISMATCHED' : 'SETTLED', reason ?? null],
          );
          sides = inOrder(updated, [instruction.id, counterpart.id]);
        }
        result = { outcome: 'new', sides };
      }
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private async redelivered(client: pg.ClientBase, instruction: InstructionFields): Promise<AcceptInstructionResult> {
    const { rows } = await client.query<SettlementRow>(`SELECT ${COLUMNS} FROM settlements WHERE id = $1`, [
      instruction.id,
    ]);
    const existing = rows[0];
    if (!existing) throw new Error(`settlement ${instruction.id} vanished while being redelivered`);
    if (JSON.stringify(instructionOf(existing)) !== JSON.stringify(instruction)) {
      return {
        outcome: 'conflict',
        sides: [],
        reason: `settlement ${instruction.id} was already received with different content; the first version is kept`,
      };
    }
    const ids = existing.counterpart_id ? [instruction.id, existing.counterpart_id] : [instruction.id];
    return { outcome: 'duplicate', sides: await this.states(client, ids) };
  }

  async getSettlement(id: string): Promise<SettlementState | undefined> {
    const [state] = await this.states(this.pool, [id]);
    return state;
  }

  /** Settlements per status (every status present, zero when none). */
  async counts(): Promise<Record<SettlementStatus, number>> {
    return countByStatus(this.pool, 'SELECT status, count(*) AS n FROM settlements GROUP BY status', [
      'UNMATCHED',
      'SETTLED',
      'MISMATCHED',
    ]);
  }

  private async states(client: pg.ClientBase | pg.Pool, ids: string[]): Promise<SettlementState[]> {
    const { rows } = await client.query<SettlementRow>(`SELECT ${COLUMNS} FROM settlements WHERE id = ANY($1)`, [ids]);
    return inOrder(rows, ids);
  }
}

/** The states of `rows` in the order of `ids` (ids without a row are skipped). */
function inOrder(rows: readonly SettlementRow[], ids: readonly string[]): SettlementState[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [toState(row)] : [];
  });
}
