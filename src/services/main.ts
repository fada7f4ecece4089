/**
 * The one entry point of every service, locally and in the ECS image: `node dist/services/main.js`, configured
 * entirely by environment (TSR_APP, TSR_STAGE, endpoints, … — see runtime/service-config.ts). It reports `ready`
 * to a supervising parent, and stops cleanly on SIGTERM/SIGINT or when the supervisor goes away.
 */
import { describeError } from '../errors.js';
import { startGeneratorService } from './generator/service.js';
import type { RunningService } from './host.js';
import { loadServiceConfig } from './runtime/service-config.js';
import { withEcsWorkerId } from './runtime/worker-id.js';
import { startStage } from './stages.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let service: RunningService | undefined;
let stopping = false;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code), 15_000).unref();
  try {
    await service?.stop();
  } catch (error) {
    console.error(JSON.stringify({ level: 50, msg: 'error while stopping', err: describeError(error) }));
  }
  process.exit(code);
}

process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
if (process.send) process.on('disconnect', () => void shutdown(0));

try {
  const config = loadServiceConfig(await withEcsWorkerId(process.env));
  service = config.stage === 'generator' ? await startGeneratorService(config) : await startStage(config);
  // With TSR_METRICS_PORT=0 the supervisor learns the port here (binding port 0 cannot collide).
  process.send?.({ type: 'ready', metricsPort: service.metricsPort });
} catch (error) {
  console.error(JSON.stringify({ level: 60, msg: 'service failed to start', err: describeError(error) }));
  await shutdown(1);
}
