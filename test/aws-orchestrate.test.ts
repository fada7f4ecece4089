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
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../src/config/load.js';
import { UserError } from '../src/errors.js';
import { deploymentRecordPath, readDeploymentRecord } from '../src/infra/aws/deployment-record.js';
import { AwsDeploymentError, runAwsDeployment, type AwsDeploymentOptions } from '../src/infra/aws/orchestrate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FAKE = path.join(here, 'fixtures', 'aws', 'fake-terraform.sh');
const sts = mockClient(STSClient);

let root: string;
let bin: string;
let callLog: string;

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
    env: { PATH: [...pathDirs, '/usr/bin', '/bin'].join(':'), FAKE_TF_LOG: callLog, ...extraEnv },
  });
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tsr-orchestrate-'));
  bin = path.join(root, 'bin');
  makeBin(bin, 'terraform');
  callLog = path.join(root, 'calls.log');
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/ci' });
});

afterEach(() => rmSync(root, { recursive: true, force: true }));
afterAll(() => sts.restore());

const TWO = ['us-east-1', 'us-west-2'];
const THREE = ['us-east-1', 'us-west-2', 'eu-west-1'];

test('apply runs init, apply and output per stack in dependency order, in each stack directory', async () => {
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
  ]);
  for (const call of calls()) {
    expect(call.cwd).toBe(path.join(root, 'cdktf.out', 'stacks', call.stack));
    expect(existsSync(path.join(call.cwd, 'cdk.tf.json'))).toBe(true);
  }
  expect(result.stacks.map((s) => [s.stack, s.status])).toEqual([
    ['tsr-test-global', 'applied'],
    ['tsr-test-us-east-1', 'applied'],
    ['tsr-test-us-west-2', 'applied'],
  ]);
  expect(result.account).toBe('123456789012');
  expect(result.binary.name).toBe('terraform');
  expect(result.global?.arcEndpoints).toEqual([
    { region: 'us-east-1', url: 'https://aaa.route53-recovery-cluster.us-east-1.amazonaws.com/v1' },
    { region: 'eu-west-1', url: 'https://bbb.route53-recovery-cluster.eu-west-1.amazonaws.com/v1' },
  ]);
  const record = readDeploymentRecord(result.recordFile);
  expect(record?.regions).toEqual(TWO);
  expect(record?.global?.routingControlArns['trade-dns-us-east-1']).toMatch(/routingcontrol\/r1$/);
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
  ).toEqual(['tsr-test-global', 'tsr-test-us-east-1', 'tsr-test-us-west-2', 'tsr-test-eu-west-1']);
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
