/**
 * Reading one shard while its lease is held: GetShardIterator AFTER_SEQUENCE_NUMBER the checkpoint (TRIM_HORIZON
 * without one), then GetRecords in a loop with growing sleeps while the shard is empty (rarer once it is dormant).
 * The checkpoint is written behind the reader, only after the handler resolved for the whole batch; a handler that
 * throws gets the same batch again after a backoff, never the next one. An expired iterator is replaced by one from
 * the checkpoint. While inactive nothing is read (records wait in the stream) but the lease is kept. A closed shard
 * is checkpointed SHARD_END and its lease released.
 */
import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { CheckpointPipeline } from '../checkpoint-pipeline.js';
import { backoffDelay, errorName, sleep } from '../retry.js';
import type { LeaseTable } from './lease-table.js';
import type { ConsumerCounters, HandledBatch, MutableShardMetrics } from './metrics.js';
import { type ConsumedRecord, type RecordHandler, SHARD_END, toConsumedRecord } from './records.js';

/** One holding of one shard's lease: a new object each time the lease is taken. */
export interface Holding {
  readonly shardId: string;
  owned: boolean;
  /** Until when this worker may act on the lease (its clock), refreshed by each renewal. */
  validUntil: number;
  checkpoint?: string;
  /** Aborted when the lease is lost or the consumer stops: wakes every sleep of the shard loop. */
  readonly wake: AbortController;
  loop?: Promise<void>;
}

/** Whether a holding may still act: owned, not stopped by a crash, and within its lease time. */
export function holds(holding: Holding, crashed: boolean, now = Date.now()): boolean {
  return holding.owned && !crashed && now < holding.validUntil;
}

export interface ReaderSettings {
  readonly batchSize: number;
  readonly pollIntervalMs: number;
  readonly maxIdleMs: number;
  readonly dormantAfterMs: number;
  readonly dormantPollMs: number;
  readonly minReadIntervalMs: number;
  readonly checkpointIntervalMs: number;
}

/** What a reader uses of its consumer. */
export interface ReaderHost {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly handler: RecordHandler;
  readonly settings: ReaderSettings;
  readonly leases: LeaseTable;
  readonly counters: ConsumerCounters;
  readonly logger?: Logger;
  /** Aborted by stop() and crash(). */
  stopSignal(): AbortSignal;
  isActive(): boolean;
  stopping(): boolean;
  crashed(): boolean;
  /** The lease turned out to be someone else's: drop the shard. */
  lose(holding: Holding, why: string): void;
  release(holding: Holding): Promise<void>;
}

type Step = 'next' | 'stop' | 'shard-ended';

export class ShardReader {
  private iterator: string | undefined;
  private idle = 0;
  private failures = 0;
  private lastReadAt = 0;
  private lastRecordsAt = Date.now();
  private readonly signal: AbortSignal;
  private readonly metrics: MutableShardMetrics;
  private readonly checkpoints: CheckpointPipeline<HandledBatch>;

  constructor(
    private readonly host: ReaderHost,
    private readonly holding: Holding,
  ) {
    this.signal = AbortSignal.any([holding.wake.signal, host.stopSignal()]);
    this.metrics = host.counters.shard(holding.shardId);
    this.checkpoints = new CheckpointPipeline<HandledBatch>(
      (sequenceNumber) => this.checkpoint(sequenceNumber),
      (batches) => batches.forEach((batch) => host.counters.countCheckpointed(holding.shardId, batch)),
      host.settings.checkpointIntervalMs,
    );
  }

  async run(): Promise<void> {
    while (this.holding.owned && !this.host.stopping()) {
      const step = await this.step();
      if (step === 'shard-ended') return;
      if (step === 'stop') break;
    }
    // Finish the checkpoints in hand before the lease is released (stop) or passed on.
    await this.checkpoints.settle();
  }

  private pause(ms: number): Promise<void> {
    return sleep(ms, this.signal);
  }

  private async step(): Promise<Step> {
    const { settings } = this.host;
    if (this.checkpoints.failure) {
      // A checkpoint write failed or found the lease gone: read again from the last one written (at-least-once).
      if ((await this.checkpoints.settle()) === 'lost') return 'stop';
      this.iterator = undefined;
    }
    if (!this.host.isActive()) {
      // Parked with every handled batch checkpointed, so a drain check sees where this stage really is.
      await this.checkpoints.settle();
      this.iterator = undefined;
      // Activation follows a routing control polled about once a second: checking more often gains nothing.
      await this.pause(settings.maxIdleMs);
      this.lastRecordsAt = Date.now();
      return 'next';
    }
    if (!holds(this.holding, this.host.crashed())) {
      // Renewals are late (DynamoDB slow or away): read nothing until the lease is confirmed or lost.
      await this.pause(settings.pollIntervalMs);
      return 'next';
    }
    const batch = await this.read();
    if (batch === 'lost') return 'stop';
    if (batch === 'retry') return 'next';
    return this.handle(batch);
  }

