import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  type UpdateServiceCommandInput,
} from '@aws-sdk/client-ecs';
import {
  FisClient,
  ListExperimentsCommand,
  ListExperimentTemplatesCommand,
  StartExperimentCommand,
  StopExperimentCommand,
} from '@aws-sdk/client-fis';
import { FailoverDBClusterCommand, RDSClient } from '@aws-sdk/client-rds';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../src/config/load.js';
import { UserError } from '../../src/errors.js';
import { SUPPORTED_FAULTS, unsupportedFaults } from '../../src/platform/capabilities.js';
import { FAULT_KINDS } from '../../src/platform/faults.js';
import { AwsPlatform } from '../../src/platform/aws/aws-platform.js';
import { ActiveFaults } from '../../src/platform/faults.js';
import { gamedayRegistry } from '../../src/gameday/run.js';
import { undoAllFaults } from '../../src/gameday/steps.js';
import { parseRunbook, runRunbook } from '../../src/runbooks/index.js';

const ecs = mockClient(ECSClient);
const rds = mockClient(RDSClient);
// @aws-sdk/client-fis 3.523 (the newest the registry holds) is typed against older @smithy/types than the other
// clients and the mock library: the same runtime, so its mock is typed loosely here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const fis = mockClient(FisClient as never) as unknown as AwsStub<any, any, any>;
let dir: string;
let platform: AwsPlatform;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-aws-faults-'));
  const regions = ['us-east-1', 'us-west-2'];
  const config = loadConfig({ environment: 'test', regions, target: 'aws' }, {}, dir);
  const record = { version: 1 as const, environment: 'test', regions, stacks: {}, updatedAt: '2026-01-01T00:00:00Z' };
  platform = new AwsPlatform(config, { record, env: {} });
  ecs.reset();
  rds.reset();
  fis.reset();
  // Every service runs 2 tasks, except the inbound gateways (1) and the generator (1).
  ecs.on(DescribeServicesCommand).callsFake(async (input: { services: string[] }) => ({
    services: input.services.map((serviceName) => ({
      serviceName,
      desiredCount: /inbound-gateway|generator/.test(serviceName) ? 1 : 2,
    })),
  }));
  ecs.on(UpdateServiceCommand).resolves({});
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});
afterAll(() => {
  ecs.restore();
  rds.restore();
  fis.restore();
});

const updates = () =>
  ecs
    .commandCalls(UpdateServiceCommand)
    .map((c) => c.args[0].input as UpdateServiceCommandInput)
    .map((i) => `${i.service}=${i.desiredCount}`);

test('the capability list: AWS offers six fault kinds, and a game day can ask which of its faults it lacks', () => {
  expect(SUPPORTED_FAULTS.aws).toEqual([
    'region-down',
    'kill-service',
    'kill-stage',
    'db-writer-crash',
    'arc-endpoints-down',
    'partition',
  ]);
  expect(SUPPORTED_FAULTS.local).toEqual(FAULT_KINDS); // every kind, a partition too (its relays are cuttable)
  expect(
    unsupportedFaults('aws', ['region-down', 'partition', 'hang-service', 'broker-down', 'arc-endpoints-down']),
  ).toEqual(['hang-service', 'broker-down']);
  expect(unsupportedFaults('local', ['partition', 'broker-down'])).toEqual([]);
});

test('region-down: every service of the region to zero after reading its count; undo puts each count back', async () => {
  const faults = platform.faults();
  const fault = await faults.regionDown('us-west-2');
  // 11 services in two DescribeServices pages of at most 10.
  expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input.services?.length)).toEqual([10, 1]);
  expect(updates()).toHaveLength(11);
  expect(updates().every((u) => u.endsWith('=0'))).toBe(true);
  expect(fault.restore).toContainEqual({ service: 'tsr-test-tm-core', desiredCount: 2 });
  ecs.resetHistory();
  await faults.undo(fault);
  expect(updates()).toContain('tsr-test-tm-core=2');
  expect(updates()).toContain('tsr-test-tm-inbound-gateway=1');
  expect(updates()).toContain('tsr-test-generator=1');
});

