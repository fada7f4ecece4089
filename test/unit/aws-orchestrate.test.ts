import {
  copyFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConflictException,
  ListRoutingControlsCommand,
  Route53RecoveryClusterClient,
  UpdateRoutingControlStatesCommand,
  type UpdateRoutingControlStatesCommandInput,
} from '@aws-sdk/client-route53-recovery-cluster';
import { DescribeGlobalClustersCommand, GlobalClusterNotFoundFault, RDSClient } from '@aws-sdk/client-rds';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../src/config/load.js';
import { deriveNames } from '../../src/config/model.js';
import { UserError } from '../../src/errors.js';
import { deploymentRecordPath, readDeploymentRecord } from '../../src/infra/aws/deployment-record.js';
import { AwsDeploymentError, runAwsDeployment, type AwsDeploymentOptions } from '../../src/infra/aws/orchestrate.js';
import { renderAwsDeployment, renderAwsFailure } from '../../src/infra/aws/render.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FAKE = path.join(here, '..', 'fixtures', 'aws', 'fake-terraform.sh');
const sts = mockClient(STSClient);
const arc = mockClient(Route53RecoveryClusterClient);
const rds = mockClient(RDSClient);

const PANEL = 'arn:aws:route53-recovery-control::123456789012:controlpanel/abc123';
/** The id-based ARN the stand-in's global outputs give each routing control. */
const arnOf = (control: string) => `${PANEL}/routingcontrol/${control}-id`;
const nameOf = (arn: string | undefined) => arn?.replace(`${PANEL}/routingcontrol/`, '').replace(/-id$/, '');

let root: string;
let bin: string;
let callLog: string;
let globalOutput: string;

/** Global stack outputs naming every routing control of the three-region environment (a superset of two). */
function writeGlobalOutput(file: string): void {
  const names = deriveNames({ ...config(THREE), aws: config(THREE).aws });
  const outputs = {
    arc_cluster_endpoints: {
      value:
        'us-east-1=https://aaa.route53-recovery-cluster.us-east-1.amazonaws.com/v1,' +
        'eu-west-1=https://bbb.route53-recovery-cluster.eu-west-1.amazonaws.com/v1',
    },
    control_panel_arn: { value: PANEL },
    routing_control_arns: {
      value: Object.fromEntries(names.routingControls.map((c) => [c.name, arnOf(c.name)])),
    },
    safety_rule_arns: { value: {} },
  };
  writeFileSync(file, JSON.stringify(outputs));
}

/** ARC answers every control of `regions` with the state `stateOf` gives (default: OFF, as ARC creates them). */
function arcLists(regions: string[], stateOf: (control: string) => 'On' | 'Off' = () => 'Off') {
  const names = deriveNames(config(regions));
  arc.on(ListRoutingControlsCommand).resolves({
    RoutingControls: names.routingControls.map((c) => ({
      RoutingControlArn: arnOf(c.name),
      RoutingControlName: c.name,
      RoutingControlState: stateOf(c.name),
    })),
  });
}

/** Each UpdateRoutingControlStates call as `control=state` strings, sorted. */
function updateBatches(): string[][] {
  return arc
    .commandCalls(UpdateRoutingControlStatesCommand)
    .map((call) =>
      ((call.args[0].input as UpdateRoutingControlStatesCommandInput).UpdateRoutingControlStateEntries ?? [])
        .map((e) => `${nameOf(e.RoutingControlArn)}=${e.RoutingControlState}`)
        .sort(),
    );
}

function makeBin(dir: string, name: 'terraform' | 'tofu'): void {
  mkdirSync(dir, { recursive: true });
  copyFileSync(FAKE, path.join(dir, name));
  chmodSync(path.join(dir, name), 0o755);
}

/** Calls recorded by the stand-in: stack directory name and arguments. */
function calls(): { stack: string; args: string; cwd: string }[] {
  if (!existsSync(callLog)) return [];
  return readFileSync(callLog, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [cwd, args] = line.split('\t');
      return { stack: path.basename(cwd), args, cwd };
    });
}

function config(regions: string[]) {
  return loadConfig({ environment: 'test', regions, target: 'aws' }, {}, root);
}

