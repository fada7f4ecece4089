/**
 * The generator on the AWS target, against SDK mocks: `tsr generator start/rate/stop` as its routing control, its
 * ECS service's desired count and the settings item in the ledger table; and the task's side, which writes its
 * ledger in batches to that table and polls the rate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeServicesCommand,
  ECSClient,
  UpdateServiceCommand,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import {
  GetRoutingControlStateCommand,
  ListRoutingControlsCommand,
  Route53RecoveryClusterClient,
  UpdateRoutingControlStateCommand,
  UpdateRoutingControlStatesCommand,
  type UpdateRoutingControlStatesCommandInput,
} from '@aws-sdk/client-route53-recovery-cluster';
import { mockClient } from 'aws-sdk-client-mock';
import pino from 'pino';
import { GeneratorLedgerTable } from '../../src/clients/generator-ledger.js';
import { loadConfig } from '../../src/config/load.js';
import { deriveNames } from '../../src/config/model.js';
import { AwsPlatform } from '../../src/platform/aws/aws-platform.js';
import { configureGenerator, startGenerator, stopGenerator } from '../../src/platform/generator-control.js';
import { parseRunbook, runRunbook, stepRegistry } from '../../src/runbooks/index.js';
import { TableLedgerSink } from '../../src/services/generator/ledger-sink.js';
import { followLedgerTable } from '../../src/services/generator/table-control.js';
import { awsRecord } from '../helpers/aws-record.js';
import type { TradeGenerator } from '../../src/services/generator/generator.js';

const REGIONS = ['us-east-1', 'us-west-2'];
const PANEL = 'arn:aws:route53-recovery-control::123456789012:controlpanel/p';
const arnOf = (name: string) => `${PANEL}/routingcontrol/${name}`;
const nameOf = (arn: string) => arn.split('/').pop() as string;

const arc = mockClient(Route53RecoveryClusterClient);
const ecs = mockClient(ECSClient);
const dynamo = mockClient(DynamoDBClient);
type Regional = () => { config: { region: () => Promise<string> } };

let dir: string;
let platform: AwsPlatform;
let controls: Map<string, string>;
/** The ledger table: `run|seq` → item. */
let items: Map<string, Record<string, { S?: string; N?: string }>>;
let calls: string[];
/** Desired task count of the generator's service per region. */
let desired: Map<string, number>;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-aws-generator-'));
  const config = loadConfig({ environment: 'test', regions: REGIONS, target: 'aws' }, {}, dir);
  const names = deriveNames(config);
  // trade active in us-east-1: the generator goes to the first region where it is not, us-west-2.
  controls = new Map(
    names.routingControls.map((c) => [c.name, c.region === 'us-east-1' && c.scope === 'dns' ? 'On' : 'Off']),
  );
  items = new Map();
  calls = [];
  platform = new AwsPlatform(config, { record: awsRecord(names, REGIONS, PANEL), env: {} });
  arc.reset();
  ecs.reset();
  dynamo.reset();
  arc.on(ListRoutingControlsCommand).callsFake(async () => ({
    RoutingControls: [...controls].map(([name, state]) => ({
      RoutingControlArn: arnOf(name),
      RoutingControlName: name,
      RoutingControlState: state,
      ControlPanelArn: PANEL,
    })),
  }));
  arc.on(GetRoutingControlStateCommand).callsFake(async (input: { RoutingControlArn: string }) => ({
    RoutingControlArn: input.RoutingControlArn,
    RoutingControlState: controls.get(nameOf(input.RoutingControlArn)),
  }));
  arc.on(UpdateRoutingControlStatesCommand).callsFake(async (input: UpdateRoutingControlStatesCommandInput) => {
    for (const e of input.UpdateRoutingControlStateEntries ?? []) {
      controls.set(nameOf(e.RoutingControlArn as string), e.RoutingControlState as string);
      calls.push(`arc:${nameOf(e.RoutingControlArn as string)}=${e.RoutingControlState}`);
    }
    return {};
  });
  arc
    .on(UpdateRoutingControlStateCommand)
    .callsFake(async (input: { RoutingControlArn: string; RoutingControlState: string }) => {
      controls.set(nameOf(input.RoutingControlArn), input.RoutingControlState);
      calls.push(`arc:${nameOf(input.RoutingControlArn)}=${input.RoutingControlState}`);
      return {};
    });
  desired = new Map();
  ecs.on(UpdateServiceCommand).callsFake(async (input: UpdateServiceCommandInput, getClient: Regional) => {
    const region = await getClient().config.region();
    desired.set(region, input.desiredCount ?? 0);
    calls.push(`ecs:${input.service}@${region}=${input.desiredCount}`);
    return {};
  });
  ecs.on(DescribeServicesCommand).callsFake(async (input: { services: string[] }, getClient: Regional) => {
    const region = await getClient().config.region();
    return { services: input.services.map((serviceName) => ({ serviceName, desiredCount: desired.get(region) ?? 0 })) };
  });
  dynamo.on(PutItemCommand).callsFake(async (input: PutItemCommandInput) => {
    const item = input.Item as Record<string, { S?: string; N?: string }>;
    items.set(`${item.run.S}|${item.seq.N}`, item);
    calls.push(`dynamodb:PutItem ${input.TableName} ${item.run.S}`);
    return {};
  });
  // The task, as the table shows it: it reports generating while its control is ON (and it was started).
  dynamo.on(GetItemCommand).callsFake(async (input: GetItemCommandInput) => {
    const run = input.Key?.run?.S as string;
    if (run === 'status' && calls.some((c) => c.endsWith('generator@us-west-2=1'))) {
      const enabled = controls.get('trade-generator') === 'On';
      return {
        Item: {
          status: {
            S: JSON.stringify({ runId: 'g1', rate: 7, enabled, pairsSent: 42, ledger: 'test-generator-ledger run g1' }),
          },
          at: { N: String(Date.now()) },
        },
      };
    }
    return { Item: items.get(`${run}|0`) };
  });
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => {
  arc.restore();
  ecs.restore();
  dynamo.restore();
});