test('kill-stage scales one stage to zero; kill-service stops one running task and ECS replaces it', async () => {
  const faults = platform.faults();
  await faults.killStage('settlement', 'core', 'us-east-1');
  expect(updates()).toEqual(['tsr-test-st-core=0']);
  ecs.on(ListTasksCommand).resolves({ taskArns: ['arn:aws:ecs:us-east-1:1:task/tsr-test/abc'] });
  ecs.on(StopTaskCommand).resolves({});
  const fault = await faults.killService('trade', 'ingestion', 'us-east-1');
  expect(ecs.commandCalls(ListTasksCommand)[0].args[0].input).toMatchObject({
    cluster: 'tsr-test',
    serviceName: 'tsr-test-tm-ingestion',
    desiredStatus: 'RUNNING',
  });
  expect(ecs.commandCalls(StopTaskCommand)[0].args[0].input).toMatchObject({
    task: 'arn:aws:ecs:us-east-1:1:task/tsr-test/abc',
  });
  expect(fault.restore).toBeUndefined();
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  await expect(faults.killService('trade', 'ingestion', 'us-east-1')).rejects.toThrow(
    /tsr-test-tm-ingestion has no running task in us-east-1/,
  );
});

test('db-writer-crash fails the writer cluster over within its region; an unknown region is refused', async () => {
  rds.on(FailoverDBClusterCommand).resolves({});
  await platform.faults().dbWriterCrash('trade', 'us-west-2');
  expect(rds.commandCalls(FailoverDBClusterCommand)[0].args[0].input).toEqual({
    DBClusterIdentifier: 'tsr-test-tm-core-us-west-2',
  });
  await expect(platform.faults().regionDown('eu-west-1')).rejects.toThrow(UserError);
});

/** Each region holds its partition template (found by its Name tag) on the second page of its templates. */
function partitionTemplates() {
  fis.on(ListExperimentTemplatesCommand as never).callsFake(async (input: { nextToken?: string }) =>
    input.nextToken
      ? { experimentTemplates: [{ id: 'EXTpart', tags: { Name: 'tsr-test-partition' } }] }
      : {
          experimentTemplates: [{ id: 'EXTstop', tags: { Name: 'tsr-test-trade-core-tasks-stop' } }],
          nextToken: 'p2',
        },
  );
  fis.on(StartExperimentCommand as never).resolves({ experiment: { id: 'EXP1' } });
  fis.on(StopExperimentCommand as never).resolves({});
}

test('partition: each region’s FIS template found by its Name tag, an experiment started in every region; undo stops only what still runs', async () => {
  partitionTemplates();
  const faults = platform.faults();
  const fault = await faults.preparePartition();
  expect(fault.experiments).toEqual([
    { region: 'us-east-1', templateId: 'EXTpart' },
    { region: 'us-west-2', templateId: 'EXTpart' },
  ]);
  expect(fis.commandCalls(StartExperimentCommand as never)).toHaveLength(0); // prepared: nothing changed yet
  await faults.startExperiments(fault);
  expect(fis.commandCalls(StartExperimentCommand as never).map((c) => c.args[0].input)).toEqual([
    { experimentTemplateId: 'EXTpart', tags: { 'tsr-fault': 'partition' } },
    { experimentTemplateId: 'EXTpart', tags: { 'tsr-fault': 'partition' } },
  ]);
  fis.on(ListExperimentsCommand as never).resolves({
    experiments: [
      { id: 'EXP1', experimentTemplateId: 'EXTpart', state: { status: 'running' } },
      { id: 'EXP0', experimentTemplateId: 'EXTpart', state: { status: 'stopped' } },
      { id: 'EXP9', experimentTemplateId: 'EXTstop', state: { status: 'running' } },
    ],
  });
  await faults.undo(fault);
  expect(fis.commandCalls(StopExperimentCommand as never).map((c) => c.args[0].input)).toEqual([
    { id: 'EXP1' },
    { id: 'EXP1' },
  ]);
  expect(updates()).toEqual([]); // no ECS service touched
});

test('partition without a template in a region is refused before any experiment starts, saying to deploy again', async () => {
  fis.on(ListExperimentTemplatesCommand as never).resolves({ experimentTemplates: [] });
  await expect(platform.faults().preparePartition()).rejects.toThrow(/no FIS experiment template tsr-test-partition/);
  expect(fis.commandCalls(StartExperimentCommand as never)).toHaveLength(0);
});

