import type { SettlementResult } from '../../domain/records.js';
import type { Destination } from '../pipeline/outbound.js';
import type { PipelineRecord } from '../pipeline/records.js';

export interface SettlementOutboundTopics {
  readonly results: string;
  readonly rejections: string;
}

/** st outbound routing: results go to trade matching's broker in the region whose trade dns control is ON. */
export function settlementOutboundRoute(
  record: PipelineRecord,
  ownRegion: string,
  tradeRegion: () => string,
  topics: SettlementOutboundTopics,
): Destination {
  if (record.kind === 'settlement-result') {
    const result = record.body as SettlementResult;
    return {
      region: tradeRegion(),
      topic: topics.results,
      message: JSON.stringify({ ...result, submittedAt: record.submittedAt }),
    };
  }
  return { region: ownRegion, topic: topics.rejections, message: JSON.stringify(record.body) };
}