function run(
  regions: string[],
  mode: AwsDeploymentOptions['mode'],
  extraEnv: Record<string, string> = {},
  pathDirs = [bin],
) {
  return runAwsDeployment(config(regions), {
    mode,
    outDir: path.join(root, 'cdktf.out'),
    renderer: 'silent',
    env: {
      PATH: [...pathDirs, '/usr/bin', '/bin'].join(':'),
      FAKE_TF_LOG: callLog,
      FAKE_TF_GLOBAL_OUTPUT: globalOutput,
      ...extraEnv,
    },
    routingSettleMs: 0,
  });
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tsr-orchestrate-'));
  bin = path.join(root, 'bin');
  makeBin(bin, 'terraform');
  callLog = path.join(root, 'calls.log');
  globalOutput = path.join(root, 'global-output.json');
  writeGlobalOutput(globalOutput);
  arc.reset();
  arcLists(THREE);
  arc.on(UpdateRoutingControlStatesCommand).resolves({});
  rds.reset();
  rds
    .on(DescribeGlobalClustersCommand)
    .rejects(new GlobalClusterNotFoundFault({ message: 'not found', $metadata: {} }));
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/ci' });
});

afterEach(() => rmSync(root, { recursive: true, force: true }));
afterAll(() => {
  rds.restore();
  sts.restore();
  arc.restore();
});

const TWO = ['us-east-1', 'us-west-2'];
const THREE = ['us-east-1', 'us-west-2', 'eu-west-1'];

test('apply runs init, apply and output per stack in dependency order, in each stack directory', async () => {
  arcLists(TWO);
  const result = await run(TWO, 'apply');
  expect(calls().map((c) => `${c.stack}: ${c.args}`)).toEqual([
    'tsr-test-global: init -input=false -no-color',
    'tsr-test-global: apply -auto-approve -input=false -no-color',
    'tsr-test-global: output -json',
    'tsr-test-us-east-1: init -input=false -no-color',
    'tsr-test-us-east-1: apply -auto-approve -input=false -no-color',
    'tsr-test-us-east-1: output -json',
    'tsr-test-us-west-2: init -input=false -no-color',
    'tsr-test-us-west-2: apply -auto-approve -input=false -no-color',
    'tsr-test-us-west-2: output -json',
    // The primary was applied before us-west-2's broker existed: again, for TSR_BROKER_URLS.
    'tsr-test-us-east-1: init -input=false -no-color',
    'tsr-test-us-east-1: apply -auto-approve -input=false -no-color',
    'tsr-test-us-east-1: output -json',
  ]);
  for (const call of calls()) {
    expect(call.cwd).toBe(path.join(root, 'cdktf.out', 'stacks', call.stack));
    expect(existsSync(path.join(call.cwd, 'cdk.tf.json'))).toBe(true);
  }
  expect(result.stacks.map((s) => [s.stack, s.status, s.reappliedFor])).toEqual([
    ['tsr-test-global', 'applied', undefined],
    ['tsr-test-us-east-1', 'applied', ['us-west-2']],
    ['tsr-test-us-west-2', 'applied', undefined],
  ]);
  expect(result.account).toBe('123456789012');
  expect(result.binary.name).toBe('terraform');
  expect(result.global?.arcEndpoints).toEqual([
    { region: 'us-east-1', url: 'https://aaa.route53-recovery-cluster.us-east-1.amazonaws.com/v1' },
    { region: 'eu-west-1', url: 'https://bbb.route53-recovery-cluster.eu-west-1.amazonaws.com/v1' },
  ]);
  const record = readDeploymentRecord(result.recordFile);
  expect(record?.regions).toEqual(TWO);
  expect(record?.global?.routingControlArns['trade-dns-us-east-1']).toBe(arnOf('trade-dns-us-east-1'));
  expect(record?.regional?.['us-west-2']?.brokerUrls).toEqual([
    'mqtts://b-1.mq.example:8883',
    'mqtts://b-2.mq.example:8883',
  ]);
});

