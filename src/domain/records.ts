/**
 * The records that flow through both applications (docs/domain.md#records). Statuses are upper case everywhere.
 * Prices are decimal strings compared exactly, never as floats.
 */
export type Side = 'B' | 'S';
export type TradeStatus = 'UNMATCHED' | 'MATCHED' | 'MISMATCHED' | 'SETTLED';
export type SettlementStatus = 'UNMATCHED' | 'SETTLED' | 'MISMATCHED';
export type RecordStatus = TradeStatus | SettlementStatus | 'REJECTED';

export interface Allocation {
  readonly allocationId: number;
  readonly quantity: number;
  readonly account: string;
}

/** One side of a deal, as a sender submits it on `tm/in/trades`. */
export interface Trade {
  readonly senderId: string;
  readonly imId: string;
  readonly brokerId: string;
  readonly tradeId: string;
  readonly side: Side;
  readonly security: string;
  readonly quantity: number;
  readonly price: string;
  readonly tradeDate: string;
  readonly settlementDate: string;
  readonly deliveryInstructions: string;
  readonly allocations: readonly Allocation[];
}

/** What egress builds per allocation of a MATCHED trade side, for the settlement app (`st/in/settlements`). */
export interface SettlementInstruction {
  /** trade id + '-' + allocationId */
  readonly id: string;
  /** The trade side's id: senderId-imId-brokerId-tradeId */
  readonly tradeRecordId: string;
  readonly senderId: string;
  readonly imId: string;
  readonly brokerId: string;
  readonly tradeId: string;
  readonly allocationId: number;
  readonly security: string;
  readonly side: Side;
  readonly quantity: number;
  readonly price: string;
  readonly tradeDate: string;
  readonly settlementDate: string;
  readonly account: string;
  readonly status: 'UNMATCHED';
}

/** The outcome of settlement matching for one instruction, sent back to trade matching (`tm/in/settlements`). */
export interface SettlementResult {
  readonly settlementId: string;
  readonly tradeRecordId: string;
  readonly allocationId: number;
  readonly status: 'SETTLED' | 'MISMATCHED';
  readonly counterpartId?: string;
  readonly reason?: string;
}

/** A trade side's status as confirmed back to its sender (`tm/out/confirmations`). */
export interface TradeStatusUpdate {
  readonly tradeRecordId: string;
  readonly senderId: string;
  readonly status: TradeStatus;
  readonly counterpartId?: string;
  readonly reason?: string;
}

/** A message that could not be accepted: kept with its raw text and why (a NACK). Never blocks what follows. */
export interface Rejection {
  /** The record id if one could be read, otherwise `rejected-<sha256 of raw text, 16 hex>`. */
  readonly id: string;
  readonly status: 'REJECTED';
  readonly reason: string;
  readonly rawText: string;
  /** Topic or stage where it was rejected. */
  readonly source: string;
}

/** Settlement progress of one allocation of a trade side, as tm core records it from st's results. */
export interface AllocationState extends Allocation {
  /** trade id + '-' + allocationId */
  readonly settlementId: string;
  readonly settlementStatus: SettlementStatus;
  readonly settlementCounterpartId?: string;
  readonly settlementReason?: string;
}

/**
 * One trade side as tm core holds it: the submitted trade, its id and status, the side it was paired with, why it
 * mismatched, and every allocation's settlement status. Enough for egress to build settlement instructions per
 * allocation and confirmations for the sender.
 */
export interface TradeSideState extends Omit<Trade, 'allocations'> {
  /** senderId-imId-brokerId-tradeId */
  readonly id: string;
  readonly status: TradeStatus;
  readonly counterpartId?: string;
  readonly reason?: string;
  readonly allocations: readonly AllocationState[];
  /** When core first accepted it (ISO 8601). */
  readonly receivedAt: string;
  /** When its status last changed (ISO 8601). */
  readonly updatedAt: string;
}

/** One settlement instruction as st core holds it: the instruction plus its matching status. */
export interface SettlementState extends Omit<SettlementInstruction, 'status'> {
  readonly status: SettlementStatus;
  readonly counterpartId?: string;
  readonly reason?: string;
  readonly receivedAt: string;
  readonly updatedAt: string;
}
