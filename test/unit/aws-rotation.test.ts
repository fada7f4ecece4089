/**
 * The built-in rotate and failover runbooks, run by the runbook engine against AwsPlatform with every AWS SDK client
 * mocked (aws-sdk-client-mock): nothing of tsr is faked. The mocks keep a small consistent world — routing control
 * states, the global database's writer, metrics, streams, safe stores — and record every call, so each step's AWS
 * call sequence can be asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import {
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
  type AttributeValue,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeServicesCommand, type DescribeServicesCommandInput, ECSClient } from '@aws-sdk/client-ecs';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  type PutRecordsCommandInput,
} from '@aws-sdk/client-kinesis';
import {
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  RDSClient,
  SwitchoverGlobalClusterCommand,
  type SwitchoverGlobalClusterCommandInput,
} from '@aws-sdk/client-rds';
import {
  GetRoutingControlStateCommand,
  ListRoutingControlsCommand,
  Route53RecoveryClusterClient,
  UpdateRoutingControlStateCommand,
  UpdateRoutingControlStatesCommand,
  type UpdateRoutingControlStatesCommandInput,
} from '@aws-sdk/client-route53-recovery-cluster';
import { mockClient } from 'aws-sdk-client-mock';
import { awsRecord } from '../helpers/aws-record.js';
import { loadConfig } from '../../src/config/load.js';
import { deriveNames } from '../../src/config/model.js';
import { ExitCode } from '../../src/errors.js';
import type { AwsDeploymentRecord } from '../../src/infra/aws/deployment-record.js';
import { AwsPlatform } from '../../src/platform/aws/aws-platform.js';
import { loadRunbookFile, runRunbook, stepRegistry, type RunResult } from '../../src/runbooks/index.js';
import { safeStoreItem, type PipelineRecord } from '../../src/services/pipeline/records.js';
import { SafeStore } from '../../src/services/runtime/safe-store.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const REGIONS = ['us-east-1', 'us-west-2'];
const ACCOUNT = '123456789012';
const PANEL = `arn:aws:route53-recovery-control::${ACCOUNT}:controlpanel/p`;

type Call = { at: number; call: string; detail?: string };
let calls: Call[] = [];
const record = (call: string, detail?: string) => calls.push({ at: Date.now(), call, detail });

const mocks = {
  arc: mockClient(Route53RecoveryClusterClient),
  rds: mockClient(RDSClient),
  ecs: mockClient(ECSClient),
  cloudwatch: mockClient(CloudWatchClient),
  kinesis: mockClient(KinesisClient),
  dynamo: mockClient(DynamoDBClient),
};

let dir: string;
let platform: AwsPlatform;
let controls: Map<string, 'On' | 'Off'>;
let writer: Record<string, string>;

type Item = Record<string, AttributeValue> & { acceptedAt: { N: string } };
/** region → table → id → item; the safe stores are global tables: one copy seen from every region. */
let stores: Map<string, Map<string, Map<string, Item>>>;
function tableOf(region: string, table: string): Map<string, Item> {
  const where = /^test-(tm|st)-/.test(table) ? 'global' : region;
  let byTable = stores.get(where);
  if (!byTable) stores.set(where, (byTable = new Map()));
  let items = byTable.get(table);
  if (!items) byTable.set(table, (items = new Map()));
  return items;
}
/** What the run changed: routing control batches, writer moves, stream puts and safe-store writes; metrics read. */
let updates: string[];
let moves: (SwitchoverGlobalClusterCommandInput & { AllowDataLoss?: boolean })[];
let puts: string[];
let writes: string[];
let metrics: Set<string>;
/** Regions whose every API call fails as in a regional outage (ARC's cluster endpoints stay up elsewhere). */
let lost: Set<string>;
const outage = (region: string) => {
  if (lost.has(region))
    throw Object.assign(new Error(`connect ETIMEDOUT (${region})`), { name: 'TimeoutError', $metadata: {} });
};
/** The client a mocked command was sent with (aws-sdk-client-mock hands it to the fake): its region. */
type Regional = () => { config: { region: () => Promise<string> } };

/**
 * What trade's stages store for a trade side that reached its ingestion stream: ingestion keeps it, core accepts it
 * (MATCHED: the canary's two sides match) and creates its status record, egress and the outbound gateway pass that
 * on, the gateway publishes it to senders (forwarded).
 */
