import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { APPS, STAGES } from '../../src/config/apps.js';
import { loadConfig } from '../../src/config/load.js';
import { inboundClientId } from '../../src/config/model.js';
import { readStackJson, synthesize } from '../../src/infra/aws/synth.js';
import { publisherClientId } from '../../src/services/messaging/publisher.js';
import { loadServiceConfig, type ServiceConfig } from '../../src/services/runtime/service-config.js';
import { withEcsWorkerId } from '../../src/services/runtime/worker-id.js';
import { withoutInterpolations } from '../helpers/terraform-json.js';

type Block = Record<string, unknown>;
interface Container {
  image: string;
  command?: string[];
  readonlyRootFilesystem: boolean;
  mountPoints?: { containerPath: string }[];
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
}

/**
 * What Terraform and ECS would put in place of each interpolated value or injected secret at run time: realistic
 * values of the right shape (active and standby broker instances per region, as Amazon MQ reports them).
 */
function runtimeValue(name: string, regions: readonly string[]): string {
  switch (name) {
    case 'TSR_BROKER_URLS':
      return regions.flatMap((r) => [1, 2].map((i) => `${r}=mqtts://b-1234-${i}.mq.${r}.amazonaws.com:8883`)).join(',');
    case 'TSR_ARC_ENDPOINTS':
      return regions.map((r) => `${r}=https://host-abc.${r}.example.com/v1`).join(',');
    case 'TSR_CONTROL_PANEL_ARN':
      return 'arn:aws:route53-recovery-control::111122223333:controlpanel/abc';
    case 'TSR_PG_HOST':
      return 'tsr-test-tm-core.cluster-abc.us-east-1.rds.amazonaws.com';
    case 'TSR_PG_PORT':
      return '5432';
    case 'TSR_BROKER_USERNAME':
    case 'TSR_PG_USER':
      return 'tsr_user';
    case 'TSR_BROKER_PASSWORD':
    case 'TSR_PG_PASSWORD':
      return 'Secret123FromSecretsManager';
    default:
      throw new Error(`no runtime value for ${name}`);
  }
}

/** The environment ECS gives the container of `task`: plain variables, interpolations resolved, secrets injected. */
function containerEnvironment(container: Container, regions: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const { name, value } of container.environment)
    env[name] = value.includes('TF_EXPR') ? runtimeValue(name, regions) : value;
  for (const { name } of container.secrets) env[name] = runtimeValue(name, regions);
  return env;
}

/** The ECS task metadata endpoint (v4) of a task, as ECS answers it. */
function metadataOf(taskId: string) {
  return async (url: string) => {
    expect(url).toBe(`http://169.254.170.2/v4/${taskId}-1234/task`);
    return { Cluster: 'tsr-test', TaskARN: `arn:aws:ecs:us-east-1:111122223333:task/tsr-test/${taskId}` };
  };
}

