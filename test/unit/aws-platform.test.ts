import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudWatchClient, GetMetricDataCommand, type GetMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  RDSClient,
  SwitchoverGlobalClusterCommand,
} from '@aws-sdk/client-rds';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../src/config/load.js';
import { ExitCode, UserError } from '../../src/errors.js';
import type { AwsDeploymentRecord } from '../../src/infra/aws/deployment-record.js';
import { AwsPlatform, withDeployedArns } from '../../src/platform/aws/aws-platform.js';
import { deriveNames } from '../../src/config/model.js';
import { parseRunbook, runRunbook, stepRegistry } from '../../src/runbooks/index.js';

const rds = mockClient(RDSClient);
const ecs = mockClient(ECSClient);
const cloudwatch = mockClient(CloudWatchClient);
const kinesis = mockClient(KinesisClient);
const dynamo = mockClient(DynamoDBClient);

const EAST = 'arn:aws:rds:us-east-1:123456789012:cluster:tsr-test-tm-core-us-east-1';
const WEST = 'arn:aws:rds:us-west-2:123456789012:cluster:tsr-test-tm-core-us-west-2';
const members = (writer: 'east' | 'west') => ({
  GlobalClusters: [
    {
      GlobalClusterIdentifier: 'tsr-test-tm-core',
      GlobalClusterMembers: [
        { DBClusterArn: EAST, IsWriter: writer === 'east' },
        { DBClusterArn: WEST, IsWriter: writer === 'west' },
      ],
    },
  ],
});
/** A shard as ListShards describes it. */
const shard = (ShardId: string) => ({
  ShardId,
  HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' },
  SequenceNumberRange: { StartingSequenceNumber: '0' },
});
const awsError = (name: string, message = name) => Object.assign(new Error(message), { name, $metadata: {} });

let dir: string;
let platform: AwsPlatform;

const record: AwsDeploymentRecord = {
  version: 1,
  environment: 'test',
  regions: ['us-east-1', 'us-west-2'],
  stacks: {},
  updatedAt: '2026-01-01T00:00:00.000Z',
  global: {
    arcEndpoints: [],
    controlPanelArn: 'arn:aws:route53-recovery-control::123456789012:controlpanel/abc',
    routingControlArns: {
      'trade-dns-us-east-1': 'arn:aws:route53-recovery-control::123456789012:controlpanel/abc/routingcontrol/r1',
    },
    safetyRuleArns: {},
  },
  regional: {
    'us-west-2': {
      brokerUrls: ['mqtts://b-2.example:8883'],
      databaseEndpoints: { 'tsr-test-tm-core-us-west-2': 'db.west' },
    },
  },
};

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-aws-platform-'));
  const config = loadConfig({ environment: 'test', regions: ['us-east-1', 'us-west-2'], target: 'aws' }, {}, dir);
  platform = new AwsPlatform(config, { record, env: {} });
  rds.reset();
  ecs.reset();
  cloudwatch.reset();
  kinesis.reset();
  dynamo.reset();
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => {
  rds.restore();
  ecs.restore();
  cloudwatch.restore();
  kinesis.restore();
  dynamo.restore();
});