test('start: the rate to the settings item, the control ON, one task in the region where trade is not active', async () => {
  const status = await startGenerator(platform, { rate: 7 });
  expect(calls).toEqual([
    'dynamodb:PutItem test-generator-ledger settings',
    'arc:trade-generator=On',
    'ecs:tsr-test-generator@us-west-2=1',
  ]);
  expect(items.get('settings|0')?.rate).toEqual({ S: '7' });
  expect(status).toMatchObject({ enabled: true, runId: 'g1', pairsSent: 42 });
});

test('a second start keeps the generator where it runs, even after trade moved there: never two generators', async () => {
  await startGenerator(platform, { rate: 7 });
  // trade fails over to us-west-2: its dns control is ON there now, OFF in us-east-1.
  controls.set('trade-dns-us-west-2', 'On');
  controls.set('trade-dns-us-east-1', 'Off');
  calls = [];
  await startGenerator(platform, {});
  expect(calls).toEqual(['arc:trade-generator=On', 'ecs:tsr-test-generator@us-west-2=1']);
  expect(desired.get('us-east-1') ?? 0).toBe(0);
});

test('rate: only the settings item changes (the task polls it: no redeploy, no restart)', async () => {
  await configureGenerator(platform, { rate: 'auto' });
  expect(calls).toEqual(['dynamodb:PutItem test-generator-ledger settings']);
  expect(items.get('settings|0')?.rate).toEqual({ S: 'auto' });
  expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
});

test('stop: the control OFF first, then (once the task stopped sending) every region’s service to 0 tasks', async () => {
  await startGenerator(platform, { rate: 7 });
  calls = [];
  const status = await stopGenerator(platform);
  expect(calls).toEqual([
    'arc:trade-generator=Off',
    'ecs:tsr-test-generator@us-east-1=0',
    'ecs:tsr-test-generator@us-west-2=0',
  ]);
  expect(status.enabled).toBe(false);
});

test('status with no task reporting (stopped, or its status older than 15 s): not generating, the set rate', async () => {
  await configureGenerator(platform, { rate: 12 });
  const status = await platform.generator().status();
  expect(status).toMatchObject({ enabled: false, rate: 12, pairsSent: 0 });
});

