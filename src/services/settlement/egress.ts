import type { SettlementResult, SettlementState } from '../../domain/records.js';
import type { PipelineRecord } from '../pipeline/records.js';
import { item, type StageIO, storeAndForward } from '../pipeline/stage-io.js';

/** The result trade matching needs for one decided settlement instruction. */
export function settlementResult(state: SettlementState): SettlementResult {
  return {
    settlementId: state.id,
    tradeRecordId: state.tradeRecordId,
    allocationId: state.allocationId,
    status: state.status as 'SETTLED' | 'MISMATCHED',
    counterpartId: state.counterpartId,
    reason: state.reason,
  };
}

/** st egress: turns each decided settlement into the result for trade matching (same id); rejections pass through. */
export async function settlementEgressBatch(io: StageIO, records: PipelineRecord[]): Promise<void> {
  const forwarded = records.map((record): PipelineRecord =>
    record.kind === 'settlement-status'
      ? { ...record, kind: 'settlement-result', body: settlementResult(record.body as SettlementState) }
      : record,
  );
  await storeAndForward(
    io,
    forwarded.map((r) => item(io, r, 'accepted', true)),
    forwarded,
  );
  // Counted once the batch is done: a retried batch is not counted twice.
  io.counters.in += records.length;
  io.counters.out += forwarded.length;
}