test('plan runs init and plan only, reports the changes and records nothing', async () => {
  const result = await run(TWO, 'plan');
  expect(calls().map((c) => c.args)).toEqual(
    Array.from({ length: 3 }).flatMap(() => ['init -input=false -no-color', 'plan -input=false -no-color']),
  );
  expect(result.stacks.every((s) => s.status === 'planned')).toBe(true);
  expect(result.stacks[0].changes).toEqual({ add: 7, change: 1, destroy: 0 });
  expect(existsSync(result.recordFile)).toBe(false);
  // The estimated monthly cost per stack and in total, shown under the plan.
  expect(result.cost?.stacks.map((s) => s.region)).toEqual(['us-east-1', 'us-east-1', 'us-west-2']);
  expect(result.cost?.monthlyUsd).toBeGreaterThan(0);
  expect(renderAwsDeployment(result)).toMatch(/Estimated monthly cost \(list prices of \d{4}-\d\d-\d\d\)/);
});

test('destroy runs in reverse order and forgets the deployment', async () => {
  await run(THREE, 'apply');
  writeFileSync(callLog, '');
  const result = await run(THREE, 'destroy');
  expect(calls().map((c) => `${c.stack}: ${c.args}`)).toEqual([
    'tsr-test-eu-west-1: init -input=false -no-color',
    'tsr-test-eu-west-1: destroy -auto-approve -input=false -no-color',
    'tsr-test-us-west-2: init -input=false -no-color',
    'tsr-test-us-west-2: destroy -auto-approve -input=false -no-color',
    'tsr-test-us-east-1: init -input=false -no-color',
    'tsr-test-us-east-1: destroy -auto-approve -input=false -no-color',
    'tsr-test-global: init -input=false -no-color',
    'tsr-test-global: destroy -auto-approve -input=false -no-color',
  ]);
  expect(result.stacks.every((s) => s.status === 'destroyed')).toBe(true);
  expect(existsSync(result.recordFile)).toBe(false);
});

describe('destroy after a rotation: the region holding the database writers goes last', () => {
  /** Aurora answers that `app`'s writer is in `writer`, every other region a secondary. */
  function writersIn(byApp: Record<string, string>) {
    for (const [app, writer] of Object.entries(byApp)) {
      const short = app === 'trade' ? 'tm' : 'st';
      rds.on(DescribeGlobalClustersCommand, { GlobalClusterIdentifier: `tsr-test-${short}-core` }).resolves({
        GlobalClusters: [
          {
            GlobalClusterMembers: THREE.map((region) => ({
              DBClusterArn: `arn:aws:rds:${region}:123456789012:cluster:tsr-test-${short}-core-${region}`,
              IsWriter: region === writer,
            })),
          },
        ],
      });
    }
  }
  const destroyed = () =>
    calls()
      .filter((c) => c.args.startsWith('destroy'))
      .map((c) => c.stack);

  test('writers in us-west-2: us-west-2 is destroyed after the other regions, before the global stack', async () => {
    await run(THREE, 'apply');
    writeFileSync(callLog, '');
    writersIn({ trade: 'us-west-2', settlement: 'us-west-2' });
    await run(THREE, 'destroy');
    expect(destroyed()).toEqual(['tsr-test-eu-west-1', 'tsr-test-us-east-1', 'tsr-test-us-west-2', 'tsr-test-global']);
  });

  test('a second destroy after a destroy (nothing left) and a redeploy then destroy run in the same order', async () => {
    await run(THREE, 'apply');
    await run(THREE, 'destroy');
    writeFileSync(callLog, '');
    // Everything is gone: terraform destroys nothing, and the run still succeeds.
    const again = await run(THREE, 'destroy');
    expect(again.stacks.every((s) => s.status === 'destroyed')).toBe(true);
    expect(destroyed()).toEqual(['tsr-test-eu-west-1', 'tsr-test-us-west-2', 'tsr-test-us-east-1', 'tsr-test-global']);
    await run(THREE, 'apply');
    writeFileSync(callLog, '');
    await run(THREE, 'destroy');
    expect(destroyed()).toEqual(['tsr-test-eu-west-1', 'tsr-test-us-west-2', 'tsr-test-us-east-1', 'tsr-test-global']);
  });

  test('writers in two regions: refused before anything is destroyed, naming the rotation that fixes it', async () => {
    await run(THREE, 'apply');
    writeFileSync(callLog, '');
    writersIn({ trade: 'us-west-2', settlement: 'us-east-1' });
    const error = await run(THREE, 'destroy').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(
      /writers are in different regions \(trade's in us-west-2, settlement's in us-east-1\)/,
    );
    expect((error as UserError).fix).toMatch(/tsr rotate settlement --to us-west-2 --target aws/);
    expect(destroyed()).toEqual([]);
  });
});