describe('database switchover and failover', () => {
  test('switchover targets the cluster ARN in the target region and waits for the writer', async () => {
    rds.on(DescribeGlobalClustersCommand).resolvesOnce(members('east')).resolves(members('west'));
    rds.on(SwitchoverGlobalClusterCommand).resolves({});
    const result = await platform.switchoverDatabase('trade', 'us-west-2', { pollMs: 1 });
    expect(rds.commandCalls(SwitchoverGlobalClusterCommand).map((c) => c.args[0].input)).toEqual([
      { GlobalClusterIdentifier: 'tsr-test-tm-core', TargetDbClusterIdentifier: WEST },
    ]);
    expect(rds.commandCalls(DescribeGlobalClustersCommand)[0].args[0].input).toEqual({
      GlobalClusterIdentifier: 'tsr-test-tm-core',
    });
    expect(result).toMatchObject({
      app: 'trade',
      mode: 'switchover',
      from: 'us-east-1',
      to: 'us-west-2',
      completed: true,
    });
  });

  test('failover is forced (AllowDataLoss) and can return without waiting', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(members('east'));
    rds.on(FailoverGlobalClusterCommand).resolves({});
    const result = await platform.failoverDatabase('trade', 'us-west-2', { wait: false });
    expect(rds.commandCalls(FailoverGlobalClusterCommand).map((c) => c.args[0].input)).toEqual([
      { GlobalClusterIdentifier: 'tsr-test-tm-core', TargetDbClusterIdentifier: WEST, AllowDataLoss: true },
    ]);
    expect(result.completed).toBe(false);
  });

  test('moving to the region that already writes changes nothing', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(members('west'));
    const result = await platform.switchoverDatabase('trade', 'us-west-2');
    expect(result.completed).toBe(true);
    expect(rds.commandCalls(SwitchoverGlobalClusterCommand)).toHaveLength(0);
  });

  test('writer region comes from the global cluster members', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(members('west'));
    await expect(platform.databaseWriter('trade')).resolves.toBe('us-west-2');
  });

  test.each([
    ['GlobalClusterNotFoundFault', ExitCode.notDeployed, /tsr deploy --target aws/],
    ['ThrottlingException', ExitCode.unhealthy, /wait a minute/],
    ['CredentialsProviderError', ExitCode.usage, /aws sso login/],
    ['ExpiredTokenException', ExitCode.usage, /aws sso login/],
  ])('%s becomes a UserError with a fix', async (name, exitCode, fix) => {
    rds.on(DescribeGlobalClustersCommand).rejects(awsError(name));
    const error = (await platform.switchoverDatabase('trade', 'us-west-2').catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.exitCode).toBe(exitCode);
    expect(error.fix).toMatch(fix);
  });

  test('a switchover refused by RDS (another operation running) is reported as refused', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(members('east'));
    rds
      .on(SwitchoverGlobalClusterCommand)
      .rejects(awsError('InvalidGlobalClusterStateFault', 'switchover in progress'));
    const error = (await platform.switchoverDatabase('trade', 'us-west-2').catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.refused);
    expect(error.message).toMatch(/switching over tsr-test-tm-core to us-west-2 was refused: switchover in progress/);
  });

  test('an unknown region is a usage error before any call', async () => {
    await expect(platform.switchoverDatabase('trade', 'eu-west-1')).rejects.toThrow(
      /not one of this environment's regions/,
    );
    expect(rds.calls()).toHaveLength(0);
  });
});

describe('services', () => {
  test('restart forces a new deployment of the named service', async () => {
    ecs.on(UpdateServiceCommand).resolves({ service: { deployments: [{ id: 'ecs-svc/1', status: 'PRIMARY' }] } });
    const change = await platform.restartService({ app: 'trade', stage: 'core', region: 'us-west-2' });
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input).toEqual({
      cluster: 'tsr-test',
      service: 'tsr-test-tm-core',
      forceNewDeployment: true,
    });
    expect(change).toEqual({
      service: 'tsr-test-tm-core',
      region: 'us-west-2',
      action: 'restart',
      deploymentId: 'ecs-svc/1',
    });
  });

  test('scale sets the desired count; the generator has no stage', async () => {
    ecs.on(UpdateServiceCommand).resolves({});
    await platform.scaleService({ app: 'generator', region: 'us-east-1' }, 0);
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input).toEqual({
      cluster: 'tsr-test',
      service: 'tsr-test-generator',
      desiredCount: 0,
    });
    await expect(platform.scaleService({ app: 'trade', stage: 'core', region: 'us-east-1' }, -1)).rejects.toThrow(
      UserError,
    );
  });

  test('a missing service is a not-deployed UserError', async () => {
    ecs.on(UpdateServiceCommand).rejects(awsError('ServiceNotFoundException', 'Service not found.'));
    const error = (await platform
      .restartService({ app: 'settlement', stage: 'egress', region: 'us-east-1' })
      .catch((e: unknown) => e)) as UserError;
    expect(error.exitCode).toBe(ExitCode.notDeployed);
    expect(error.message).toMatch(/restarting tsr-test-st-egress in us-east-1/);
  });
});

