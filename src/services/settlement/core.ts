import type { SettlementInstruction, SettlementState } from '../../domain/records.js';
import { reject } from '../../domain/validation.js';
import type { SafeStoreItem } from '../runtime/safe-store.js';
import { forEachKeyGroup } from '../pipeline/concurrency.js';
import { rejectionRecord } from '../pipeline/gateway.js';
import type { PipelineRecord } from '../pipeline/records.js';
import { item, type StageIO } from '../pipeline/stage-io.js';
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
 * st core: pairs settlement instructions (DOMAIN §3) in PostgreSQL and sends every decided instruction (SETTLED or
 * MISMATCHED) to egress. Redeliveries re-emit current states; downstream is idempotent by id.
 */
export async function settlementCoreBatch(
  io: StageIO,
  store: SettlementStore,
  records: PipelineRecord[],
  concurrency = 8,
): Promise<void> {
  const items: SafeStoreItem[] = [];
  const emitted: PipelineRecord[] = [];
  const emit = (record: PipelineRecord, status: string) => {
    emitted.push(record);
    items.push(item(io, record, 'created', true, status));
  };
  await forEachKeyGroup(
    records,
    (r) => r.partitionKey,
    concurrency,
    async (record) => {
      if (record.kind !== 'settlement-instruction') {
        items.push(item(io, record, 'accepted', false, 'REJECTED'));
        emit(
          rejectionRecord(
            reject(JSON.stringify(record), 'st/core', `st core does not accept ${record.kind} records`, record.id),
          ),
          'REJECTED',
        );
        io.counters.rejected++;
        return;
      }
      const result = await store.acceptInstruction(record.body as SettlementInstruction, new Date(record.acceptedAt));
      if (result.outcome === 'conflict') {
        const rejection = reject(
          JSON.stringify(record.body),
          'st/core',
          result.reason ?? 'duplicate settlement id with different content',
          record.id,
        );
        items.push(item(io, record, 'accepted', false, 'REJECTED'));
        emit(rejectionRecord(rejection, record.acceptedAt), 'REJECTED');
        io.counters.rejected++;
        return;
      }
      if (result.outcome === 'duplicate') io.counters.duplicates++;
      const own = result.sides.find((s) => s.id === record.id);
      items.push(item(io, record, 'accepted', false, own?.status ?? 'UNMATCHED'));
      for (const state of result.sides)
        if (state.status !== 'UNMATCHED') emit(settlementStatusRecord(state, record), state.status);
    },
  );
  await io.putAll(items);
  await io.forward(emitted);
  // Counted once the batch is done: a retried batch is not counted twice.
  io.counters.in += records.length;
  io.counters.out += emitted.length;
}
