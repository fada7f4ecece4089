import type { SettlementInstruction, SettlementState } from '../../domain/records.js';
import { coreBatch } from '../pipeline/core-batch.js';
import type { PipelineRecord } from '../pipeline/records.js';
import type { StageIO } from '../pipeline/stage-io.js';
import type { SettlementStore } from './core-store.js';

export function settlementStatusRecord(state: SettlementState, cause: PipelineRecord): PipelineRecord<SettlementState> {
  return {
    id: `${state.id}#${state.status}`,
    kind: 'settlement-status',
    body: state,
    partitionKey: state.id,
    acceptedAt: cause.acceptedAt,
    submittedAt: cause.submittedAt,
  };
}

/**
 * st core: pairs settlement instructions (docs/domain.md#matching) in PostgreSQL and sends every decided instruction (SETTLED or
 * MISMATCHED) to egress. Redeliveries re-emit current states; downstream is idempotent by id.
 */
export function settlementCoreBatch(
  io: StageIO,
  store: SettlementStore,
  records: PipelineRecord[],
  concurrency = 8,
): Promise<void> {
  return coreBatch(io, 'st/core', records, concurrency, async (record, out) => {
    if (record.kind !== 'settlement-instruction')
      return out.refuse(record, `st core does not accept ${record.kind} records`);
    const result = await store.acceptInstruction(record.body as SettlementInstruction, new Date(record.acceptedAt));
    if (result.outcome === 'conflict')
      return out.refuse(record, result.reason ?? 'duplicate settlement id with different content');
    if (result.outcome === 'duplicate') out.duplicate();
    out.accepted(record, result.sides.find((s) => s.id === record.id)?.status ?? 'UNMATCHED');
    for (const state of result.sides)
      if (state.status !== 'UNMATCHED') out.emit(settlementStatusRecord(state, record), state.status);
  });
}
