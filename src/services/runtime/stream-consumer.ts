/**
 * A Kinesis shard consumer with shard leases and checkpoints in DynamoDB, so several processes share a stream's
 * shards and a dead process's shards are taken over.
 *
 * Leases: one item per shard in the leases table, key `leaseKey = "<stream>|<shardId>"`, holding `owner`,
 * `leaseExpiresAt` (epoch ms), `checkpoint` (the last sequence number whose batch the handler finished, or
 * SHARD_END) and `counter` (bumped by every write, for optimistic concurrency). Every lease write is conditional:
 * - take: the item is absent, or its counter is still the one we read (we only try unowned or expired leases, our
 *   own leases left by a previous run of this worker id, and, to balance, one lease of a worker above its share);
 * - renew (every leaseDurationMs / 3), checkpoint and release: `owner = me`. A failed condition means the lease
 *   was lost: the shard is dropped at once and its batch in hand is never checkpointed.
 * Balancing: live workers are the owners of unexpired leases plus this one; a worker takes free leases only up to
 * ceil(shards / live workers), and steals one lease per round while it holds fewer than floor(shards / live).
 *
 * Reading: GetShardIterator AFTER_SEQUENCE_NUMBER the checkpoint (TRIM_HORIZON without one), then GetRecords in a
 * loop with growing sleeps while the shard is empty. The checkpoint is written only after the handler resolved for
 * the whole batch; a handler that throws gets the same batch again after a backoff, never the next one. An expired
 * iterator is replaced by one from the checkpoint. While `isActive()` is false nothing is read (records wait in the
 * stream) but leases are kept. A closed shard (after a reshard) is checkpointed SHARD_END; its children are read
 * only once their parents reached SHARD_END.
 *
 * The parts, under ./stream/: lease-table.ts (the conditional lease writes), shard-balance.ts (which leases to take,
 * pure), shard-reader.ts (the loop of one shard), metrics.ts (counters), records.ts (what the handler gets).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { sleep } from './retry.js';
import { type LeaseItem, LeaseTable } from './stream/lease-table.js';
import { type ConsumerMetrics, ConsumerCounters } from './stream/metrics.js';
import type { RecordHandler } from './stream/records.js';
import {
  eligibleShards,
  freeShards,
  leaseToSteal,
  leftBehind,
  liveWorkers,
  shareOf,
  shuffle,
} from './stream/shard-balance.js';
import { type Holding, type ReaderHost, type ReaderSettings, ShardReader } from './stream/shard-reader.js';

export type { ConsumerMetrics, ShardMetrics } from './stream/metrics.js';
export { type ConsumedRecord, type RecordHandler, SHARD_END } from './stream/records.js';

export interface StreamConsumerOptions {
  readonly kinesis: KinesisClient;
  readonly dynamo: DynamoDBClient;
  /** The leases table (key `leaseKey`). */
  readonly leaseTable: string;
  readonly streamName: string;
  /** Stable per process slot: a restart with the same id reclaims its leases at once. */
  readonly workerId: string;
  /** Called with each batch of one shard, in order; shards are handled concurrently. */
  readonly handler: RecordHandler;
  /** GetRecords Limit. Default 500. */
  readonly batchSize?: number;
  /** Sleep after an empty read, doubled per empty read up to maxIdleMs. Default 100. */
  readonly pollIntervalMs?: number;
  /** Longest sleep between reads of an idle shard. Default max(500, pollIntervalMs). */
  readonly maxIdleMs?: number;
  /**
   * A shard empty for this long counts as dormant (a standby region's streams, a quiet night) and is read only every
   * dormantPollMs: polling dozens of empty shards four times a second costs CPU the busy region needs. Default 10,000.
   */
  readonly dormantAfterMs?: number;
  /** Sleep between reads of a dormant shard. Default max(1,000, maxIdleMs). */
  readonly dormantPollMs?: number;
  /**
   * Least time between two GetRecords of one shard, ms. Default 0; on AWS use 200 (Kinesis allows 5 reads per second
   * per shard, shared by every consumer of the stream; beyond it reads fail and back off).
   */
  readonly minReadIntervalMs?: number;
  /**
   * Least time between two checkpoint writes of one shard, ms. Default 0. Checkpoints are written behind the reader,
   * so this costs no latency; it bounds what a crash delivers again (at least once, and every handler idempotent).
   */
  readonly checkpointIntervalMs?: number;
  /** Lease validity. Default 10,000; renewed every third of it. */
  readonly leaseDurationMs?: number;
  /** How often the shard list is refreshed (reshards). Default 30,000. */
  readonly shardRefreshMs?: number;
  /** When false, nothing is read (leases are kept). Default: always active. */
  readonly isActive?: () => boolean;
  readonly logger?: Logger;
}