test('a failing stack is named, later stacks do not run, earlier stay applied, and a re-run continues', async () => {
  const failure = await run(THREE, 'apply', { FAKE_TF_FAIL_STACK: 'tsr-test-us-east-1' }).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(AwsDeploymentError);
  const error = failure as AwsDeploymentError;
  expect(error.failedStack).toBe('tsr-test-us-east-1');
  expect(error.message).toContain('applying stack tsr-test-us-east-1 failed (terraform apply)');
  expect(error.message).toContain('InvalidParameter: boom');
  expect(error.fix).toContain('run the same command again');
  expect(error.result.stacks.map((s) => s.status)).toEqual(['applied', 'failed', 'not-run', 'not-run']);
  expect(new Set(calls().map((c) => c.stack))).toEqual(new Set(['tsr-test-global', 'tsr-test-us-east-1']));

  const file = deploymentRecordPath(path.join(root, 'cdktf.out'), 'test');
  const record = readDeploymentRecord(file);
  expect(record?.regions).toEqual(THREE);
  expect(record?.stacks['tsr-test-global'].status).toBe('applied');
  expect(record?.stacks['tsr-test-us-east-1'].status).toBe('failed');

  writeFileSync(callLog, '');
  const again = await run(THREE, 'apply');
  expect(again.stacks.every((s) => s.status === 'applied')).toBe(true);
  expect(
    calls()
      .filter((c) => c.args.startsWith('apply'))
      .map((c) => c.stack),
  ).toEqual([
    'tsr-test-global',
    'tsr-test-us-east-1',
    'tsr-test-us-west-2',
    'tsr-test-eu-west-1',
    'tsr-test-us-east-1',
    'tsr-test-us-west-2',
  ]);
  expect(again.stacks.map((s) => s.reappliedFor)).toEqual([
    undefined,
    ['us-west-2', 'eu-west-1'],
    ['eu-west-1'],
    undefined,
  ]);
});

test('a region list that differs from the deployed one is refused before anything runs', async () => {
  await run(TWO, 'apply');
  writeFileSync(callLog, '');
  for (const regions of [THREE, ['us-west-2', 'us-east-1']]) {
    const error = await run(regions, 'apply').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toContain('is deployed in us-east-1, us-west-2');
    expect((error as UserError).fix).toContain('--regions us-east-1,us-west-2');
  }
  expect(calls()).toEqual([]);
});

test('no terraform and no tofu on PATH is a clear error naming both', async () => {
  const error = await run(TWO, 'apply', {}, [path.join(root, 'empty')]).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).message).toMatch(/neither terraform nor tofu was found on PATH/);
  expect((error as UserError).fix).toMatch(/OpenTofu/);
  expect(sts.calls()).toHaveLength(0);
});

test('tofu is used when terraform is absent', async () => {
  const tofuOnly = path.join(root, 'tofu-bin');
  makeBin(tofuOnly, 'tofu');
  const result = await run(TWO, 'plan', {}, [tofuOnly]);
  expect(result.binary).toEqual({ name: 'tofu', path: path.join(tofuOnly, 'tofu') });
});

test.each([
  [
    'missing',
    Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
    /no AWS credentials found/,
  ],
  [
    'expired',
    Object.assign(new Error('The security token included in the request is expired'), {
      name: 'ExpiredTokenException',
    }),
    /have expired/,
  ],
  [
    'invalid',
    Object.assign(new Error('The security token included in the request is invalid.'), {
      name: 'InvalidClientTokenId',
    }),
    /rejected the credentials/,
  ],
])('%s AWS credentials stop the run before terraform, with a fix', async (_label, stsError, message) => {
  rds.reset();
  rds
    .on(DescribeGlobalClustersCommand)
    .rejects(new GlobalClusterNotFoundFault({ message: 'not found', $metadata: {} }));
  sts.reset();
  sts.on(GetCallerIdentityCommand).rejects(stsError);
  const error = await run(TWO, 'apply').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).message).toMatch(message);
  expect((error as UserError).fix).toMatch(/aws sso login/);
  expect(calls()).toEqual([]);
});

