/**
 * Entry point of one local engine process: `node dist/infra/local/engine-main.js` with the engine's spec in the
 * TSR_ENGINE_SPEC environment variable. The supervisor spawns it with an IPC channel; the engine reports
 * `ready` (or `failed`) over it, and stops cleanly on SIGTERM or when its supervisor goes away.
 */
import { readFileSync } from 'node:fs';
import { describeError } from '../../errors.js';
import { startEngine, type EngineSpec } from './engines/start-engine.js';
import type { StartedEngine } from './engines/server-util.js';
import { startHeapCollector } from '../../clients/heap-collector.js';

const spec = JSON.parse(process.env.TSR_ENGINE_SPEC ?? '{}') as EngineSpec;
let engine: StartedEngine | undefined;
let stopping = false;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const timer = setTimeout(() => process.exit(code), 10_000);
  timer.unref();
  try {
    await engine?.close();
  } catch (error) {
    console.error(`[tsr] error while stopping ${spec.kind}: ${describeError(error)}`);
  }
  process.exit(code);
}

process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
// The supervisor owns this process: if it is gone, nothing else will ever stop us.
process.on('disconnect', () => void shutdown(0));
// Engines are busy as long as the platform is: they collect on old-generation growth (the spawner exposes `gc`).
startHeapCollector();

try {
  const password = 'passwordFile' in spec ? readFileSync(spec.passwordFile, 'utf8').trim() : undefined;
  engine = await startEngine(spec, password);
  console.log(`[tsr] ${spec.kind} ready at ${engine.endpoint}`);
  process.send?.({ type: 'ready', endpoint: engine.endpoint, ports: engine.ports, childPids: engine.childPids ?? [] });
} catch (error) {
  console.error(`[tsr] ${spec.kind} failed to start: ${describeError(error)}`);
  process.send?.({ type: 'failed', message: describeError(error) });
  await shutdown(1);
}
