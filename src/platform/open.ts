import type { TsrConfig } from '../config/model.js';
import { requireState } from '../infra/local/state.js';
import { assertSupervisorAlive, LocalPlatform } from './local-platform.js';
import type { Platform } from './platform.js';

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