test('credentials of another account than configured are refused', async () => {
  const cfg = { ...config(TWO), aws: { ...config(TWO).aws, accountId: '999999999999' } };
  const error = await runAwsDeployment(cfg, {
    mode: 'plan',
    outDir: path.join(root, 'cdktf.out'),
    renderer: 'silent',
    env: { PATH: `${bin}:/usr/bin:/bin`, FAKE_TF_LOG: callLog },
  }).catch((e: unknown) => e);
  expect((error as UserError).message).toMatch(/belong to account 123456789012.*says 999999999999/);
});

describe("second pass for the other regions' broker endpoints", () => {
  test('a later apply with unchanged brokers applies each stack once', async () => {
    await run(THREE, 'apply');
    writeFileSync(callLog, '');
    const again = await run(THREE, 'apply');
    expect(
      calls()
        .filter((c) => c.args.startsWith('apply'))
        .map((c) => c.stack),
    ).toEqual(['tsr-test-global', 'tsr-test-us-east-1', 'tsr-test-us-west-2', 'tsr-test-eu-west-1']);
    expect(again.stacks.every((s) => s.reappliedFor === undefined)).toBe(true);
  });

  test('a region whose broker endpoints changed makes the earlier regions apply again', async () => {
    await run(THREE, 'apply');
    writeFileSync(callLog, '');
    const again = await run(THREE, 'apply', {
      FAKE_TF_BROKER_STACK: 'tsr-test-eu-west-1',
      FAKE_TF_BROKER_HOST: 'replaced.mq.example',
    });
    expect(
      calls()
        .filter((c) => c.args.startsWith('apply'))
        .map((c) => c.stack),
    ).toEqual([
      'tsr-test-global',
      'tsr-test-us-east-1',
      'tsr-test-us-west-2',
      'tsr-test-eu-west-1',
      'tsr-test-us-east-1',
      'tsr-test-us-west-2',
    ]);
    expect(again.stacks.map((s) => s.reappliedFor)).toEqual([undefined, ['eu-west-1'], ['eu-west-1'], undefined]);
  });
});

