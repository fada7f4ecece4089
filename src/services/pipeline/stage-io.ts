import type { AppName, StageName } from '../../config/apps.js';
import type { SafeStoreItem } from '../runtime/safe-store.js';
import { type Origin, type PipelineRecord, safeStoreItem, statusOf } from './records.js';

/** Counters every stage keeps; `tsr status` shows them per app, region and stage. */
export interface StageCounters {
  in: number;
  out: number;
  rejected: number;
  duplicates: number;
  errors: number;
}

export function newCounters(): StageCounters {
  return { in: 0, out: 0, rejected: 0, duplicates: 0, errors: 0 };
}

/** What a stage's logic needs from the outside world: its safe store and the stream to the next stage. */
export interface StageIO {
  readonly app: AppName;
  readonly stage: StageName;
  readonly region: string;
  readonly counters: StageCounters;
  /** Durable, idempotent writes of safe-store items (same id again overwrites with the same content). */
  putAll(items: SafeStoreItem[]): Promise<void>;
  /** Puts records on the next stage's stream; resolves once Kinesis accepted all of them. */
  forward(records: PipelineRecord[]): Promise<void>;
}

export function item(
  io: StageIO,
  record: PipelineRecord,
  origin: Origin,
  forwarded: boolean,
  status = statusOf(record),
): SafeStoreItem {
  return safeStoreItem(record, origin, forwarded, status, io.stage, io.region);
}

/**
 * Stores a batch's safe-store items and forwards its records at the same time (one engine round trip per hop
 * instead of two: each hop to a confirmation waited for both). Both must succeed before the batch is checkpointed;
 * if either fails the batch is delivered again and both are repeated, idempotent by id. For a moment the next stage
 * may hold a record this stage has not stored yet: reconciliation reports that as extra downstream, never as missing.
 */
export async function storeAndForward(io: StageIO, items: SafeStoreItem[], records: PipelineRecord[]): Promise<void> {
  await Promise.all([io.putAll(items), records.length ? io.forward(records) : undefined]);
}

/**
 * A stage that keeps what it accepted and passes it on unchanged (ingestion). Redelivered records are simply stored
 * and forwarded again; every downstream write is idempotent by id.
 */
export async function passThrough(io: StageIO, records: PipelineRecord[]): Promise<void> {
  if (!records.length) return;
  await storeAndForward(
    io,
    records.map((r) => item(io, r, 'accepted', true)),
    records,
  );
  // Counted once the batch is done: a retried batch is not counted twice.
  io.counters.in += records.length;
  io.counters.out += records.length;
}
