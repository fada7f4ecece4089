import { reject } from '../../domain/validation.js';
import type { SafeStoreItem } from '../runtime/safe-store.js';
import { forEachKeyGroup } from './concurrency.js';
import { rejectionRecord } from './gateway.js';
import type { PipelineRecord } from './records.js';
import { item, type StageIO, storeAndForward } from './stage-io.js';

/** What a core does with one record: note it as accepted, emit what it decided, or refuse it with a reason. */
export interface CoreOutcomes {
  accepted(record: PipelineRecord, status: string): void;
  emit(record: PipelineRecord, status: string): void;
  /** A REJECTED record for the sender, with the reason; the input is kept as accepted-and-rejected. */
  refuse(record: PipelineRecord, reason: string): void;
  duplicate(): void;
}

/**
 * The bookkeeping both cores share: records of one partition key in order (keys concurrently), then one safe-store
 * write of everything accepted and created together with one forward of what was emitted, before the checkpoint.
 */
export async function coreBatch(
  io: StageIO,
  source: string,
  records: PipelineRecord[],
  concurrency: number,
  decide: (record: PipelineRecord, outcomes: CoreOutcomes) => Promise<void>,
): Promise<void> {
  const items: SafeStoreItem[] = [];
  const emitted: PipelineRecord[] = [];
  const outcomes: CoreOutcomes = {
    accepted: (record, status) => items.push(item(io, record, 'accepted', false, status)),
    emit: (record, status) => {
      emitted.push(record);
      items.push(item(io, record, 'created', true, status));
    },
    refuse: (record, reason) => {
      outcomes.accepted(record, 'REJECTED');
      outcomes.emit(
        rejectionRecord(reject(JSON.stringify(record.body), source, reason, record.id), record.acceptedAt),
        'REJECTED',
      );
      io.counters.rejected++;
    },
    duplicate: () => io.counters.duplicates++,
  };
  await forEachKeyGroup(
    records,
    (r) => r.partitionKey,
    concurrency,
    (record) => decide(record, outcomes),
  );
  await storeAndForward(io, items, emitted);
  // Counted once the batch is done: a retried batch is not counted twice.
  io.counters.in += records.length;
  io.counters.out += emitted.length;
}
