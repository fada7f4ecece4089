/**
 * Entry point of the local platform's dashboard process: `node dist/dashboard/main.js`, started and restarted by
 * the platform's control process. Configured by environment: TSR_WORKSPACE (the plan `tsr deploy` wrote there
 * gives the configuration), TSR_DASHBOARD_TOKEN_FILE, TSR_DASHBOARD_PORT and TSR_DASHBOARD_ANY_PORT.
 */
import { readFileSync } from 'node:fs';
import type { TsrConfig } from '../config/model.js';
import { describeError } from '../errors.js';
import { runGameDay } from '../gameday/run.js';
import type { GameDayRunner } from './actions.js';
import { startDashboard } from './server.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

try {
  const workspace = required('TSR_WORKSPACE');
  const { config } = JSON.parse(readFileSync(`${workspace}/plan.json`, 'utf8')) as { config: TsrConfig };
  // The page's game-day button runs what `tsr gameday` runs (confirmed on the page by the environment name).
  const gameday: GameDayRunner = {
    available: true,
    async run(request, context) {
      // A scenario by name only (the page lists them): never a path to some file on this machine.
      const scenario = String(request.scenario ?? 'quick');
      if (!/^[\w.-]+$/.test(scenario) || /\.ya?ml$/.test(scenario))
        throw new Error(`a scenario is named as the page lists it, not "${scenario}"`);
      const result = await runGameDay(config, scenario, {
        yes: true,
        write: (text) => context.progress(text),
        onStart: (runId) => context.run(runId),
      });
      if (result.dryRun) return {};
      // A game day that did not pass is a failed action (its report is listed all the same).
      if (!result.report.passed)
        throw new Error(`game day ${scenario} did not pass (${result.report.status}): see ${result.files.html}`);
      return { runId: result.report.runId, report: result.files.html };
    },
  };
  const dashboard = await startDashboard({
    config,
    gameday,
    token: readFileSync(required('TSR_DASHBOARD_TOKEN_FILE'), 'utf8').trim(),
    port: Number(process.env.TSR_DASHBOARD_PORT ?? 0),
    anyPortIfTaken: process.env.TSR_DASHBOARD_ANY_PORT !== '0',
  });
  const stop = () => void dashboard.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.send) process.on('disconnect', stop);
  console.log(JSON.stringify({ level: 30, msg: 'dashboard listening', port: dashboard.port }));
  process.send?.({ type: 'ready', metricsPort: dashboard.port });
} catch (error) {
  console.error(JSON.stringify({ level: 60, msg: 'dashboard failed to start', err: describeError(error) }));
  process.exit(1);
}