export class StreamConsumer {
  private readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly workerId: string;
  private readonly handler: RecordHandler;
  private readonly settings: ReaderSettings;
  private readonly leaseDurationMs: number;
  private readonly shardRefreshMs: number;
  private readonly isActive: () => boolean;
  private readonly logger?: Logger;
  private readonly leases: LeaseTable;
  private readonly counters = new ConsumerCounters();

  private running = false;
  private stopping = false;
  /** Set by crash(): no further lease or checkpoint writes at all. */
  private crashed = false;
  private stopSignal = new AbortController();
  private coordinator?: Promise<void>;
  private shards: Shard[] = [];
  private shardsListedAt = 0;
  private readonly holdings = new Map<string, Holding>();

  constructor(opts: StreamConsumerOptions) {
    this.kinesis = opts.kinesis;
    this.streamName = opts.streamName;
    this.workerId = opts.workerId;
    this.handler = opts.handler;
    const pollIntervalMs = Math.max(1, opts.pollIntervalMs ?? 100);
    const maxIdleMs = Math.max(pollIntervalMs, opts.maxIdleMs ?? 500);
    this.settings = {
      batchSize: Math.max(1, Math.min(10_000, opts.batchSize ?? 500)),
      pollIntervalMs,
      maxIdleMs,
      dormantAfterMs: Math.max(0, opts.dormantAfterMs ?? 10_000),
      dormantPollMs: Math.max(maxIdleMs, opts.dormantPollMs ?? 1_000),
      minReadIntervalMs: Math.max(0, opts.minReadIntervalMs ?? 0),
      checkpointIntervalMs: Math.max(0, opts.checkpointIntervalMs ?? 0),
    };
    this.leaseDurationMs = Math.max(300, opts.leaseDurationMs ?? 10_000);
    this.shardRefreshMs = opts.shardRefreshMs ?? 30_000;
    this.isActive = opts.isActive ?? (() => true);
    this.logger = opts.logger?.child({ stream: opts.streamName, workerId: opts.workerId });
    this.leases = new LeaseTable(opts.dynamo, opts.leaseTable, opts.streamName, opts.workerId, this.leaseDurationMs);
  }

  /** Starts taking leases and reading; resolves after the first lease round (errors there are logged, not thrown). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.crashed = false;
    this.stopSignal = new AbortController();
    let first!: () => void;
    const firstRound = new Promise<void>((resolve) => (first = resolve));
    this.coordinator = this.coordinate(first);
    await firstRound;
  }

  /** Finishes the batches in hand (handler and checkpoint), then releases every lease. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.stopSignal.abort();
    await this.coordinator;
    await Promise.all([...this.holdings.values()].map((h) => h.loop));
    await Promise.all(
      [...this.holdings.values()].filter((h) => h.owned).map((h) => this.release(h).catch(() => undefined)),
    );
    this.holdings.clear();
    this.running = false;
    this.logger?.info('consumer stopped; leases released');
  }

  /**
   * Test hook: stops at once as if the process died. No checkpoint or lease write follows (a handler call in
   * flight may finish, but its batch is not checkpointed); the leases stay owned until they expire.
   */
  async crash(): Promise<void> {
    if (!this.running) return;
    this.crashed = true;
    this.stopping = true;
    this.stopSignal.abort();
    for (const holding of this.holdings.values()) holding.wake.abort();
    await this.coordinator;
    await Promise.all([...this.holdings.values()].map((h) => h.loop));
    this.holdings.clear();
    this.running = false;
  }

  metrics(): ConsumerMetrics {
    const owned = [...this.holdings.values()].filter((h) => h.owned).map((h) => h.shardId);
    const identity = { streamName: this.streamName, workerId: this.workerId, running: this.running };
    return this.counters.snapshot({ ...identity, active: this.isActive() }, owned);
  }

  // ---- lease coordination ----

  private async coordinate(firstRoundDone: () => void): Promise<void> {
    const interval = Math.max(100, Math.floor(this.leaseDurationMs / 3));
    let failures = 0;
    while (!this.stopping) {
      const started = Date.now();
      try {
        await this.leaseRound();
        failures = 0;
      } catch (error) {
        failures++;
        this.logger?.warn({ err: error, failures }, 'lease round failed; retrying');
      }
      firstRoundDone();
      if (this.stopping) break;
      await sleep(Math.max(10, interval - (Date.now() - started)), this.stopSignal.signal);
    }
    firstRoundDone();
  }

