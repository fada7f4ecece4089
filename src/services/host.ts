import pg from 'pg';
import type { Logger } from 'pino';
import { APPS, STAGES, type AppName, type StageName } from '../config/apps.js';
import { deriveNames, streamName, safeStoreTable, type ResourceNames } from '../config/model.js';
import { dynamoClient, kinesisClient } from '../clients/aws-clients.js';
import type { RoutingControls } from '../clients/types.js';
import {
  type ConsumedRecord,
  RegionGate,
  routingControlsFor,
  SafeStore,
  type ServiceConfig,
  ServiceMetrics,
  serviceLogger,
  startMetricsServer,
  StreamConsumer,
  StreamProducer,
} from './runtime/index.js';
import { reject } from '../domain/validation.js';
import { rejectionRecord } from './pipeline/gateway.js';
import type { PipelineRecord } from './pipeline/records.js';
import { item, type StageCounters, type StageIO } from './pipeline/stage-io.js';
import { heapSpaces, startHeapCollector } from '../clients/heap-collector.js';

/** A running service: stop() finishes the work in hand and releases what it holds. */
export interface RunningService {
  /** The port its metrics/status server bound (with TSR_METRICS_PORT=0, the one the kernel gave it). */
  readonly metricsPort?: number;
  stop(): Promise<void>;
}

/** Everything a stage needs, built once per process from its configuration. */
export interface ServiceContext {
  readonly config: ServiceConfig;
  readonly app: AppName;
  readonly stage: StageName;
  readonly names: ResourceNames;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly controls: RoutingControls & { close(): Promise<void> };
  readonly io: StageIO;
  readonly kinesis: ReturnType<typeof kinesisClient>;
  readonly dynamo: ReturnType<typeof dynamoClient>;
  /** Resources to release on stop, in reverse order. */
  readonly closers: (() => Promise<unknown> | void)[];
  readonly metricsPort: number;
}

/** Stage counters that live in the metrics registry, so `tsr status` reads exactly what the stage counted. */
function metricsCounters(metrics: ServiceMetrics): StageCounters {
  const counters = {} as StageCounters;
  for (const name of ['in', 'out', 'rejected', 'duplicates', 'errors'] as const) {
    Object.defineProperty(counters, name, {
      enumerable: true,
      get: () => metrics.count(name),
      set: (value: number) => metrics.inc(name, value - metrics.count(name)),
    });
  }
  return counters;
}

export function resourceNames(config: ServiceConfig): ResourceNames {
  return deriveNames({
    environment: config.environment,
    regions: config.regions,
    apps: [...APPS],
    aws: { shardsPerStream: 1, tasksPerService: 1, auroraInstanceClass: '-', brokerInstanceType: '-' },
  });
}

export async function createContext(config: ServiceConfig): Promise<ServiceContext> {
  const app = config.app as AppName;
  const stage = config.stage as StageName;
  const names = resourceNames(config);
  const logger = serviceLogger(config);
  const metrics = new ServiceMetrics({
    service: config.service,
    app,
    stage,
    region: config.region,
    workerId: config.workerId,
  });
  const kinesis = kinesisClient({ region: config.region, endpoint: config.kinesisEndpoint });
  const dynamo = dynamoClient({ region: config.region, endpoint: config.dynamodbEndpoint });
  const controls = routingControlsFor(config, names);
  const store = new SafeStore(dynamo, safeStoreTable(config.environment, app, stage), { logger });
  const next = STAGES[STAGES.indexOf(stage) + 1];
  const producer = next
    ? new StreamProducer(kinesis, streamName(config.environment, app, next), { logger })
    : undefined;
  const io: StageIO = {
    app,
    stage,
    region: config.region,
    counters: metricsCounters(metrics),
    putAll: (items) => store.putAll(items),
    forward: async (records) => {
      if (!producer) throw new Error(`${stage} is the last stage: it publishes, it does not forward`);
      await producer.put(records.map((record) => ({ partitionKey: record.partitionKey, data: record })));
    },
  };
  const closers: ServiceContext['closers'] = [() => kinesis.destroy(), () => dynamo.destroy(), () => controls.close()];
  closers.push(
    startHeapCollector({
      workDone: () => metrics.count('in'),
      onCollected: (reason) => metrics.inc(reason === 'idle' ? 'idleCollections' : 'growthCollections'),
    }),
  );
  // The process's own view of its memory (V8 heap, buffers, resident): tells a growing heap from native growth, and
  // per V8 space what is in use and what its pages hold: tells live growth from garbage, code and fragmentation.
  metrics.source('memory', () => ({ ...process.memoryUsage(), spaces: heapSpaces() }));
  const server = await startMetricsServer(metrics, { port: config.metricsPort ?? 0 });
  closers.push(() => server.close());
  return {
    config,
    app,
    stage,
    names,
    logger,
    metrics,
    controls,
    io,
    kinesis,
    dynamo,
    closers,
    metricsPort: server.port,
  };
}