  /** One GetRecords (with a new iterator first when needed); read errors back off and ask for a retry. */
  private async read(): Promise<GetRecordsCommandOutput | 'retry' | 'lost'> {
    const { shardId } = this.holding;
    const { settings, logger } = this.host;
    try {
      if (!this.iterator) {
        // From the newest checkpoint: never behind one still being written.
        if ((await this.checkpoints.settle()) === 'lost') return 'lost';
        this.iterator = await this.iteratorFrom(this.holding.checkpoint);
      }
      const wait = this.lastReadAt + settings.minReadIntervalMs - Date.now();
      if (wait > 0) await this.pause(wait);
      this.lastReadAt = Date.now();
      const batch = await this.host.kinesis.send(
        new GetRecordsCommand({ ShardIterator: this.iterator, Limit: settings.batchSize }),
      );
      this.failures = 0;
      return batch;
    } catch (error) {
      const name = errorName(error);
      if (name === 'ExpiredIteratorException') {
        logger?.info({ shardId }, 'shard iterator expired; reading again from the checkpoint');
        this.iterator = undefined;
        return 'retry';
      }
      if (name === 'InvalidArgumentException' || name === 'ResourceNotFoundException') this.iterator = undefined;
      const level = name === 'ProvisionedThroughputExceededException' ? 'debug' : 'warn';
      logger?.[level]({ err: error, shardId, failures: this.failures }, 'reading the shard failed; retrying');
      await this.pause(backoffDelay(this.failures++, { baseMs: 100, maxMs: 5000 }));
      return 'retry';
    }
  }

  private async handle(batch: GetRecordsCommandOutput): Promise<Step> {
    const readAt = Date.now();
    this.host.counters.totals.reads++;
    this.metrics.millisBehindLatest = batch.MillisBehindLatest;
    const records = (batch.Records ?? []).map(toConsumedRecord);
    const next = batch.NextShardIterator;
    if (records.length === 0) return this.handleEmpty(next);
    this.idle = 0;
    this.lastRecordsAt = Date.now();

    const delivered = await this.deliver(records);
    const handledAt = Date.now();
    if (!delivered) {
      // Lost the lease, stopped, crashed or deactivated mid-retry: nothing is checkpointed.
      this.iterator = undefined;
      return 'next';
    }
    this.host.counters.countHandled(this.holding.shardId, records);
    this.checkpoints.add(records[records.length - 1].sequenceNumber, { records, readAt, handledAt });
    // Without a next iterator the shard ended with this batch: reading again from its checkpoint finds SHARD_END.
    this.iterator = next;
    return 'next';
  }

  /** Nothing new: wait (longer while idle, longest when dormant); a closed shard read to its end is finished. */
  private async handleEmpty(next: string | undefined): Promise<Step> {
    const { settings } = this.host;
    this.host.counters.totals.emptyReads++;
    if (!next) {
      if ((await this.checkpoints.settle()) !== 'written') {
        this.iterator = undefined;
        return 'next';
      }
      await this.checkpoint(SHARD_END);
      this.host.logger?.info({ shardId: this.holding.shardId }, 'shard closed and fully read');
      if (this.holding.owned && !this.host.crashed()) await this.host.release(this.holding).catch(() => undefined);
      this.holding.owned = false;
      return 'shard-ended';
    }
    this.iterator = next;
    const dormant = Date.now() - this.lastRecordsAt >= settings.dormantAfterMs;
    await this.pause(
      dormant
        ? settings.dormantPollMs
        : Math.min(settings.maxIdleMs, settings.pollIntervalMs * 2 ** Math.min(this.idle++, 10)),
    );
    return 'next';
  }

  private async iteratorFrom(checkpoint: string | undefined): Promise<string> {
    const { shardId } = this.holding;
    const answer = await this.host.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.host.streamName,
        ShardId: shardId,
        ...(checkpoint && checkpoint !== SHARD_END
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: checkpoint }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    if (!answer.ShardIterator) throw new Error(`no shard iterator for ${this.host.streamName}/${shardId}`);
    return answer.ShardIterator;
  }

  /** Hands the batch to the handler until it resolves; false when the batch must be dropped unacknowledged. */
  private async deliver(records: ConsumedRecord[]): Promise<boolean> {
    const { host, holding } = this;
    for (let attempt = 0; ; attempt++) {
      if (!holds(holding, host.crashed()) || host.stopping() || !host.isActive()) return false;
      try {
        await host.handler(records, holding.shardId);
        return true;
      } catch (error) {
        host.counters.totals.handlerErrors++;
        const delay = backoffDelay(attempt, { baseMs: 100, maxMs: 5000 });
        host.logger?.error(
          {
            err: error,
            shardId: holding.shardId,
            records: records.length,
            firstSequenceNumber: records[0].sequenceNumber,
            attempt: attempt + 1,
            retryInMs: delay,
          },
          'handler failed; the same batch will be delivered again',
        );
        await sleep(delay, this.signal);
      }
    }
  }

  /** Records progress, only while this worker still owns the lease (checked here and by the write's condition). */
  private async checkpoint(sequenceNumber: string): Promise<'written' | 'lost' | 'failed'> {
    const { host, holding } = this;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!holding.owned || host.crashed()) return 'lost';
      if (!holds(holding, host.crashed())) {
        // Not confirmed recently: never write progress on a lease that may have passed to another worker. A renewal
        // that is only late (DynamoDB busy) is waited for, so a loaded machine does not deliver batches again.
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 2000 }), this.signal);
        continue;
      }
      try {
        if (!(await host.leases.checkpoint(holding.shardId, sequenceNumber))) {
          host.lose(holding, 'checkpoint refused');
          return 'lost';
        }
        holding.checkpoint = sequenceNumber;
        host.counters.shard(holding.shardId).checkpoint = sequenceNumber;
        return 'written';
      } catch (error) {
        host.logger?.warn({ err: error, shardId: holding.shardId, attempt: attempt + 1 }, 'checkpoint failed');
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 2000 }), host.stopSignal());
      }
    }
    return holding.owned && !host.crashed() ? 'failed' : 'lost';
  }
}