function tradePipeline(region: string, side: PipelineRecord): void {
  // (The real egress would also create the pair's settlement instructions; settlement is not part of this drill.)
  const put = (
    stage: string,
    record: PipelineRecord,
    origin: 'accepted' | 'created',
    status: string,
    forwarded = true,
  ) =>
    tableOf(region, `test-tm-${stage}`).set(
      record.id,
      SafeStore.toAttributes(safeStoreItem(record, origin, forwarded, status, stage, region)) as Item,
    );
  const matched: PipelineRecord = {
    ...side,
    id: `${side.id}#MATCHED`,
    kind: 'trade-status',
    body: { status: 'MATCHED' },
  };
  put('ingestion', side, 'accepted', 'ACCEPTED');
  put('core', side, 'accepted', 'MATCHED', false); // core forwards the status record, not the side
  put('core', matched, 'created', 'MATCHED');
  put('egress', matched, 'accepted', 'MATCHED');
  put('outbound-gateway', matched, 'accepted', 'MATCHED');
}

const arnOf = (name: string) => `${PANEL}/routingcontrol/${name}`;
const nameOf = (arn: string) => arn.split('/').pop() as string;
const clusterArn = (short: string, region: string) =>
  `arn:aws:rds:${region}:${ACCOUNT}:cluster:tsr-test-${short}-core-${region}`;