  private async leaseRound(): Promise<void> {
    await this.renewAll();
    if (this.stopping) return;
    const now = Date.now();
    if (this.shards.length === 0 || now - this.shardsListedAt >= this.shardRefreshMs) {
      this.shards = await this.listShards();
      this.shardsListedAt = now;
    }
    const leases = await this.leases.read(this.shards.map((s) => s.ShardId as string));
    const eligible = eligibleShards(this.shards, leases);
    const readAt = Date.now();
    const live = liveWorkers(eligible, leases, this.workerId, readAt);
    const held = (shardId: string) => this.holdings.get(shardId)?.owned === true;
    const mine = () => eligible.filter(held).length;
    const share = shareOf(eligible.length, live.size);

    // Our own leases from a previous run of this worker id: ours at once, whatever their expiry.
    for (const shardId of leftBehind(eligible, leases, this.workerId, held)) {
      if (this.stopping) return;
      if (!held(shardId)) await this.take(shardId, leases.get(shardId));
    }
    // Free leases (never taken, released, or expired), up to our share.
    let tookFree = false;
    for (const shardId of shuffle(freeShards(eligible, leases, held, readAt))) {
      if (this.stopping || mine() >= share.max) break;
      if (await this.take(shardId, leases.get(shardId))) tookFree = true;
    }
    // Balance: below our minimum share and nothing free, take one lease of the busiest worker above its share.
    if (!tookFree && !this.stopping && mine() < share.min) {
      const steal = leaseToSteal(live, this.workerId, mine());
      if (steal) {
        this.logger?.info(steal, 'taking a lease to balance shards');
        await this.take(steal.shardId, leases.get(steal.shardId));
      }
    }
  }

  private async listShards(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.kinesis.send(
        new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: this.streamName }),
      );
      shards.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return shards.filter((s) => s.ShardId);
  }

  /** Takes a lease we read as free (or ours) and starts reading its shard; false when someone else changed it first. */
  private async take(shardId: string, observed: LeaseItem | undefined): Promise<boolean> {
    const startedAt = Date.now();
    const item = await this.leases.take(shardId, observed, startedAt);
    if (!item) return false;
    if (this.stopping) {
      // Stopped while taking: give it straight back.
      await this.leases.release(shardId).catch(() => undefined);
      return false;
    }
    const holding: Holding = {
      shardId,
      owned: true,
      validUntil: startedAt + this.leaseDurationMs,
      checkpoint: item.checkpoint,
      wake: new AbortController(),
    };
    const previous = this.holdings.get(shardId)?.loop;
    this.holdings.set(shardId, holding);
    this.counters.shard(shardId).checkpoint = item.checkpoint;
    this.counters.totals.leasesTaken++;
    this.logger?.info({ shardId, checkpoint: item.checkpoint, previousOwner: observed?.owner }, 'lease taken');
    // A previous holding's loop (lease lost while its handler ran) finishes first: one loop per shard.
    const reader = new ShardReader(this.readerHost(), holding);
    holding.loop = (previous ?? Promise.resolve()).then(() => reader.run());
    return true;
  }

  private readerHost(): ReaderHost {
    return {
      kinesis: this.kinesis,
      streamName: this.streamName,
      handler: this.handler,
      settings: this.settings,
      leases: this.leases,
      counters: this.counters,
      logger: this.logger,
      stopSignal: () => this.stopSignal.signal,
      isActive: () => this.isActive(),
      stopping: () => this.stopping,
      crashed: () => this.crashed,
      lose: (holding, why) => this.lose(holding, why),
      release: (holding) => this.release(holding),
    };
  }

  private async renewAll(): Promise<void> {
    const owned = [...this.holdings.values()].filter((h) => h.owned);
    await Promise.all(
      owned.map(async (holding) => {
        const startedAt = Date.now();
        try {
          if (!(await this.leases.renew(holding.shardId, startedAt))) this.lose(holding, 'renewal refused');
          else if (!this.crashed) holding.validUntil = startedAt + this.leaseDurationMs;
        } catch (error) {
          this.logger?.warn({ err: error, shardId: holding.shardId }, 'lease renewal failed; will retry');
        }
      }),
    );
  }

  private lose(holding: Holding, why: string): void {
    if (!holding.owned) return;
    holding.owned = false;
    holding.wake.abort();
    this.counters.totals.leasesLost++;
    this.logger?.warn({ shardId: holding.shardId, why }, 'lease lost; shard dropped');
  }

  private async release(holding: Holding): Promise<void> {
    holding.owned = false;
    await this.leases.release(holding.shardId);
  }
}