describe('measurements from CloudWatch', () => {
  const queries = (index = 0) =>
    (cloudwatch.commandCalls(GetMetricDataCommand)[index].args[0].input as GetMetricDataCommandInput)
      .MetricDataQueries ?? [];

  test('broker backlog: the pending count the inbound gateway published from the broker (TSR/BrokerPending, 1 s resolution), with its time', async () => {
    const at = new Date(Date.now() - 3_000);
    cloudwatch
      .on(GetMetricDataCommand)
      .resolves({ MetricDataResults: [{ Id: 'm0', Values: [7, 9], Timestamps: [at] }] });
    const depth = await platform.brokerQueueDepth('trade', 'us-east-1');
    const [query] = queries();
    expect(query.MetricStat).toEqual({
      Metric: {
        Namespace: 'TSR',
        MetricName: 'BrokerPending',
        Dimensions: [
          { Name: 'Environment', Value: 'test' },
          { Name: 'App', Value: 'trade' },
          { Name: 'Region', Value: 'us-east-1' },
        ],
      },
      Period: 1,
      Stat: 'Maximum',
    });
    expect(depth).toMatchObject({ depth: 7, queues: [{ queue: 'tm-inbound-us-east-1', depth: 7 }] });
    // The step compares the measure's own time with the senders' grace, not the time it was read.
    expect(depth.measuredAt).toBe(at.toISOString());
  });

  test('broker backlog: no datapoint, or a stale one (the gateway is not running), is unknown — never zero', async () => {
    cloudwatch
      .on(GetMetricDataCommand)
      .resolvesOnce({ MetricDataResults: [{ Id: 'm0', Values: [] }] })
      .resolvesOnce({ MetricDataResults: [{ Id: 'm0', Values: [0], Timestamps: [new Date(Date.now() - 90_000)] }] });
    const none = await platform.brokerQueueDepth('settlement', 'us-west-2');
    expect(none.depth).toBeUndefined();
    expect(none.detail).toMatch(
      /no BrokerPending datapoint of st-inbound-us-west-2 .*inbound gateway running in us-west-2/,
    );
    const stale = await platform.brokerQueueDepth('settlement', 'us-west-2');
    expect(stale.depth).toBeUndefined();
    expect(stale.detail).toMatch(/is 9\d s old/);
  });

  test('streams idle: every shard checkpoint compared with the stream after it (ListShards, GetItem, GetRecords…)', async () => {
    const streams = deriveNames(platform.config).streams.filter((s) => s.app === 'settlement');
    kinesis.on(ListShardsCommand).resolves({ Shards: [shard('shardId-0'), shard('shardId-1')] });
    dynamo.on(GetItemCommand).callsFake(async (input: { Key: { leaseKey: { S: string } } }) => ({
      Item: { checkpoint: { S: `seq-${input.Key.leaseKey.S}` } },
    }));
    kinesis.on(GetShardIteratorCommand).callsFake(async (input: { StreamName: string; ShardId: string }) => ({
      ShardIterator: `it-${input.StreamName}-${input.ShardId}`,
    }));
    // The first stream's shard 1: an empty page while 2 s behind, then 3 records. Everything else is at its newest.
    kinesis.on(GetRecordsCommand).callsFake(async (input: { ShardIterator: string }) => {
      if (input.ShardIterator === `it-${streams[0].name}-shardId-1`)
        return { Records: [], MillisBehindLatest: 2000, NextShardIterator: 'next' };
      if (input.ShardIterator === 'next')
        return {
          Records: [1, 2, 3].map((n) => ({ Data: new Uint8Array(), PartitionKey: 'k', SequenceNumber: `${n}` })),
          MillisBehindLatest: 0,
        };
      return { Records: [], MillisBehindLatest: 0 };
    });
    const backlog = await platform.streamBacklog('settlement', 'us-west-2');
    expect(backlog.map((b) => [b.stream, b.pending])).toEqual(streams.map((s, i) => [s.name, i === 0 ? 3 : 0]));
    // Per shard: its lease (consistent read) and an iterator right after the checkpoint.
    expect(dynamo.commandCalls(GetItemCommand)[0].args[0].input).toMatchObject({
      TableName: deriveNames(platform.config).tables.find((t) => t.purpose === 'leases')?.name,
      ConsistentRead: true,
    });
    expect(kinesis.commandCalls(GetShardIteratorCommand)[0].args[0].input).toMatchObject({
      ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
      StartingSequenceNumber: `seq-${streams[0].name}|shardId-0`,
    });
    expect(kinesis.commandCalls(GetRecordsCommand)).toHaveLength(streams.length * 2 + 1);
  });

  test('a shard still behind after five empty pages counts as waiting, never as idle', async () => {
    kinesis.on(ListShardsCommand).resolves({ Shards: [shard('shardId-0')] });
    dynamo.on(GetItemCommand).resolves({});
    kinesis.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it' });
    kinesis.on(GetRecordsCommand).resolves({ Records: [], MillisBehindLatest: 60_000, NextShardIterator: 'it' });
    const backlog = await platform.streamBacklog('trade', 'us-east-1');
    expect(backlog.every((b) => b.pending === 1)).toBe(true);
    expect(kinesis.commandCalls(GetShardIteratorCommand)[0].args[0].input).toMatchObject({
      ShardIteratorType: 'TRIM_HORIZON',
    });
  });

  test('replication lag: DynamoDB ReplicationLatency per table and direction, Aurora RPO lag in the secondary', async () => {
    rds.on(DescribeGlobalClustersCommand).resolves(members('east'));
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: [120] }] });
    const lags = await platform.replicationLag();
    const tables = deriveNames(platform.config).tables.filter((t) => t.global);
    expect(lags.filter((l) => l.kind === 'table')).toHaveLength(tables.length * 2);
    const first = queries(0)[0].MetricStat?.Metric;
    expect(first).toEqual({
      Namespace: 'AWS/DynamoDB',
      MetricName: 'ReplicationLatency',
      Dimensions: [
        { Name: 'TableName', Value: tables[0].name },
        { Name: 'ReceivingRegion', Value: 'us-west-2' },
      ],
    });
    expect(lags[0]).toMatchObject({ kind: 'table', from: 'us-east-1', to: 'us-west-2', lagMs: 120, healthy: true });
    expect(lags[1]).toMatchObject({ lagMs: undefined, healthy: false, detail: expect.stringMatching(/no datapoints/) });
    const rpoCall = cloudwatch
      .commandCalls(GetMetricDataCommand)
      .map((c) => (c.args[0].input as GetMetricDataCommandInput).MetricDataQueries?.[0].MetricStat?.Metric)
      .find((m) => m?.MetricName === 'AuroraGlobalDBRPOLag');
    expect(rpoCall?.Dimensions).toEqual([{ Name: 'DBClusterIdentifier', Value: 'tsr-test-tm-core-us-west-2' }]);
    expect(lags.find((l) => l.kind === 'database' && l.resource === 'test_tm_core')).toMatchObject({
      from: 'us-east-1',
      to: 'us-west-2',
      lagMs: 120,
    });
  });

  test('throttled metric reads become a UserError', async () => {
    cloudwatch.on(GetMetricDataCommand).rejects(awsError('Throttling', 'Rate exceeded'));
    await expect(platform.brokerQueueDepth('trade', 'us-east-1')).rejects.toThrow(
      /AWS throttled reading the broker backlog of tm-inbound-us-east-1 in us-east-1/,
    );
  });
});