describe('game-day faults on AWS, run by the runbook engine', () => {
  const runFault = (params: string) => {
    const registry = gamedayRegistry();
    return runRunbook(
      parseRunbook(
        `name: t\ndescription: t\nsteps:\n  - id: f\n    type: gameday.fault\n    params: ${params}\n`,
        path.join(dir, 't.yaml'),
        registry,
      ),
      {},
      { platform, workspace: dir, yes: true, progress: 'silent', registry },
    );
  };

  test('region-down held for a while: counts read and the undo on record before any service changes, then put back', async () => {
    const recordedBeforeChange: unknown[] = [];
    ecs.on(UpdateServiceCommand).callsFake(async () => {
      if (recordedBeforeChange.length === 0) recordedBeforeChange.push(...new ActiveFaults(dir).list());
      return {};
    });
    const result = await runFault('{ fault: lose-west, kind: region-down, region: us-west-2, holdMs: 20 }');
    expect(result.journal.status).toBe('completed');
    const all = updates();
    expect(all).toHaveLength(22); // 11 services down, then 11 back
    expect(all.slice(0, 11).every((u) => u.endsWith('=0'))).toBe(true);
    expect(all.slice(11)).toContain('tsr-test-tm-core=2');
    expect(all.slice(11)).toContain('tsr-test-tm-inbound-gateway=1');
    // The first UpdateService already found the fault recorded with its AWS undo (what recover would replay).
    expect(recordedBeforeChange).toEqual([
      expect.objectContaining({
        id: 'lose-west',
        undo: [
          expect.objectContaining({
            via: 'aws',
            fault: expect.objectContaining({ kind: 'region-down', region: 'us-west-2' }),
          }),
        ],
      }),
    ]);
    expect(new ActiveFaults(dir).list()).toEqual([]);
  });

  test('kill-service: one task stopped (ECS replaces it); with `for`, the stage held one task short, then put back', async () => {
    ecs.on(ListTasksCommand).resolves({ taskArns: ['arn:aws:ecs:us-east-1:1:task/tsr-test/t1'] });
    ecs.on(StopTaskCommand).resolves({});
    const once = await runFault('{ fault: k, kind: kill-service, app: trade, stage: core, region: us-east-1 }');
    expect(once.journal.status).toBe('completed');
    expect(ecs.commandCalls(StopTaskCommand).map((c) => c.args[0].input.task)).toEqual([
      'arn:aws:ecs:us-east-1:1:task/tsr-test/t1',
    ]);
    expect(updates()).toEqual([]);
    const held = await runFault(
      '{ fault: h, kind: kill-service, app: trade, stage: core, region: us-east-1, holdMs: 20 }',
    );
    expect(held.journal.status).toBe('completed');
    expect(updates()).toEqual(['tsr-test-tm-core=1', 'tsr-test-tm-core=2']);
  });

  test('partition held for a while: the undo on record before the first experiment starts, then every experiment stopped', async () => {
    partitionTemplates();
    const recordedBeforeStart: unknown[] = [];
    fis.on(StartExperimentCommand as never).callsFake(async () => {
      if (recordedBeforeStart.length === 0) recordedBeforeStart.push(...new ActiveFaults(dir).list());
      return { experiment: { id: 'EXP1' } };
    });
    fis.on(ListExperimentsCommand as never).resolves({
      experiments: [{ id: 'EXP1', experimentTemplateId: 'EXTpart', state: { status: 'running' } }],
    });
    const result = await runFault('{ fault: cut, kind: partition, holdMs: 20 }');
    expect(result.journal.status).toBe('completed');
    expect(recordedBeforeStart).toEqual([
      expect.objectContaining({
        id: 'cut',
        undo: [expect.objectContaining({ via: 'aws', fault: expect.objectContaining({ kind: 'partition' }) })],
      }),
    ]);
    expect(fis.commandCalls(StartExperimentCommand as never)).toHaveLength(2);
    expect(fis.commandCalls(StopExperimentCommand as never)).toHaveLength(2);
    expect(new ActiveFaults(dir).list()).toEqual([]);
  });

  test('a fault left injected by a killed tsr is undone by tsr gameday recover through the AWS APIs', async () => {
    const fault = await platform.faults().prepareScale('kill-stage', 'us-west-2', ['tsr-test-st-egress']);
    new ActiveFaults(dir).add({
      id: 'stage',
      runId: 'run-1',
      spec: { kind: 'kill-stage', app: 'settlement', stage: 'egress', region: 'us-west-2' },
      summary: 'kill-stage settlement egress us-west-2',
      injectedAt: new Date().toISOString(),
      undo: [{ via: 'aws', fault, timeoutMs: 1_000 }],
    });
    await platform.faults().inject(fault);
    expect(await undoAllFaults(platform, dir, undefined)).toEqual({
      undone: ['kill-stage settlement egress us-west-2'],
      failed: [],
    });
    expect(updates()).toEqual(['tsr-test-st-egress=0', 'tsr-test-st-egress=2']);
    expect(new ActiveFaults(dir).list()).toEqual([]);
  });
});
