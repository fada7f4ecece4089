/**
 * A consumer's counters: per shard and in total, counted once a batch's checkpoint is written, so a batch read again
 * after a lost lease or a failed write counts once; and where a record's time went (stream, handler, checkpoint).
 */
import type { ConsumedRecord } from './records.js';

/** Counts are of checkpointed batches, but for `recordsRedelivered` (counted as the handler finishes them). */
export interface ShardMetrics {
  readonly owned: boolean;
  readonly checkpoint?: string;
  /** As reported by the last GetRecords (kinesalite reports 0 until the shard is closed). */
  readonly millisBehindLatest?: number;
  /** Age of the newest record of the last batch when it was read, ms. */
  readonly lastRecordAgeMs?: number;
  readonly recordsIn: number;
  /** Records the handler finished once already and was given again (read again from an older checkpoint). */
  readonly recordsRedelivered: number;
  readonly batches: number;
  readonly lastBatchAt?: string;
}

export interface ConsumerMetrics {
  readonly streamName: string;
  readonly workerId: string;
  readonly running: boolean;
  readonly active: boolean;
  readonly recordsIn: number;
  /**
   * Records handed to the handler again after it had finished them in this process (a failed or refused checkpoint,
   * a lease lost and taken back): at-least-once delivery made visible. A stage's own `in` counts them again.
   */
  readonly recordsRedelivered: number;
  readonly batches: number;
  readonly handlerErrors: number;
  /** GetRecords calls, and how many of them found nothing (the price of polling for low latency). */
  readonly reads: number;
  readonly emptyReads: number;
  readonly leasesTaken: number;
  readonly leasesLost: number;
  /**
   * Where a checkpointed record's time went, summed over records (ms): waiting in the stream (arrival until the read
   * that returned it), in the handler, and in the checkpoint write of its batch. Divide by recordsIn for a mean.
   */
  readonly recordMs: { readonly inStream: number; readonly handling: number; readonly checkpointing: number };
  readonly shardsOwned: readonly string[];
  readonly shards: Readonly<Record<string, ShardMetrics>>;
}

/** A batch the handler finished, waiting for its checkpoint. */
export interface HandledBatch {
  readonly records: readonly ConsumedRecord[];
  readonly readAt: number;
  readonly handledAt: number;
}

export interface MutableShardMetrics {
  checkpoint?: string;
  millisBehindLatest?: number;
  lastRecordAgeMs?: number;
  recordsIn: number;
  recordsRedelivered: number;
  batches: number;
  lastBatchAt?: string;
}

/** Kinesis sequence numbers are decimal strings of up to 128 bits: the longer one is larger, else compare text. */
function sequenceAfter(a: string, b: string): boolean {
  return a.length === b.length ? a > b : a.length > b.length;
}

export class ConsumerCounters {
  readonly totals = {
    recordsIn: 0,
    recordsRedelivered: 0,
    batches: 0,
    handlerErrors: 0,
    reads: 0,
    emptyReads: 0,
    leasesTaken: 0,
    leasesLost: 0,
  };
  private readonly recordMs = { inStream: 0, handling: 0, checkpointing: 0 };
  private readonly shardMetrics = new Map<string, MutableShardMetrics>();
  /** Per shard, the newest sequence number the handler has finished in this process (across lease holdings). */
  private readonly newestHandled = new Map<string, string>();

  /** One shard's counters (created at first use). */
  shard(shardId: string): MutableShardMetrics {
    let m = this.shardMetrics.get(shardId);
    if (!m) {
      m = { recordsIn: 0, recordsRedelivered: 0, batches: 0 };
      this.shardMetrics.set(shardId, m);
    }
    return m;
  }

  /** Notes a batch the handler has just finished; counts the records it had finished before as redelivered. */
  countHandled(shardId: string, records: readonly ConsumedRecord[]): void {
    if (!records.length) return;
    const newest = this.newestHandled.get(shardId);
    // Records come in sequence order: usually the first is already new and nothing needs counting.
    const again =
      newest === undefined || sequenceAfter(records[0].sequenceNumber, newest)
        ? 0
        : records.filter((r) => !sequenceAfter(r.sequenceNumber, newest)).length;
    if (again) {
      this.shard(shardId).recordsRedelivered += again;
      this.totals.recordsRedelivered += again;
    }
    const last = records[records.length - 1].sequenceNumber;
    if (newest === undefined || sequenceAfter(last, newest)) this.newestHandled.set(shardId, last);
  }

  /** Counts a batch of `shardId` whose checkpoint was just written (`now`). */
  countCheckpointed(shardId: string, { records, readAt, handledAt }: HandledBatch, now = Date.now()): void {
    const metrics = this.shard(shardId);
    for (const record of records) {
      const arrived = record.approximateArrivalTimestamp?.getTime();
      if (arrived !== undefined) this.recordMs.inStream += Math.max(0, readAt - arrived);
    }
    this.recordMs.handling += (handledAt - readAt) * records.length;
    this.recordMs.checkpointing += (now - handledAt) * records.length;
    const last = records[records.length - 1];
    metrics.recordsIn += records.length;
    metrics.batches++;
    metrics.lastBatchAt = new Date(now).toISOString();
    if (last.approximateArrivalTimestamp) {
      metrics.lastRecordAgeMs = Math.max(0, now - last.approximateArrivalTimestamp.getTime());
    }
    this.totals.recordsIn += records.length;
    this.totals.batches++;
  }

  snapshot(
    identity: Pick<ConsumerMetrics, 'streamName' | 'workerId' | 'running' | 'active'>,
    owned: readonly string[],
  ): ConsumerMetrics {
    const shards: Record<string, ShardMetrics> = {};
    for (const [shardId, m] of this.shardMetrics) shards[shardId] = { owned: owned.includes(shardId), ...m };
    return {
      ...identity,
      ...this.totals,
      recordMs: { ...this.recordMs },
      shardsOwned: [...owned].sort(),
      shards,
    };
  }
}