export async function closeContext(context: ServiceContext): Promise<void> {
  for (const close of context.closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
}

const RECORD_KINDS = new Set([
  'trade',
  'settlement-result',
  'trade-status',
  'settlement-instruction',
  'settlement-status',
  'rejection',
]);

function isPipelineRecord(value: unknown): value is PipelineRecord {
  const r = value as PipelineRecord;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.id === 'string' &&
    r.id.length > 0 &&
    RECORD_KINDS.has(r.kind) &&
    typeof r.partitionKey === 'string' &&
    typeof r.acceptedAt === 'number' &&
    typeof r.body === 'object' &&
    r.body !== null
  );
}

/**
 * Decodes a batch from the stream. A record that is not a pipeline record (someone else wrote to our stream) must
 * neither block the shard nor vanish: it is kept in this stage's safe store as REJECTED, with its raw text.
 */
export async function decodeRecords(context: ServiceContext, records: ConsumedRecord[]): Promise<PipelineRecord[]> {
  const decoded: PipelineRecord[] = [];
  const rejected: PipelineRecord[] = [];
  for (const record of records) {
    let value: unknown;
    try {
      value = record.json();
    } catch {
      value = undefined;
    }
    if (isPipelineRecord(value)) {
      decoded.push(value);
      continue;
    }
    const raw = record.data.toString('utf8');
    const reason =
      value === undefined
        ? 'stream record is not JSON'
        : 'stream record is not a pipeline record (id, kind, partitionKey, acceptedAt, body)';
    rejected.push(rejectionRecord(reject(raw, `${context.app}/${context.stage}`, reason)));
    context.logger.error(
      { sequenceNumber: record.sequenceNumber, reason },
      'foreign record on the stream: kept as REJECTED',
    );
  }
  if (rejected.length) {
    await context.io.putAll(rejected.map((r) => item(context.io, r, 'created', false, 'REJECTED')));
    context.io.counters.rejected += rejected.length;
  }
  return decoded;
}

/**
 * Runs a stream-fed stage: a consumer on the stage's own stream whose handler is `handle`; the batch is
 * checkpointed only after `handle` resolved. `isActive` pauses reading (records wait in the stream).
 */
export async function runStreamStage(
  context: ServiceContext,
  handle: (records: PipelineRecord[]) => Promise<void>,
  isActive?: () => boolean,
): Promise<RunningService> {
  const { config, names } = context;
  const leases = names.tables.find((t) => t.purpose === 'leases')?.name as string;
  const consumer = new StreamConsumer({
    kinesis: context.kinesis,
    dynamo: context.dynamo,
    leaseTable: leases,
    streamName: streamName(config.environment, context.app, context.stage),
    workerId: config.workerId,
    handler: async (records) => {
      try {
        await handle(await decodeRecords(context, records));
      } catch (error) {
        context.io.counters.errors++;
        throw error;
      }
    },
    isActive,
    logger: context.logger,
    // Locally reads are cheap: poll a quiet shard often for low latency (shards empty for 10 s drop to one read a
    // second, so a standby region costs little). Kinesis allows 5 reads/s per shard.
    ...(config.kinesisEndpoint ? { pollIntervalMs: 20, maxIdleMs: 100 } : { minReadIntervalMs: 200 }),
    // Fewer lease-table writes (on the local platform the checkpoints were half of DynamoDB's write calls) for at
    // most half a second of records delivered again after a crash; every stage is idempotent.
    checkpointIntervalMs: 500,
  });
  context.metrics.source('consumer', () => consumer.metrics());
  context.metrics.gauge('lagMs', () =>
    Math.max(0, ...Object.values(consumer.metrics().shards).map((s) => s.lastRecordAgeMs ?? 0)),
  );
  await consumer.start();
  return {
    stop: async () => {
      await consumer.stop();
      await closeContext(context);
    },
  };
}

/** A routing-control gate for this service, started and registered for metrics and shutdown. */
export async function startGate(context: ServiceContext, control: string): Promise<RegionGate> {
  const gate = new RegionGate({ controls: context.controls, control, logger: context.logger });
  await gate.start();
  context.metrics.source('gate', () => ({ control, ...gate.state() }));
  context.closers.push(() => gate.stop());
  return gate;
}

/** A pg pool to this region's core database. */
export function corePool(context: ServiceContext): pg.Pool {
  const { postgres } = context.config;
  if (!postgres) throw new Error('core needs TSR_PG_HOST, TSR_PG_PORT, TSR_PG_USER and a password');
  const pool = new pg.Pool({ ...postgres, database: context.names.databases[context.app], max: 10 });
  pool.on('error', (error) => context.logger.warn({ err: error.message }, 'idle database connection failed'));
  context.closers.push(() => pool.end());
  return pool;
}
