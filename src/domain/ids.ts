/**
 * Record ids and keys (docs/domain.md#records). Pure functions: every stage derives the same id from the same record, which
 * is what makes redelivery and replay idempotent.
 */
import { createHash } from 'node:crypto';
import type { Trade } from './records.js';

export type TradeIds = Pick<Trade, 'senderId' | 'imId' | 'brokerId' | 'tradeId'>;
export type MatchKeyFields = Pick<Trade, 'imId' | 'brokerId' | 'tradeId' | 'side' | 'tradeDate' | 'settlementDate'>;
export interface PairKeyFields {
  readonly imId: string;
  readonly brokerId: string;
  readonly tradeId: string;
  readonly allocationId: number;
}

/** The id of one trade side: `senderId-imId-brokerId-tradeId`. A resubmission with the same id is a duplicate. */
export function tradeRecordId(trade: TradeIds): string {
  return `${trade.senderId}-${trade.imId}-${trade.brokerId}-${trade.tradeId}`;
}

/** The id of one settlement instruction: the trade side's id + `-` + allocationId. */
export function settlementId(tradeId: string, allocationId: number): string {
  return `${tradeId}-${allocationId}`;
}

/**
 * What both sides of a deal share: `imId|brokerId|tradeId|side|tradeDate|settlementDate`. The Kinesis partition key
 * into core (both sides reach the same shard) and the key core matches on.
 */
export function matchKey(trade: MatchKeyFields): string {
  return [trade.imId, trade.brokerId, trade.tradeId, trade.side, trade.tradeDate, trade.settlementDate].join('|');
}

/** What the two settlement instructions of one allocation share: `imId|brokerId|tradeId|allocationId`. */
export function pairKey(instruction: PairKeyFields): string {
  return [instruction.imId, instruction.brokerId, instruction.tradeId, String(instruction.allocationId)].join('|');
}

/** The id of a rejected message whose own id cannot be read: `rejected-` + 16 hex of the sha256 of its raw bytes. */
export function rejectionId(raw: string | Buffer): string {
  return `rejected-${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
}
