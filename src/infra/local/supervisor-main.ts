/**
 * Entry point of the detached control process of a local deployment:
 * `node dist/infra/local/supervisor-main.js <workspace>`. It reads the plan `tsr deploy` wrote and runs until stopped.
 */
import { readFileSync } from 'node:fs';
import { type DeployPlan, Supervisor } from './supervisor.js';
import { workspacePaths } from './state.js';
import { OWNER_VARIABLE } from './processes.js';
import { startHeapCollector } from '../../clients/heap-collector.js';

const workspace = process.argv[2];
process.env[OWNER_VARIABLE] = `${workspace}/`;
const plan = JSON.parse(readFileSync(workspacePaths(workspace).plan, 'utf8')) as DeployPlan;
const supervisor = new Supervisor(workspace, plan);
startHeapCollector();

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => void supervisor.stop().then(() => process.exit(0)));
}

try {
  await supervisor.run();
  console.log(`[tsr] local platform ready (pid ${process.pid})`);
} catch (error) {
  console.error(`[tsr] deploy failed: ${error instanceof Error ? error.stack : String(error)}`);
  await supervisor.fail(error);
  process.exit(1);
}