describe.each([
  ['two', ['us-east-1', 'us-west-2']],
  ['three', ['us-east-1', 'us-west-2', 'eu-west-1']],
])('every synthesized task environment starts its service (%s regions)', (_label, regions) => {
  let dir: string;
  let tasks: { region: string; family: string; container: Container; service: Block }[];
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-task-env-'));
    const config = loadConfig({ environment: 'test', regions, target: 'aws' }, {}, dir);
    const result = synthesize(config, path.join(dir, 'out'));
    tasks = result.stacks
      .filter((s) => s.kind === 'regional')
      .flatMap((s) => {
        const json = readStackJson(s.dir);
        const services = Object.values(json.resource?.aws_ecs_service ?? {}) as Block[];
        return (Object.values(json.resource?.aws_ecs_task_definition ?? {}) as Block[]).map((task) => {
          const [container] = JSON.parse(withoutInterpolations(task.container_definitions as string)) as Container[];
          const service = services.find((x) => x.name === task.family) as Block;
          return { region: s.region as string, family: task.family as string, container, service };
        });
      });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the real service config loader accepts each one, with a worker id per task from the ECS metadata', async () => {
    expect(tasks).toHaveLength(regions.length * (APPS.length * STAGES.length + 1));
    const stages = new Set<string>();
    for (const { region, family, container } of tasks) {
      const env = {
        ...containerEnvironment(container, regions),
        ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/0a1b2c3d4e-1234',
      };
      let config: ServiceConfig | undefined;
      try {
        config = loadServiceConfig(await withEcsWorkerId(env, metadataOf('0a1b2c3d4e')));
      } catch (error) {
        throw new Error(`${family} in ${region}: ${(error as Error).message}`);
      }
      expect(config.target).toBe('aws');
      expect(config.region).toBe(region);
      expect(config.workerId).toMatch(new RegExp(`-${region}-0a1b2c3d4e$`));
      // Every region's broker, active and standby instance.
      for (const r of regions) expect(config.brokerUrls[r]).toHaveLength(2);
      stages.add(config.app ? `${config.app}/${config.stage}` : config.stage);
      if (family.endsWith('-generator')) {
        expect(config.stage).toBe('generator');
        expect(config.app).toBeUndefined();
      }
      const usesBroker = ['inbound-gateway', 'outbound-gateway', 'generator'].includes(config.stage);
      expect({ family, login: config.brokerCredentials?.username }).toEqual({
        family,
        login: usesBroker ? 'tsr_user' : undefined,
      });
      // The image's entrypoint runs the service: no command that it would ignore.
      expect(container.command).toBeUndefined();
    }
    expect(stages).toEqual(new Set([...APPS.flatMap((app) => STAGES.map((stage) => `${app}/${stage}`)), 'generator']));
  });

  test('two tasks of one service get distinct worker ids and MQTT client ids; an inbound session has one owner', async () => {
    for (const { family, container, service } of tasks) {
      const configs: ServiceConfig[] = [];
      for (const taskId of ['aaaa1111', 'bbbb2222']) {
        const env = {
          ...containerEnvironment(container, regions),
          ECS_CONTAINER_METADATA_URI_V4: `http://169.254.170.2/v4/${taskId}-1234`,
        };
        configs.push(loadServiceConfig(await withEcsWorkerId(env, metadataOf(taskId))));
      }
      const [a, b] = configs;
      expect(a.workerId).not.toBe(b.workerId);
      expect(publisherClientId('x', a.region, a.workerId)).not.toBe(publisherClientId('x', b.region, b.workerId));
      if (a.stage === 'inbound-gateway') {
        // The persistent session's client id is per app and region: its ECS service never runs two tasks, not even
        // while a deployment replaces one (the old task stops first).
        expect(inboundClientId(a.app!, a.region)).toBe(inboundClientId(b.app!, b.region));
        expect(service).toMatchObject({
          desired_count: 1,
          deployment_maximum_percent: 100,
          deployment_minimum_healthy_percent: 0,
        });
      } else if (a.stage !== 'generator') {
        expect({ family, max: service.deployment_maximum_percent }).toEqual({ family, max: 200 });
      }
    }
  });

  test('the generator writes its ledger to the replicated ledger table, and has a task volume for scratch, not the read-only root filesystem', () => {
    for (const { family, container } of tasks.filter((t) => t.family.endsWith('-generator'))) {
      expect(container.readonlyRootFilesystem).toBe(true);
      expect(container.environment.find((e) => e.name === 'TSR_GENERATOR_LEDGER_TABLE')?.value).toMatch(
        /-generator-ledger$/,
      );
      const workspace = container.environment.find((e) => e.name === 'TSR_WORKSPACE')?.value;
      expect({ family, mounts: container.mountPoints?.map((m) => m.containerPath) }).toEqual({
        family,
        mounts: [workspace],
      });
    }
  });
});

test('without TSR_WORKER_ID and outside ECS the loader names the missing variable', async () => {
  const env = await withEcsWorkerId({ TSR_ENV: 'dev', TSR_REGION: 'us-east-1', TSR_REGIONS: 'us-east-1' });
  expect(env.TSR_WORKER_ID).toBeUndefined();
  expect(() => loadServiceConfig({ ...env, TSR_STAGE: 'generator' })).toThrow(/TSR_WORKER_ID: missing/);
});
