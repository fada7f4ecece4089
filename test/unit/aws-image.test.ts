import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { ECSClient, UpdateServiceCommand, type UpdateServiceCommandInput } from '@aws-sdk/client-ecs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../src/config/load.js';
import { UserError } from '../../src/errors.js';
import { buildImage, findDocker, pushImage } from '../../src/infra/aws/image.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.join(here, '..', '..');
const FAKE = path.join(here, '..', 'fixtures', 'aws', 'fake-docker.sh');
const sts = mockClient(STSClient);
const ecr = mockClient(ECRClient);
const ecs = mockClient(ECSClient);

let root: string;
let docker: string;
let log: string;
const env = () => ({ PATH: '/usr/bin:/bin', FAKE_DOCKER_LOG: log });
const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'tsr-image-'));
  mkdirSync(path.join(root, 'bin'));
  docker = path.join(root, 'bin', 'docker');
  copyFileSync(FAKE, docker);
  chmodSync(docker, 0o755);
  log = path.join(root, 'docker.log');
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/ci' });
  ecr.reset();
  ecs.reset();
  ecs.on(UpdateServiceCommand).resolves({});
});
afterEach(() => rmSync(root, { recursive: true, force: true }));
afterAll(() => {
  sts.restore();
  ecr.restore();
  ecs.restore();
});

test('build: docker buildx for the tasks’ architecture (linux/arm64), loaded as tsr-services:<tag>', async () => {
  const result = await buildImage({ docker, env: env() }, { context: REPO_ROOT, tag: 'v1' });
  expect(calls()).toEqual([`buildx build --platform linux/arm64 --tag tsr-services:v1 --load ${REPO_ROOT}`]);
  expect(result).toMatchObject({ image: 'tsr-services:v1', platform: 'linux/arm64' });
});

test('build failures and a missing docker or Dockerfile are errors that say what to do', async () => {
  const failed = await buildImage(
    { docker, env: { ...env(), FAKE_DOCKER_FAIL: 'buildx' } },
    { context: REPO_ROOT, tag: 'v1' },
  ).catch((e: unknown) => e as UserError);
  expect(failed).toBeInstanceOf(UserError);
  expect((failed as UserError).message).toMatch(/docker buildx build failed \(exit 1\):\n.*npm ci/);
  expect((failed as UserError).fix).toMatch(/QEMU/);
  await expect(buildImage({ docker, env: env() }, { context: root, tag: 'v1' })).rejects.toThrow(
    `no Dockerfile in ${root}`,
  );
  expect(() => findDocker({ PATH: '/nonexistent' })).toThrow(/docker was not found on PATH/);
  expect(findDocker({ PATH: path.join(root, 'bin') })).toBe(docker);
});

test('push: per region an ECR login on stdin, the tag and latest pushed, then every service rolled', async () => {
  const regions = ['us-east-1', 'us-west-2'];
  ecr.on(GetAuthorizationTokenCommand).callsFake(async (_input, getClient) => {
    const r = await (getClient() as ECRClient).config.region();
    return {
      authorizationData: [
        {
          authorizationToken: Buffer.from(`AWS:pw-${r}`).toString('base64'),
          proxyEndpoint: `https://123456789012.dkr.ecr.${r}.amazonaws.com`,
        },
      ],
    };
  });
  const config = loadConfig({ environment: 'test', regions, target: 'aws' }, {}, root);
  const result = await pushImage(config, { docker, env: env() }, { tag: 'v1' });
  const registry = (r: string) => `123456789012.dkr.ecr.${r}.amazonaws.com`;
  expect(calls()).toEqual(
    regions.flatMap((r) => [
      // The password goes on stdin, never on the command line.
      `login --username AWS --password-stdin ${registry(r)}\tstdin=pw-${r}`,
      `tag tsr-services:v1 ${registry(r)}/tsr-test-services:v1`,
      `push ${registry(r)}/tsr-test-services:v1`,
      `tag tsr-services:v1 ${registry(r)}/tsr-test-services:latest`,
      `push ${registry(r)}/tsr-test-services:latest`,
    ]),
  );
  const rolled = ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input as UpdateServiceCommandInput);
  // 2 apps × 5 stages + the generator, in each region, all as new deployments of the tsr cluster.
  expect(rolled).toHaveLength(2 * 11);
  expect(rolled.every((i) => i.cluster === 'tsr-test' && i.forceNewDeployment === true)).toBe(true);
  expect(result.regions.map((r) => [r.region, r.pushed.length, r.rolled.length])).toEqual([
    ['us-east-1', 2, 11],
    ['us-west-2', 2, 11],
  ]);
  expect(JSON.stringify(result)).not.toContain('pw-');
});

test('push --no-roll leaves the services alone; an ECS error after the push names what was done', async () => {
  ecr.on(GetAuthorizationTokenCommand).resolves({
    authorizationData: [
      { authorizationToken: Buffer.from('AWS:pw').toString('base64'), proxyEndpoint: 'https://r.example' },
    ],
  });
  const config = loadConfig({ environment: 'test', regions: ['us-east-1', 'us-west-2'], target: 'aws' }, {}, root);
  await pushImage(config, { docker, env: env() }, { tag: 'latest', roll: false });
  expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  // `latest` once, not twice.
  expect(calls().filter((c) => c.startsWith('push'))).toEqual([
    'push r.example/tsr-test-services:latest',
    'push r.example/tsr-test-services:latest',
  ]);
  ecs
    .on(UpdateServiceCommand)
    .rejects(Object.assign(new Error('Service not found.'), { name: 'ServiceNotFoundException' }));
  const error = await pushImage(config, { docker, env: env() }, { tag: 'latest' }).catch((e: unknown) => e);
  expect((error as UserError).message).toMatch(
    /pushed to r.example\/tsr-test-services, but rolling the services in us-east-1 failed/,
  );
});