describe('names, endpoints and routing controls', () => {
  test('routing controls use the ARNs ARC assigned', () => {
    const names = withDeployedArns(deriveNames(platform.config), record);
    expect(names.controlPanelArn).toBe('arn:aws:route53-recovery-control::123456789012:controlpanel/abc');
    expect(names.routingControls.find((c) => c.name === 'trade-dns-us-east-1')?.arn).toMatch(/routingcontrol\/r1$/);
    expect(platform.names.routingControls.find((c) => c.name === 'trade-dns-us-east-1')?.arn).toMatch(
      /routingcontrol\/r1$/,
    );
  });

  test('endpoints come from the deployment record', () => {
    expect(platform.endpoints('us-west-2')).toEqual({
      region: 'us-west-2',
      broker: 'mqtts://b-2.example:8883',
      postgres: { host: 'db.west', port: 5432, user: 'tsr_admin' },
    });
  });

  test('without known ARC endpoints, routing controls say how to get them', () => {
    expect(() => platform.routingControls()).toThrow(/no ARC cluster endpoints are known/);
  });

  test('TSR_ARC_ENDPOINTS provides the endpoints', async () => {
    const withEnv = new AwsPlatform(platform.config, {
      record,
      env: { TSR_ARC_ENDPOINTS: 'us-east-1=https://a.example/v1,us-west-2=https://b.example/v1' },
    });
    expect(withEnv.routingControls()).toBeDefined();
    await withEnv.close();
  });
});

describe('wait.drained on AWS, run by the runbook engine', () => {
  test('a zero measured before the dns swap (plus the senders’ grace) does not count as drained', async () => {
    const workspace = mkdtempSync(path.join(os.tmpdir(), 'tsr-aws-drained-'));
    const config = loadConfig({ environment: 'test', regions: ['us-east-1', 'us-west-2'], target: 'aws' }, {}, dir);
    const aws = new AwsPlatform(config, { record, env: {}, brokerFreshMs: 10 * 60_000 });
    let calls = 0;
    const before = new Date(Date.now() - 5_000);
    cloudwatch.on(GetMetricDataCommand).callsFake(async () => {
      calls++;
      // The first two answers are the gateway's last datapoint from before the swap; then fresh ones.
      const at = calls <= 2 ? before : new Date();
      return { MetricDataResults: [{ Id: 'm0', Values: [0], Timestamps: [at] }] };
    });
    const runbook = parseRunbook(
      `name: t
description: t
steps:
  - id: swap
    type: sleep
    params: { duration: 1ms }
    marks: dns-swapped
  - id: drained
    type: wait.drained
    params: { app: trade, region: us-east-1, sendersGrace: 50ms, interval: 100ms }
    timeout: 10s
`,
      path.join(workspace, 't.yaml'),
      stepRegistry,
    );
    try {
      const result = await runRunbook(runbook, {}, { platform: aws, workspace, yes: true, progress: 'silent' });
      expect(result.journal.status).toBe('completed');
      // Past the grace on the second look, but that datapoint predates the swap: only the third (fresh) one counts.
      expect(calls).toBe(3);
    } finally {
      await aws.close();
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
