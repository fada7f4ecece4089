import type { Rejection, SettlementInstruction, TradeSideState, TradeStatusUpdate } from '../../domain/records.js';
import type { Destination } from '../pipeline/outbound.js';
import type { PipelineRecord } from '../pipeline/records.js';

export interface TradeOutboundTopics {
  readonly confirmations: string;
  readonly settlements: string;
}

/**
 * tm outbound routing: status confirmations and rejections go back to senders on this region's broker;
 * settlement instructions go to the settlement app's broker in the region whose settlement dns control is ON.
 */
export function tradeOutboundRoute(
  record: PipelineRecord,
  ownRegion: string,
  settlementRegion: () => string,
  topics: TradeOutboundTopics,
): Destination {
  if (record.kind === 'settlement-instruction') {
    const body = record.body as SettlementInstruction;
    return {
      region: settlementRegion(),
      topic: topics.settlements,
      message: JSON.stringify({ ...body, submittedAt: record.submittedAt }),
    };
  }
  if (record.kind === 'trade-status') {
    const side = record.body as TradeSideState;
    const update: TradeStatusUpdate & { submittedAt?: number } = {
      tradeRecordId: side.id,
      senderId: side.senderId,
      status: side.status,
      counterpartId: side.counterpartId,
      reason: side.reason,
      submittedAt: record.submittedAt,
    };
    return { region: ownRegion, topic: topics.confirmations, message: JSON.stringify(update) };
  }
  const rejection = record.body as Rejection;
  return { region: ownRegion, topic: topics.confirmations, message: JSON.stringify(rejection) };
}