describe('routing controls after the first apply', () => {
  const FIRST_BATCH = [
    'settlement-dns-us-east-1=On',
    'settlement-dns-us-west-2=Off',
    'settlement-gate=On',
    'trade-dns-us-east-1=On',
    'trade-dns-us-west-2=Off',
    'trade-gate=On',
    'trade-generator=Off',
  ];
  const SECOND_BATCH = [
    'settlement-app-us-east-1=On',
    'settlement-app-us-west-2=Off',
    'settlement-queue-us-east-1=On',
    'settlement-queue-us-west-2=Off',
    'trade-app-us-east-1=On',
    'trade-app-us-west-2=Off',
    'trade-queue-us-east-1=On',
    'trade-queue-us-west-2=Off',
  ];
  const GATES_CLOSED = ['settlement-gate=Off', 'trade-gate=Off'];

  test('the first apply sets the deploy-time states in three rule-abiding batches and records it', async () => {
    arcLists(TWO);
    const result = await run(TWO, 'apply');
    expect(arc.commandCalls(ListRoutingControlsCommand)[0].args[0].input).toEqual({
      ControlPanelArn: PANEL,
      NextToken: undefined,
    });
    // dns (one ON per app for the assertion rule) with the gates opened; queue/app behind them; gates closed.
    expect(updateBatches()).toEqual([FIRST_BATCH, SECOND_BATCH, GATES_CLOSED]);
    expect(result.routingControls).toMatchObject({ action: 'initialized' });
    expect(readDeploymentRecord(result.recordFile)?.routingControls?.status).toBe('initialized');
    expect(renderAwsDeployment(result)).toMatch(/Routing controls set to their deploy-time states: us-east-1 ON/);
  });

  test('later applies never touch them (a rotation stays as it is)', async () => {
    arcLists(TWO);
    await run(TWO, 'apply');
    arc.resetHistory();
    const again = await run(TWO, 'apply');
    expect(arc.calls()).toHaveLength(0);
    expect(again.routingControls).toMatchObject({ action: 'unchanged' });
  });

  test('controls already ON without a record (another machine deployed) are adopted, not reset', async () => {
    arcLists(TWO, (control) => (control.includes('us-west-2') && !control.includes('-dns-') ? 'On' : 'Off'));
    const result = await run(TWO, 'apply');
    expect(arc.commandCalls(UpdateRoutingControlStatesCommand)).toHaveLength(0);
    expect(result.routingControls).toMatchObject({ action: 'adopted' });
    expect(readDeploymentRecord(result.recordFile)?.routingControls?.status).toBe('adopted');
    expect(renderAwsDeployment(result)).toMatch(/left as found \(already ON: .*trade-queue-us-west-2/);
  });

  test('plan says they will be set after the first apply', async () => {
    const result = await run(TWO, 'plan');
    expect(result.routingControls).toEqual({ action: 'pending' });
    expect(arc.calls()).toHaveLength(0);
  });

  test('a refused batch closes the gates, names the step, and the re-run continues the initialisation', async () => {
    arcLists(TWO);
    arc
      .on(UpdateRoutingControlStatesCommand)
      .resolvesOnce({})
      .rejectsOnce(
        new ConflictException({
          message: 'refused by trade-gate-queue-and-app',
          $metadata: {},
          resourceId: '',
          resourceType: 'SafetyRule',
        }),
      )
      .resolves({});
    const error = (await run(TWO, 'apply').catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toMatch(/initial routing-control states failed at step 2 of 3 \(queue and app controls/);
    expect(error.message).toMatch(/gates were closed again/);
    expect(error.fix).toMatch(/run the same `tsr deploy --target aws` again/);
    expect(updateBatches()).toEqual([FIRST_BATCH, SECOND_BATCH, GATES_CLOSED]);
    const file = deploymentRecordPath(path.join(root, 'cdktf.out'), 'test');
    expect(readDeploymentRecord(file)?.routingControls?.status).toBe('initializing');

    // dns controls are ON now, but the record says the initialisation is ours and unfinished: it continues.
    arc.reset();
    arcLists(TWO, (control) => (control.endsWith('-dns-us-east-1') ? 'On' : 'Off'));
    arc.on(UpdateRoutingControlStatesCommand).resolves({});
    const again = await run(TWO, 'apply');
    expect(updateBatches()).toEqual([FIRST_BATCH, SECOND_BATCH, GATES_CLOSED]);
    expect(again.routingControls).toMatchObject({ action: 'initialized' });
    expect(readDeploymentRecord(file)?.routingControls?.status).toBe('initialized');
  });

  test('global outputs without the routing-control ARNs stop with a fix instead of guessing ARNs', async () => {
    const error = (await run(TWO, 'apply', { FAKE_TF_GLOBAL_OUTPUT: '' }).catch((e: unknown) => e)) as UserError;
    expect(error).toBeInstanceOf(UserError);
    expect(error.message).toMatch(/outputs lack the ARNs of .*trade-gate/);
    expect(arc.calls()).toHaveLength(0);
  });
});

describe('rendering', () => {
  test('the summary lists every stack with status, changes and duration', async () => {
    const result = await run(TWO, 'plan');
    const text = renderAwsDeployment(result);
    expect(text).toMatch(/^Planned 3 stacks of "test" \(us-east-1, us-west-2\) in account 123456789012 with terraform/);
    for (const stack of ['tsr-test-global', 'tsr-test-us-east-1', 'tsr-test-us-west-2']) {
      expect(text).toMatch(new RegExp(`${stack}\\s+planned\\s+\\+7 ~1 -0\\s+\\d+\\.\\d s`));
    }
  });

  test('a failure shows which stack failed and where its log is', async () => {
    const error = (await run(TWO, 'apply', { FAKE_TF_FAIL_STACK: 'tsr-test-us-west-2' }).catch(
      (e: unknown) => e,
    )) as AwsDeploymentError;
    const text = renderAwsFailure(error);
    const log = path.join(root, 'cdktf.out', 'stacks', 'tsr-test-us-west-2', 'tsr-apply.log');
    expect(text).toContain(`Stack tsr-test-us-west-2 failed in terraform apply; full log: ${log}`);
    expect(text).toMatch(/tsr-test-us-east-1\s+applied/);
    expect(text).toMatch(/tsr-test-us-west-2\s+failed/);
    expect(existsSync(log)).toBe(true);
  });
});