describe('the task’s side: its ledger and its rate through the table', () => {
  const logger = pino({ level: 'silent' });

  test('pairs are written in batches of items of at most 100 lines, keyed by their first pair; unprocessed items are sent again', async () => {
    const written: BatchWriteItemCommandInput[] = [];
    let first = true;
    dynamo.on(BatchWriteItemCommand).callsFake(async (input: BatchWriteItemCommandInput) => {
      written.push(input);
      const requests = input.RequestItems?.['test-generator-ledger'] ?? [];
      // The first call leaves its last item unprocessed, as DynamoDB may under load.
      if (first && requests.length > 1) {
        first = false;
        return { UnprocessedItems: { 'test-generator-ledger': requests.slice(-1) } };
      }
      return {};
    });
    const table = new GeneratorLedgerTable(new DynamoDBClient({ region: 'us-west-2' }), 'test-generator-ledger');
    const sink = new TableLedgerSink(table, 'g1', { flushMs: 5, onError: (e) => logger.warn(e.message) });
    sink.pairs(Array.from({ length: 250 }, (_, i) => ({ seq: i + 1, line: `{"seq":${i + 1}}` })));
    sink.confirmation({ id: 'g1-1-a', status: 'MATCHED', at: 1, region: 'us-east-1' });
    await sink.flush();
    const puts = written.flatMap((w) => w.RequestItems?.['test-generator-ledger'] ?? []).map((r) => r.PutRequest?.Item);
    const ledger = puts.filter((i) => i?.run?.S === 'g1');
    // 250 pairs → items starting at 1, 101, 201; the unprocessed one (201) written again.
    expect(ledger.map((i) => i?.seq?.N)).toEqual(['1', '101', '201', '201']);
    expect(ledger[0]?.lines?.S?.split('\n')).toHaveLength(100);
    expect(puts.find((i) => i?.run?.S === 'runs')?.lines?.S).toBe('g1');
    expect(puts.find((i) => i?.run?.S === 'g1#confirmations')?.lines?.S).toContain('"status":"MATCHED"');
  });

  test('a write that fails (the run’s listing too) keeps its lines: the stop’s flush tries again, so no run goes unlisted and nothing buffered is dropped', async () => {
    let failures = 1;
    const written: string[] = [];
    dynamo.on(BatchWriteItemCommand).callsFake(async (input: BatchWriteItemCommandInput) => {
      if (failures-- > 0)
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      for (const r of input.RequestItems?.['test-generator-ledger'] ?? [])
        written.push(String(r.PutRequest?.Item?.run?.S));
      return {};
    });
    const errors: string[] = [];
    const table = new GeneratorLedgerTable(
      new DynamoDBClient({ region: 'us-west-2', maxAttempts: 1 }),
      'test-generator-ledger',
    );
    const sink = new TableLedgerSink(table, 'g3', { flushMs: 60_000, onError: (e) => errors.push(e.message) });
    sink.pairs([{ seq: 1, line: '{"seq":1}' }]);
    await sink.flush();
    expect(errors).toEqual(['throttled']);
    expect(written).toEqual(['runs', 'g3']); // the run's item, then the pair, on the second attempt
  });

  test('a changed rate in the settings item is applied live; the status is written for `tsr generator status`', async () => {
    items.set('settings|0', { run: { S: 'settings' }, seq: { N: '0' }, rate: { S: '25' }, at: { N: '1000' } });
    const configured: unknown[] = [];
    const generator = {
      configure: (settings: unknown) => configured.push(settings),
      status: () => ({ runId: 'g2', rate: 25, enabled: true }),
    } as unknown as TradeGenerator;
    const table = new GeneratorLedgerTable(new DynamoDBClient({ region: 'us-west-2' }), 'test-generator-ledger');
    const stop = followLedgerTable(table, generator, logger, { pollMs: 5, statusMs: 5 });
    await new Promise((r) => setTimeout(r, 40));
    await stop();
    expect(configured).toEqual([{ rate: 25 }]); // once: the same settings are not applied again
    expect(JSON.parse(items.get('status|0')?.status?.S ?? '{}')).toMatchObject({ runId: 'g2', rate: 25 });
  });
});

test('observe.lost-in-region on AWS reads the ledger table in the surviving region and counts what never reached it', async () => {
  const T0 = Date.parse('2026-12-07T00:00:00Z');
  const pair = (region: string, s: number, ids: string[]) =>
    JSON.stringify({ seq: s, region, submittedAt: T0 + s * 1000, ids });
  const queried: string[] = [];
  dynamo.on(QueryCommand).callsFake(async (input: QueryCommandInput, getClient: Regional) => {
    const run = String(input.ExpressionAttributeValues?.[':run']?.S);
    queried.push(`${input.TableName}@${await getClient().config.region()}:${run}`);
    const lines: Record<string, string[]> = {
      runs: ['g1'],
      g1: [
        `${pair('us-east-1', 1, ['g1-1-a', 'g1-1-b'])}\n${pair('us-west-2', 2, ['g1-2-a'])}`,
        pair('us-east-1', 3, ['g1-3-a']),
      ],
    };
    return { Items: (lines[run] ?? []).map((l) => ({ lines: { S: l } })) };
  });
  // The surviving region's trade inbound safe store holds the first pair's sides, not the third's.
  dynamo.on(BatchGetItemCommand).callsFake(async (input: BatchGetItemCommandInput) => {
    const [table, request] = Object.entries(input.RequestItems ?? {})[0];
    const held = new Set(['g1-1-a', 'g1-1-b']);
    return {
      Responses: { [table]: (request.Keys ?? []).filter((k) => held.has(String(k.id?.S))).map((k) => ({ id: k.id })) },
    };
  });
  const yaml =
    'name: t\ndescription: t\nsteps:\n  - id: lost\n    type: observe.lost-in-region\n' +
    '    params: { app: trade, source: us-east-1, target: us-west-2 }\n';
  const result = await runRunbook(
    parseRunbook(yaml, path.join(dir, 't.yaml'), stepRegistry),
    {},
    {
      platform,
      workspace: dir,
      yes: true,
      progress: 'silent',
    },
  );
  expect(result.journal.status).toBe('completed');
  expect(queried).toEqual(['test-generator-ledger@us-west-2:runs', 'test-generator-ledger@us-west-2:g1']);
  expect(result.journal.steps[0].detail).toMatch(
    /^1 trade side \(1 pair\) acknowledged by us-east-1 never reached us-west-2/,
  );
  expect(result.journal.rpo).toEqual([expect.objectContaining({ phase: 'lost-in-region', count: 1, pairs: 1 })]);
});