function world(): void {
  const config = loadConfig({ environment: 'test', regions: REGIONS, target: 'aws' }, {}, dir);
  const names = deriveNames(config);
  controls = new Map(
    names.routingControls.map((c) => [
      c.name,
      c.region === 'us-east-1' && ['dns', 'queue', 'app'].includes(c.scope) ? 'On' : 'Off',
    ]),
  );
  writer = { tm: 'us-east-1', st: 'us-east-1' };
  stores = new Map();
  lost = new Set();
  updates = [];
  moves = [];
  puts = [];
  writes = [];
  metrics = new Set();
  const deployment = awsRecord(names, REGIONS, PANEL, {
    regional: Object.fromEntries(
      REGIONS.map((r) => [r, { brokerUrls: [`mqtts://b-1.${r}.example:8883`], databaseEndpoints: {} }]),
    ),
  });
  platform = new AwsPlatform(config, { record: deployment, env: {}, writerPollMs: 20 });

  /**
   * Every mocked command goes through here: the call is recorded as `service:Command` (with the client's region in
   * `detail`), and fails like a regional outage when its client's region is lost.
   */
  const on = <I, O>(
    stub: { on: (command: never) => { callsFake: (fake: (input: I, getClient: Regional) => Promise<O>) => unknown } },
    command: unknown,
    name: string,
    fake: (input: I, region: string) => O,
  ) =>
    stub.on(command as never).callsFake(async (input: I, getClient: Regional) => {
      const region = await getClient().config.region();
      record(name, region);
      outage(region);
      return fake(input, region);
    });

  // ---- ARC: the controls as a map; a batch is applied atomically.
  on(mocks.arc, ListRoutingControlsCommand, 'arc:ListRoutingControls', () => ({
    RoutingControls: [...controls].map(([name, state]) => ({
      RoutingControlArn: arnOf(name),
      RoutingControlName: name,
      RoutingControlState: state,
      ControlPanelArn: PANEL,
    })),
  }));
  on(
    mocks.arc,
    GetRoutingControlStateCommand,
    'arc:GetRoutingControlState',
    (input: { RoutingControlArn: string }) => ({
      RoutingControlArn: input.RoutingControlArn,
      RoutingControlState: controls.get(nameOf(input.RoutingControlArn)),
      RoutingControlName: nameOf(input.RoutingControlArn),
    }),
  );
  on(
    mocks.arc,
    UpdateRoutingControlStatesCommand,
    'arc:UpdateRoutingControlStates',
    (input: UpdateRoutingControlStatesCommandInput) => {
      const entries = input.UpdateRoutingControlStateEntries ?? [];
      updates.push(entries.map((e) => `${nameOf(e.RoutingControlArn as string)}=${e.RoutingControlState}`).join(' '));
      for (const e of entries)
        controls.set(nameOf(e.RoutingControlArn as string), e.RoutingControlState as 'On' | 'Off');
      return {};
    },
  );
  on(
    mocks.arc,
    UpdateRoutingControlStateCommand,
    'arc:UpdateRoutingControlState',
    (input: { RoutingControlArn: string; RoutingControlState: 'On' | 'Off' }) => {
      updates.push(`${nameOf(input.RoutingControlArn)}=${input.RoutingControlState}`);
      controls.set(nameOf(input.RoutingControlArn), input.RoutingControlState);
      return {};
    },
  );
  // ---- RDS: one global cluster per app; the writer moves when asked.
  on(
    mocks.rds,
    DescribeGlobalClustersCommand,
    'rds:DescribeGlobalClusters',
    (input: { GlobalClusterIdentifier: string }) => {
      const short = input.GlobalClusterIdentifier.includes('-tm-') ? 'tm' : 'st';
      return {
        GlobalClusters: [
          {
            GlobalClusterIdentifier: input.GlobalClusterIdentifier,
            GlobalClusterMembers: REGIONS.map((r) => ({
              DBClusterArn: clusterArn(short, r),
              IsWriter: writer[short] === r,
            })),
          },
        ],
      };
    },
  );
  const move = (input: SwitchoverGlobalClusterCommandInput & { AllowDataLoss?: boolean }) => {
    moves.push({ ...input });
    const arn = input.TargetDbClusterIdentifier as string;
    writer[input.GlobalClusterIdentifier?.includes('-tm-') ? 'tm' : 'st'] = arn.split(':')[3];
    return {};
  };
  on(mocks.rds, SwitchoverGlobalClusterCommand, 'rds:SwitchoverGlobalCluster', move);
  on(mocks.rds, FailoverGlobalClusterCommand, 'rds:FailoverGlobalCluster', move);
  // ---- ECS: every service running as desired.
  on(mocks.ecs, DescribeServicesCommand, 'ecs:DescribeServices', (input: DescribeServicesCommandInput) => ({
    services: (input.services ?? []).map((serviceName) => ({
      serviceName,
      status: 'ACTIVE',
      desiredCount: 1,
      runningCount: 1,
    })),
  }));
  // ---- CloudWatch: fresh datapoints; the broker backlogs empty, replication well within bounds.
  on(mocks.cloudwatch, GetMetricDataCommand, 'cloudwatch:GetMetricData', (input: GetMetricDataCommandInput) => {
    const queries = input.MetricDataQueries ?? [];
    for (const q of queries) metrics.add(q.MetricStat?.Metric?.MetricName as string);
    return {
      MetricDataResults: queries.map((q) => ({
        Id: q.Id,
        Values: [q.MetricStat?.Metric?.MetricName === 'BrokerPending' ? 0 : 40],
        Timestamps: [new Date()],
      })),
    };
  });
  // ---- Kinesis: one shard per stream, nothing after its checkpoint; what reaches trade ingestion is processed.
  on(mocks.kinesis, ListShardsCommand, 'kinesis:ListShards', () => ({
    Shards: [
      {
        ShardId: 'shardId-0',
        HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' },
        SequenceNumberRange: { StartingSequenceNumber: '0' },
      },
    ],
  }));
  on(mocks.kinesis, GetShardIteratorCommand, 'kinesis:GetShardIterator', () => ({ ShardIterator: 'it' }));
  on(mocks.kinesis, GetRecordsCommand, 'kinesis:GetRecords', () => ({
    Records: [],
    MillisBehindLatest: 0,
    NextShardIterator: 'it',
  }));
  on(mocks.kinesis, PutRecordsCommand, 'kinesis:PutRecords', (input: PutRecordsCommandInput, region) => {
    puts.push(`${input.StreamName}@${region}`);
    if (input.StreamName?.includes('-tm-ingestion'))
      for (const r of input.Records ?? [])
        tradePipeline(region, JSON.parse(Buffer.from(r.Data as Uint8Array).toString('utf8')) as PipelineRecord);
    return {
      FailedRecordCount: 0,
      Records: (input.Records ?? []).map((_, i) => ({ SequenceNumber: `${i}`, ShardId: 'shardId-0' })),
    };
  });
  // ---- DynamoDB: the leases table checkpointed; the safe stores hold what tsr and the trade pipeline wrote.
  on(mocks.dynamo, GetItemCommand, 'dynamodb:GetItem', () => ({ Item: { checkpoint: { S: 'seq-1' } } }));
  on(mocks.dynamo, QueryCommand, 'dynamodb:Query', (input: QueryCommandInput, region) => {
    const values = input.ExpressionAttributeValues ?? {};
    const low = Number(values[':low']?.N ?? values[':since']?.N ?? 0);
    const high = Number(values[':high']?.N ?? Number.MAX_SAFE_INTEGER);
    const items = [...tableOf(region, input.TableName as string).values()]
      .filter((item) => item.timeBucket?.S === values[':bucket']?.S)
      .filter((item) => Number(item.acceptedAt.N) >= low && Number(item.acceptedAt.N) <= high)
      .sort((x, y) => Number(x.acceptedAt.N) - Number(y.acceptedAt.N));
    return { Items: input.ScanIndexForward === false ? items.reverse() : items };
  });
  on(mocks.dynamo, ScanCommand, 'dynamodb:Scan', () => ({ Items: [] }));
  on(mocks.dynamo, PutItemCommand, 'dynamodb:PutItem', (input: PutItemCommandInput, region) => {
    writes.push(`${input.TableName}@${region}`);
    const item = input.Item as Item;
    if (item.id?.S) tableOf(region, input.TableName as string).set(item.id.S, item);
    return {};
  });
  on(mocks.dynamo, BatchWriteItemCommand, 'dynamodb:BatchWriteItem', (input: BatchWriteItemCommandInput, region) => {
    for (const [table, requests] of Object.entries(input.RequestItems ?? {})) {
      writes.push(`${table}@${region}`);
      for (const r of requests)
        if (r.PutRequest?.Item) tableOf(region, table).set(r.PutRequest.Item.id.S as string, r.PutRequest.Item as Item);
    }
    return { UnprocessedItems: {} };
  });
  on(mocks.dynamo, BatchGetItemCommand, 'dynamodb:BatchGetItem', (input: BatchGetItemCommandInput, region) => {
    const responses: Record<string, Item[]> = {};
    for (const [table, request] of Object.entries(input.RequestItems ?? {}))
      responses[table] = (request.Keys ?? [])
        .map((k) => tableOf(region, table).get(k.id?.S as string))
        .filter((item): item is Item => item !== undefined);
    return { Responses: responses, UnprocessedKeys: {} };
  });
}

