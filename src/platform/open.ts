import type { TsrConfig } from '../config/model.js';
import { requireState } from '../infra/local/state.js';
import { assertSupervisorAlive, LocalPlatform } from './local-platform.js';
import type { Platform } from './platform.js';
import { ExitCode, UserError } from '../errors.js';

/** The platform of the configured target. Commands and runbooks never talk to a target directly. */
export async function openPlatform(config: TsrConfig): Promise<Platform> {
  if (config.target === 'aws') {
    const { AwsPlatform } = await import('./aws/aws-platform.js');
    return new AwsPlatform(config);
  }
  const state = requireState(config);
  assertSupervisorAlive(state);
  return new LocalPlatform(config, state);
}

/** Commands that exist only on the local target (service processes, generator) use this. */
export async function openLocalPlatform(config: TsrConfig): Promise<LocalPlatform> {
  if (config.target !== 'local') {
    throw new UserError(
      `this command works on the local target; on aws, services run on ECS`,
      'use the ECS console or `aws ecs` for service control on AWS, or pass --target local',
      ExitCode.usage,
    );
  }
  return (await openPlatform(config)) as LocalPlatform;
}
