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
 */
import { BatchGetItemCommand, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { CheckpointPipeline } from './checkpoint-pipeline.js';
import { backoffDelay, errorName, sleep } from './retry.js';

export const SHARD_END = 'SHARD_END';

/** One record as the handler sees it. */
export interface ConsumedRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Buffer;
  readonly approximateArrivalTimestamp?: Date;
  /** `data` parsed as JSON (throws SyntaxError when it is not JSON). */
  json<T = unknown>(): T;
}

export type RecordHandler = (records: ConsumedRecord[], shardId: string) => Promise<void>;

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

/** Counts are of checkpointed batches. */
export interface ShardMetrics {
  readonly owned: boolean;
  readonly checkpoint?: string;
  /** As reported by the last GetRecords (kinesalite reports 0 until the shard is closed). */
  readonly millisBehindLatest?: number;
  /** Age of the newest record of the last batch when it was read, ms. */
  readonly lastRecordAgeMs?: number;
  readonly recordsIn: number;
  readonly batches: number;
  readonly lastBatchAt?: string;
}

export interface ConsumerMetrics {
  readonly streamName: string;
  readonly workerId: string;
  readonly running: boolean;
  readonly active: boolean;
  readonly recordsIn: number;
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

interface LeaseItem {
  readonly leaseKey: string;
  readonly owner?: string;
  readonly leaseExpiresAt?: number;
  readonly checkpoint?: string;
  readonly counter?: number;
}

/** One holding of one shard's lease: a new object each time the lease is taken. */
interface Holding {
  readonly shardId: string;
  owned: boolean;
  /** Until when this worker may act on the lease (its clock), refreshed by each renewal. */
  validUntil: number;
  checkpoint?: string;
  /** Aborted when the lease is lost or the consumer stops: wakes every sleep of the shard loop. */
  readonly wake: AbortController;
  loop?: Promise<void>;
}

/** A batch the handler finished, waiting for its checkpoint. */
interface HandledBatch {
  readonly records: readonly ConsumedRecord[];
  readonly readAt: number;
  readonly handledAt: number;
}

interface MutableShardMetrics {
  checkpoint?: string;
  millisBehindLatest?: number;
  lastRecordAgeMs?: number;
  recordsIn: number;
  batches: number;
  lastBatchAt?: string;
}

const N = { owner: '#owner', exp: '#exp', counter: '#counter', checkpoint: '#checkpoint' };
const LEASE_NAMES = { '#owner': 'owner', '#exp': 'leaseExpiresAt', '#counter': 'counter' };

function isConditionFailure(error: unknown): boolean {
  return errorName(error) === 'ConditionalCheckFailedException';
}

function toConsumedRecord(record: {
  SequenceNumber?: string;
  PartitionKey?: string;
  Data?: Uint8Array;
  ApproximateArrivalTimestamp?: Date;
}): ConsumedRecord {
  const bytes = record.Data ?? new Uint8Array();
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    sequenceNumber: record.SequenceNumber ?? '',
    partitionKey: record.PartitionKey ?? '',
    data,
    approximateArrivalTimestamp: record.ApproximateArrivalTimestamp,
    json<T>() {
      return JSON.parse(data.toString('utf8')) as T;
    },
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

export class StreamConsumer {
  private readonly kinesis: KinesisClient;
  private readonly dynamo: DynamoDBClient;
  private readonly leaseTable: string;
  readonly streamName: string;
  readonly workerId: string;
  private readonly handler: RecordHandler;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxIdleMs: number;
  private readonly dormantAfterMs: number;
  private readonly dormantPollMs: number;
  private readonly minReadIntervalMs: number;
  private readonly checkpointIntervalMs: number;
  private readonly leaseDurationMs: number;
  private readonly shardRefreshMs: number;
  private readonly isActive: () => boolean;
  private readonly logger?: Logger;

  private running = false;
  private stopping = false;
  /** Set by crash(): no further lease or checkpoint writes at all. */
  private crashed = false;
  private stopSignal = new AbortController();
  private coordinator?: Promise<void>;
  private shards: Shard[] = [];
  private shardsListedAt = 0;
  private readonly holdings = new Map<string, Holding>();
  private readonly shardMetrics = new Map<string, MutableShardMetrics>();
  private totals = {
    recordsIn: 0,
    batches: 0,
    handlerErrors: 0,
    reads: 0,
    emptyReads: 0,
    leasesTaken: 0,
    leasesLost: 0,
  };
  private readonly recordMs = { inStream: 0, handling: 0, checkpointing: 0 };

  constructor(opts: StreamConsumerOptions) {
    this.kinesis = opts.kinesis;
    this.dynamo = opts.dynamo;
    this.leaseTable = opts.leaseTable;
    this.streamName = opts.streamName;
    this.workerId = opts.workerId;
    this.handler = opts.handler;
    this.batchSize = Math.max(1, Math.min(10_000, opts.batchSize ?? 500));
    this.pollIntervalMs = Math.max(1, opts.pollIntervalMs ?? 100);
    this.maxIdleMs = Math.max(this.pollIntervalMs, opts.maxIdleMs ?? 500);
    this.dormantAfterMs = Math.max(0, opts.dormantAfterMs ?? 10_000);
    this.dormantPollMs = Math.max(this.maxIdleMs, opts.dormantPollMs ?? 1_000);
    this.minReadIntervalMs = Math.max(0, opts.minReadIntervalMs ?? 0);
    this.checkpointIntervalMs = Math.max(0, opts.checkpointIntervalMs ?? 0);
    this.leaseDurationMs = Math.max(300, opts.leaseDurationMs ?? 10_000);
    this.shardRefreshMs = opts.shardRefreshMs ?? 30_000;
    this.isActive = opts.isActive ?? (() => true);
    this.logger = opts.logger?.child({ stream: opts.streamName, workerId: opts.workerId });
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
    const shards: Record<string, ShardMetrics> = {};
    for (const [shardId, m] of this.shardMetrics) shards[shardId] = { owned: owned.includes(shardId), ...m };
    return {
      streamName: this.streamName,
      workerId: this.workerId,
      running: this.running,
      active: this.isActive(),
      ...this.totals,
      recordMs: { ...this.recordMs },
      shardsOwned: owned.sort(),
      shards,
    };
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
    const leases = await this.readLeases(this.shards.map((s) => s.ShardId as string));
    const ids = new Set(this.shards.map((s) => s.ShardId as string));
    const finished = (shardId: string) => leases.get(shardId)?.checkpoint === SHARD_END;
    const eligible = this.shards
      .filter((s) => !finished(s.ShardId as string))
      .filter((s) => [s.ParentShardId, s.AdjacentParentShardId].every((p) => !p || !ids.has(p) || finished(p)))
      .map((s) => s.ShardId as string);

    const readAt = Date.now();
    const live = new Map<string, string[]>([[this.workerId, []]]);
    for (const shardId of eligible) {
      const lease = leases.get(shardId);
      if (lease?.owner && (lease.leaseExpiresAt ?? 0) > readAt && lease.owner !== this.workerId) {
        live.set(lease.owner, [...(live.get(lease.owner) ?? []), shardId]);
      }
    }
    const mine = () => eligible.filter((id) => this.holdings.get(id)?.owned).length;
    const maxShare = Math.ceil(eligible.length / live.size);
    const minShare = Math.floor(eligible.length / live.size);

    // Our own leases from a previous run of this worker id: ours at once, whatever their expiry.
    for (const shardId of eligible) {
      const lease = leases.get(shardId);
      if (this.stopping) return;
      if (lease?.owner === this.workerId && !this.holdings.get(shardId)?.owned) await this.take(shardId, lease);
    }
    // Free leases (never taken, released, or expired), up to our share.
    const free = shuffle(
      eligible.filter((shardId) => {
        if (this.holdings.get(shardId)?.owned) return false;
        const lease = leases.get(shardId);
        return !lease || !lease.owner || (lease.leaseExpiresAt ?? 0) <= readAt;
      }),
    );
    let tookFree = false;
    for (const shardId of free) {
      if (this.stopping || mine() >= maxShare) break;
      if (await this.take(shardId, leases.get(shardId))) tookFree = true;
    }
    // Balance: below our minimum share and nothing free, take one lease of the busiest worker above its share.
    if (!tookFree && !this.stopping && mine() < minShare) {
      const [victim, theirs] =
        [...live].filter(([owner]) => owner !== this.workerId).sort((a, b) => b[1].length - a[1].length)[0] ?? [];
      if (victim && theirs && theirs.length > mine() + 1) {
        const shardId = theirs[Math.floor(Math.random() * theirs.length)];
        this.logger?.info({ shardId, from: victim }, 'taking a lease to balance shards');
        await this.take(shardId, leases.get(shardId));
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

  private leaseKey(shardId: string): string {
    return `${this.streamName}|${shardId}`;
  }

  private async readLeases(shardIds: readonly string[]): Promise<Map<string, LeaseItem>> {
    const found = new Map<string, LeaseItem>();
    for (let i = 0; i < shardIds.length; i += 100) {
      let keys: Record<string, { S: string }>[] | undefined = shardIds
        .slice(i, i + 100)
        .map((id) => ({ leaseKey: { S: this.leaseKey(id) } }));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 0) await sleep(backoffDelay(attempt - 1));
        if (attempt > 10) throw new Error(`could not read ${keys.length} leases of ${this.streamName}`);
        const answer = await this.dynamo.send(
          new BatchGetItemCommand({ RequestItems: { [this.leaseTable]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const raw of answer.Responses?.[this.leaseTable] ?? []) {
          const item = unmarshall(raw) as LeaseItem;
          found.set(item.leaseKey.slice(this.streamName.length + 1), item);
        }
        keys = answer.UnprocessedKeys?.[this.leaseTable]?.Keys as typeof keys;
      }
    }
    return found;
  }

  /** Takes a lease we read as free (or ours); false when someone else changed it first. */
  private async take(shardId: string, observed: LeaseItem | undefined): Promise<boolean> {
    const startedAt = Date.now();
    try {
      const answer = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.leaseTable,
          Key: { leaseKey: { S: this.leaseKey(shardId) } },
          UpdateExpression:
            `SET ${N.owner} = :me, ${N.exp} = :exp, streamName = :stream, shardId = :shard, ` +
            `${N.counter} = if_not_exists(${N.counter}, :zero) + :one`,
          ConditionExpression:
            observed?.counter !== undefined ? `${N.counter} = :observed` : 'attribute_not_exists(leaseKey)',
          ExpressionAttributeNames: LEASE_NAMES,
          ExpressionAttributeValues: {
            ':me': { S: this.workerId },
            ':exp': { N: String(startedAt + this.leaseDurationMs) },
            ':stream': { S: this.streamName },
            ':shard': { S: shardId },
            ':zero': { N: '0' },
            ':one': { N: '1' },
            ...(observed?.counter !== undefined ? { ':observed': { N: String(observed.counter) } } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = unmarshall(answer.Attributes ?? {}) as LeaseItem;
      if (this.stopping) {
        // Stopped while taking: give it straight back.
        await this.releaseKey(shardId).catch(() => undefined);
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
      this.metricsOf(shardId).checkpoint = item.checkpoint;
      this.totals.leasesTaken++;
      this.logger?.info({ shardId, checkpoint: item.checkpoint, previousOwner: observed?.owner }, 'lease taken');
      // A previous holding's loop (lease lost while its handler ran) finishes first: one loop per shard.
      holding.loop = (previous ?? Promise.resolve()).then(() => this.readShard(holding));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async renewAll(): Promise<void> {
    const owned = [...this.holdings.values()].filter((h) => h.owned);
    await Promise.all(
      owned.map(async (holding) => {
        const startedAt = Date.now();
        try {
          await this.dynamo.send(
            new UpdateItemCommand({
              TableName: this.leaseTable,
              Key: { leaseKey: { S: this.leaseKey(holding.shardId) } },
              UpdateExpression: `SET ${N.exp} = :exp, ${N.counter} = ${N.counter} + :one`,
              ConditionExpression: `${N.owner} = :me`,
              ExpressionAttributeNames: LEASE_NAMES,
              ExpressionAttributeValues: {
                ':me': { S: this.workerId },
                ':exp': { N: String(startedAt + this.leaseDurationMs) },
                ':one': { N: '1' },
              },
            }),
          );
          if (!this.crashed) holding.validUntil = startedAt + this.leaseDurationMs;
        } catch (error) {
          if (isConditionFailure(error)) this.lose(holding, 'renewal refused');
          else this.logger?.warn({ err: error, shardId: holding.shardId }, 'lease renewal failed; will retry');
        }
      }),
    );
  }

  private lose(holding: Holding, why: string): void {
    if (!holding.owned) return;
    holding.owned = false;
    holding.wake.abort();
    this.totals.leasesLost++;
    this.logger?.warn({ shardId: holding.shardId, why }, 'lease lost; shard dropped');
  }

  private async release(holding: Holding): Promise<void> {
    holding.owned = false;
    await this.releaseKey(holding.shardId);
  }

  private async releaseKey(shardId: string): Promise<void> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.leaseTable,
          Key: { leaseKey: { S: this.leaseKey(shardId) } },
          UpdateExpression: `REMOVE ${N.owner} SET ${N.exp} = :zero, ${N.counter} = ${N.counter} + :one`,
          ConditionExpression: `${N.owner} = :me`,
          ExpressionAttributeNames: LEASE_NAMES,
          ExpressionAttributeValues: { ':me': { S: this.workerId }, ':zero': { N: '0' }, ':one': { N: '1' } },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Whether this holding may still act: owned, not stopped by a crash, and within its lease time. */
  private holds(holding: Holding): boolean {
    return holding.owned && !this.crashed && Date.now() < holding.validUntil;
  }

  // ---- reading one shard ----

  private metricsOf(shardId: string): MutableShardMetrics {
    let m = this.shardMetrics.get(shardId);
    if (!m) {
      m = { recordsIn: 0, batches: 0 };
      this.shardMetrics.set(shardId, m);
    }
    return m;
  }

  private async readShard(holding: Holding): Promise<void> {
    const { shardId } = holding;
    const signal = AbortSignal.any([holding.wake.signal, this.stopSignal.signal]);
    const metrics = this.metricsOf(shardId);
    let iterator: string | undefined;
    let idle = 0;
    let failures = 0;
    let lastReadAt = 0;
    let lastRecordsAt = Date.now();
    const pause = async (ms: number) => sleep(ms, signal);
    const checkpoints = new CheckpointPipeline<HandledBatch>(
      (sequenceNumber) => this.checkpoint(holding, sequenceNumber),
      (batches) => batches.forEach((batch) => this.count(metrics, batch)),
      this.checkpointIntervalMs,
    );

    while (holding.owned && !this.stopping) {
      if (checkpoints.failure) {
        // A checkpoint write failed or found the lease gone: read again from the last one written (at-least-once).
        if ((await checkpoints.settle()) === 'lost') break;
        iterator = undefined;
      }
      if (!this.isActive()) {
        // Parked with every handled batch checkpointed, so a drain check sees where this stage really is.
        await checkpoints.settle();
        iterator = undefined;
        // Activation follows a routing control polled about once a second: checking more often gains nothing.
        await pause(this.maxIdleMs);
        lastRecordsAt = Date.now();
        continue;
      }
      if (!this.holds(holding)) {
        // Renewals are late (DynamoDB slow or away): read nothing until the lease is confirmed or lost.
        await pause(this.pollIntervalMs);
        continue;
      }
      let batch;
      try {
        if (!iterator) {
          // From the newest checkpoint: never behind one still being written.
          if ((await checkpoints.settle()) === 'lost') break;
          iterator = await this.iteratorFrom(shardId, holding.checkpoint);
        }
        const wait = lastReadAt + this.minReadIntervalMs - Date.now();
        if (wait > 0) await pause(wait);
        lastReadAt = Date.now();
        batch = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: this.batchSize }));
        failures = 0;
      } catch (error) {
        const name = errorName(error);
        if (name === 'ExpiredIteratorException') {
          this.logger?.info({ shardId }, 'shard iterator expired; reading again from the checkpoint');
          iterator = undefined;
          continue;
        }
        if (name === 'InvalidArgumentException' || name === 'ResourceNotFoundException') iterator = undefined;
        const level = name === 'ProvisionedThroughputExceededException' ? 'debug' : 'warn';
        this.logger?.[level]({ err: error, shardId, failures }, 'reading the shard failed; retrying');
        await pause(backoffDelay(failures++, { baseMs: 100, maxMs: 5000 }));
        continue;
      }
      const readAt = Date.now();
      this.totals.reads++;
      metrics.millisBehindLatest = batch.MillisBehindLatest;
      const records = (batch.Records ?? []).map(toConsumedRecord);
      const next = batch.NextShardIterator;
      if (records.length === 0) {
        this.totals.emptyReads++;
        if (!next) {
          if ((await checkpoints.settle()) !== 'written') {
            iterator = undefined;
            continue;
          }
          await this.checkpoint(holding, SHARD_END);
          this.logger?.info({ shardId }, 'shard closed and fully read');
          if (holding.owned && !this.crashed) await this.release(holding).catch(() => undefined);
          holding.owned = false;
          return;
        }
        iterator = next;
        const dormant = Date.now() - lastRecordsAt >= this.dormantAfterMs;
        await pause(
          dormant ? this.dormantPollMs : Math.min(this.maxIdleMs, this.pollIntervalMs * 2 ** Math.min(idle++, 10)),
        );
        continue;
      }
      idle = 0;
      lastRecordsAt = Date.now();

      const delivered = await this.deliver(holding, records);
      const handledAt = Date.now();
      if (!delivered) {
        // Lost the lease, stopped, crashed or deactivated mid-retry: nothing is checkpointed.
        iterator = undefined;
        continue;
      }
      checkpoints.add(records[records.length - 1].sequenceNumber, { records, readAt, handledAt });
      // Without a next iterator the shard ended with this batch: reading again from its checkpoint finds SHARD_END.
      iterator = next;
    }
    // Finish the checkpoints in hand before the lease is released (stop) or passed on.
    await checkpoints.settle();
  }

  /** Counts a batch once its checkpoint is written: a batch read again after a lost lease or failed write counts once. */
  private count(metrics: MutableShardMetrics, { records, readAt, handledAt }: HandledBatch): void {
    const now = Date.now();
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

  private async iteratorFrom(shardId: string, checkpoint: string | undefined): Promise<string> {
    const answer = await this.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.streamName,
        ShardId: shardId,
        ...(checkpoint && checkpoint !== SHARD_END
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: checkpoint }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    if (!answer.ShardIterator) throw new Error(`no shard iterator for ${this.streamName}/${shardId}`);
    return answer.ShardIterator;
  }

  /** Hands the batch to the handler until it resolves; false when the batch must be dropped unacknowledged. */
  private async deliver(holding: Holding, records: ConsumedRecord[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (!this.holds(holding) || this.stopping || !this.isActive()) return false;
      try {
        await this.handler(records, holding.shardId);
        return true;
      } catch (error) {
        this.totals.handlerErrors++;
        const delay = backoffDelay(attempt, { baseMs: 100, maxMs: 5000 });
        this.logger?.error(
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
        await sleep(delay, AbortSignal.any([holding.wake.signal, this.stopSignal.signal]));
      }
    }
  }

  /** Records progress, only while this worker still owns the lease (checked here and by the write's condition). */
  private async checkpoint(holding: Holding, sequenceNumber: string): Promise<'written' | 'lost' | 'failed'> {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!this.holds(holding)) {
        if (holding.owned && !this.crashed) {
          // Not confirmed recently: never write progress on a lease that may have passed to another worker.
          return 'failed';
        }
        return 'lost';
      }
      try {
        await this.dynamo.send(
          new UpdateItemCommand({
            TableName: this.leaseTable,
            Key: { leaseKey: { S: this.leaseKey(holding.shardId) } },
            UpdateExpression: `SET ${N.checkpoint} = :seq, ${N.counter} = ${N.counter} + :one`,
            ConditionExpression: `${N.owner} = :me`,
            ExpressionAttributeNames: { '#owner': 'owner', '#counter': 'counter', '#checkpoint': 'checkpoint' },
            ExpressionAttributeValues: {
              ':seq': { S: sequenceNumber },
              ':me': { S: this.workerId },
              ':one': { N: '1' },
            },
          }),
        );
        holding.checkpoint = sequenceNumber;
        this.metricsOf(holding.shardId).checkpoint = sequenceNumber;
        return 'written';
      } catch (error) {
        if (isConditionFailure(error)) {
          this.lose(holding, 'checkpoint refused');
          return 'lost';
        }
        this.logger?.warn({ err: error, shardId: holding.shardId, attempt: attempt + 1 }, 'checkpoint failed');
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 2000 }), this.stopSignal.signal);
      }
    }
    return 'failed';
  }
}