/** The AWS calls made while each step ran (consecutive repeats folded), by step id. */
function callsByStep(result: RunResult): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const step of result.journal.steps) {
    if (!step.startedAt || !step.endedAt) continue;
    const from = Date.parse(step.startedAt);
    const to = Date.parse(step.endedAt);
    const seen = calls.filter((c) => c.at >= from && c.at <= to).map((c) => `${c.call}@${c.detail}`);
    out[step.id] = seen.filter((c, i) => c !== seen[i - 1]);
  }
  return out;
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-aws-rotation-'));
  calls = [];
  for (const m of Object.values(mocks) as { reset(): void }[]) m.reset();
  world();
});
afterEach(async () => {
  if (process.env.DEBUG_CALLS) console.log(calls.map((c) => `${c.call} ${c.detail ?? ''}`).join('\n'));
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => {
  for (const m of Object.values(mocks) as { restore(): void }[]) m.restore();
});

const run = (file: string, params: Record<string, string>) =>
  runRunbook(loadRunbookFile(path.join(ROOT, 'runbooks', file), stepRegistry), params, {
    platform,
    workspace: dir,
    yes: true,
    progress: 'silent',
  });

/** `expected` appears in `actual` in this order (other calls may come between: retries, the engine's own reads). */
function inOrder(actual: readonly string[] = [], expected: readonly string[]): boolean {
  let i = 0;
  for (const call of actual) if (call === expected[i]) i++;
  return i === expected.length;
}

const EAST = 'us-east-1';
const WEST = 'us-west-2';
/** The routing control batches that move trade from us-east-1 to us-west-2, in order (rotation and failover alike). */
const TRADE_MOVED_WEST = [
  'trade-gate=On',
  `trade-dns-${EAST}=Off trade-dns-${WEST}=On`,
  `trade-queue-${WEST}=On`,
  `trade-queue-${EAST}=Off trade-app-${EAST}=Off`,
  `trade-app-${WEST}=On`,
  'trade-gate=Off',
];

test('rotate trade us-east-1 → us-west-2 completes on AWS, each step making the AWS calls it should', async () => {
  const result = await run('rotate.yaml', { app: 'trade', target: WEST, drainTimeout: '30s' });
  const notCompleted = result.journal.steps.filter((s) => s.status !== 'completed');
  expect(notCompleted.map((s) => `${s.id}: ${s.status} ${s.error ?? ''}`)).toEqual([]);
  expect(result.journal.status).toBe('completed');
  const by = callsByStep(result);
  const expectSteps: Record<string, string[]> = {
    // Status of both regions: services, controls, writers, replication lag; then the flow's look at the streams.
    preflight: [`ecs:DescribeServices@${EAST}`, `ecs:DescribeServices@${WEST}`, `arc:ListRoutingControls@${WEST}`],
    'dns-swap': [`arc:ListRoutingControls@${WEST}`, `arc:UpdateRoutingControlStates@${WEST}`],
    // The canary pair accepted as the us-west-2 trade inbound gateway would: its safe store, its ingestion stream.
    'canary-send': [`dynamodb:BatchWriteItem@${WEST}`, `kinesis:PutRecords@${WEST}`],
    // Drained: the gateway's published reading of the us-east-1 broker.
    'source-drained': [`cloudwatch:GetMetricData@${EAST}`],
    // Idle: every shard's checkpoint (leases table) against the stream after it, in us-east-1.
    'streams-idle': [
      `kinesis:ListShards@${EAST}`,
      `dynamodb:GetItem@${EAST}`,
      `kinesis:GetShardIterator@${EAST}`,
      `kinesis:GetRecords@${EAST}`,
    ],
    replicated: [
      `cloudwatch:GetMetricData@${EAST}`,
      `rds:DescribeGlobalClusters@${EAST}`,
      `cloudwatch:GetMetricData@${WEST}`,
    ],
    'source-off': [`arc:UpdateRoutingControlStates@${WEST}`],
    // Asked in the target region, then the writer looked for until it is there.
    'db-switchover': [
      `rds:DescribeGlobalClusters@${WEST}`,
      `rds:SwitchoverGlobalCluster@${WEST}`,
      `rds:DescribeGlobalClusters@${WEST}`,
    ],
    'target-app-on': [`arc:UpdateRoutingControlState@${WEST}`],
    // Confirmed from the trade outbound gateway's safe store in us-west-2 (MATCHED, forwarded to senders).
    canary: [`dynamodb:BatchGetItem@${WEST}`],
    reconcile: [`arc:GetRoutingControlState@${WEST}`, `dynamodb:Query@${WEST}`, `dynamodb:Query@${EAST}`],
    'caught-up': [`dynamodb:BatchWriteItem@${WEST}`, `kinesis:PutRecords@${WEST}`, `dynamodb:BatchGetItem@${WEST}`],
    'observe-window': [`dynamodb:Query@${WEST}`],
    verify: [`dynamodb:Query@${WEST}`],
    'gate-off': [`arc:UpdateRoutingControlState@${WEST}`],
  };
  for (const [step, expected] of Object.entries(expectSteps))
    expect({ step, inOrder: inOrder(by[step], expected), calls: by[step] }).toMatchObject({ step, inOrder: true });
  // Nothing waited on or read the source's database or streams once it was switched off; only the canaries wrote.
  expect(by.canary.every((c) => c.endsWith(`@${WEST}`))).toBe(true);
  expect(writes).toEqual([`test-tm-inbound-gateway@${WEST}`, `test-tm-inbound-gateway@${WEST}`]);
  expect(puts).toEqual([`test-tm-ingestion-in@${WEST}`, `test-tm-ingestion-in@${WEST}`]);
  expect(metrics).toEqual(new Set(['BrokerPending', 'ReplicationLatency', 'AuroraGlobalDBRPOLag']));
  // Every routing control change, in order; the writer moved without loss.
  expect(updates).toEqual(TRADE_MOVED_WEST);
  expect(moves).toEqual([
    { GlobalClusterIdentifier: 'tsr-test-tm-core', TargetDbClusterIdentifier: clusterArn('tm', WEST) },
  ]);
  expect(writer.tm).toBe(WEST);
  // Measured, and zero: nothing was missing before or after replay.
  expect(result.report.rpo.beforeReplay?.count).toBe(0);
  expect(result.report.rpo.afterReplay?.count).toBe(0);
});

test('fail trade over from a lost us-east-1 to us-west-2 on AWS: forced writer move, canary, nothing written to the lost region', async () => {
  lost.add(EAST);
  const result = await run('failover.yaml', { app: 'trade', target: WEST, source: EAST });
  const notCompleted = result.journal.steps.filter((s) => s.status !== 'completed');
  expect(notCompleted.map((s) => `${s.id}: ${s.status} ${s.error ?? ''}`)).toEqual([]);
  expect(result.journal.status).toBe('completed');
  const by = callsByStep(result);
  expect(inOrder(by['db-failover'], [`rds:FailoverGlobalCluster@${WEST}`, `rds:DescribeGlobalClusters@${WEST}`])).toBe(
    true,
  );
  // Sent and confirmed in the target: accepted by its trade inbound gateway, confirmed from its outbound store.
  expect(
    inOrder(by.canary, [
      `dynamodb:BatchWriteItem@${WEST}`,
      `kinesis:PutRecords@${WEST}`,
      `dynamodb:BatchGetItem@${WEST}`,
    ]),
  ).toBe(true);
  expect(moves).toEqual([
    {
      GlobalClusterIdentifier: 'tsr-test-tm-core',
      TargetDbClusterIdentifier: clusterArn('tm', WEST),
      AllowDataLoss: true,
    },
  ]);
  expect(writer.tm).toBe(WEST);
  expect([...writes, ...puts].every((w) => w.endsWith(`@${WEST}`))).toBe(true);
  expect(updates).toEqual(TRADE_MOVED_WEST);
  // Without a generator ledger, what only the lost region held is unknown — said, not guessed.
  expect(result.journal.steps.find((s) => s.id === 'lost-in-region')?.detail).toMatch(/unknown/);
});

describe('with the game-day fault arc-endpoints-down holding ARC cluster endpoints down in tsr’s ARC client', () => {
  const ARC_REGIONS = [EAST, WEST, 'eu-west-1'];
  /** The platform anew over three cluster endpoints, one per region (the last in eu-west-1), the fault injected. */
  const withArcDown = async (which: 'all-but-one' | 'all') => {
    await platform.close();
    const deployment = platform.record as AwsDeploymentRecord;
    platform = new AwsPlatform(platform.config, {
      record: {
        ...deployment,
        global: {
          ...(deployment.global as NonNullable<AwsDeploymentRecord['global']>),
          arcEndpoints: ARC_REGIONS.map((region) => ({ region, url: `https://arc.${region}.example` })),
        },
      },
      env: {},
      writerPollMs: 20,
    });
    const faults = platform.faults();
    await faults.inject(faults.prepareArcEndpointsDown(which));
  };
  const arcCalls = () => calls.filter((c) => c.call.startsWith('arc:'));

  test('all but one: the rotation completes, every ARC call sent to the last endpoint only', async () => {
    await withArcDown('all-but-one');
    const result = await run('rotate.yaml', { app: 'trade', target: WEST, drainTimeout: '30s' });
    expect(result.journal.status).toBe('completed');
    expect(arcCalls().length).toBeGreaterThan(0);
    expect(new Set(arcCalls().map((c) => c.detail))).toEqual(new Set(['eu-west-1']));
    expect(updates).toEqual(TRADE_MOVED_WEST);
    expect(writer.tm).toBe(WEST);
  });

  test('all: a rotation stops before anything changes (ArcUnavailableError, exit 4), nothing sent to ARC', async () => {
    await withArcDown('all');
    // Where trade runs is read from ARC while planning: no endpoint answers, so nothing runs.
    await expect(run('rotate.yaml', { app: 'trade', target: WEST })).rejects.toMatchObject({
      name: 'ArcUnavailableError',
      exitCode: ExitCode.unhealthy,
      message: expect.stringMatching(/held down by game-day fault arc-endpoints-down/),
    });
    expect(arcCalls()).toEqual([]);
    expect(updates).toEqual([]);
    expect(moves).toEqual([]);
    expect(writer.tm).toBe(EAST);
  });

  test('all: a failover from a named region fails at its first ARC step with the controls and the writer unchanged', async () => {
    await withArcDown('all');
    const result = await run('failover.yaml', { app: 'trade', target: WEST, source: EAST });
    expect(result.journal.status).toBe('failed');
    const failed = result.journal.steps.find((s) => s.status === 'failed');
    expect(failed?.error).toMatch(/no ARC cluster endpoint answered .*held down by game-day fault arc-endpoints-down/);
    expect(arcCalls()).toEqual([]);
    expect(updates).toEqual([]);
    expect(moves).toEqual([]);
    expect([...writes, ...puts]).toEqual([]);
  });
});
