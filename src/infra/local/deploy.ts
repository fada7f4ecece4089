import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, openSync, closeSync, statSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TsrConfig } from '../../config/model.js';
import { ExitCode, UserError } from '../../errors.js';
import { logTail } from './engine-process.js';
import { findWorkspaceProcesses, terminate } from './processes.js';
import { isAlive, type LocalState, readState, readStateIfValid, removeState, workspacePaths } from './state.js';
import type { DeployPlan } from './supervisor.js';
import { claimWorkspace } from './workspace.js';
import { COLLECTOR_FLAGS, LEAN_HEAP_FLAGS } from './node-flags.js';

const SUPERVISOR_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'supervisor-main.js');

/** The steps a local deploy goes through, in order, as the supervisor reports them. */
export const DEPLOY_PHASES = [
  'allocating ports',
  'starting engines',
  'creating streams and tables',
  'setting up PostgreSQL replication',
  'applying core database schemas',
  'starting services',
  'ready',
] as const;

export interface LocalDeployResult {
  readonly outcome: 'started' | 'already-running';
  readonly durationMs: number;
  readonly state: LocalState;
}

export interface LocalDeployOptions {
  readonly onPhase?: (phase: string) => void;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must be able to reach the data directory: every folder
 * above the workspace needs to be searchable by others.
 */
function checkWorkspaceUsable(workspace: string): void {
  mkdirSync(workspace, { recursive: true });
  try {
    accessSync(workspace, constants.W_OK);
  } catch {
    throw new UserError(
      `the workspace ${workspace} is not writable`,
      'choose another with --workspace or TSR_WORKSPACE',
    );
  }
  claimWorkspace(workspace);
  if (userInfo().uid !== 0) return;
  for (let dir = workspace; ; dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new UserError(
        `PostgreSQL runs as the "postgres" user when tsr runs as root, and it cannot enter ${dir}`,
        `put the workspace somewhere it can reach (e.g. --workspace /tmp/tsr), or run \`chmod o+x ${dir}\``,
      );
    }
    if (dir === path.dirname(dir)) break;
  }
}

/** Stops what a dead supervisor left behind and forgets its state, so a new deploy starts clean. */
export async function cleanUpStale(workspace: string, state?: LocalState): Promise<void> {
  const recorded = state ? state.processes.flatMap((p) => [p.pid, ...(p.childPids ?? [])]) : [];
  const pids = [...new Set([...recorded, ...findWorkspaceProcesses(workspace)])].filter((p): p is number => !!p);
  await terminate(pids, 5_000);
  removeState(workspace);
}

function sameShape(state: LocalState, config: TsrConfig): boolean {
  return state.environment === config.environment && state.regions.join(',') === config.regions.join(',');
}

/** Starts the local platform as a detached supervisor and waits until every engine answers. */
export async function deployLocal(config: TsrConfig, options: LocalDeployOptions = {}): Promise<LocalDeployResult> {
  const started = Date.now();
  const { workspace } = config;
  checkWorkspaceUsable(workspace);
  const existing = readState(workspace);
  if (existing && isAlive(existing.supervisor.pid)) {
    if (!sameShape(existing, config)) {
      throw new UserError(
        `a platform is already deployed in ${workspace} for environment "${existing.environment}" in ` +
          `${existing.regions.join(', ')}, not "${config.environment}" in ${config.regions.join(', ')}`,
        'run `tsr destroy --yes` first, or use another --workspace',
      );
    }
    if (existing.status !== 'starting')
      return { outcome: 'already-running', durationMs: Date.now() - started, state: existing };
  } else if (existing || findWorkspaceProcesses(workspace).length) {
    await cleanUpStale(workspace, existing);
  }

  const paths = workspacePaths(workspace);
  mkdirSync(paths.logs, { recursive: true });
  const plan: DeployPlan = { config };
  writeFileSync(paths.plan, JSON.stringify(plan, null, 2));
  const supervisorLog = path.join(paths.logs, 'supervisor.log');
  const logFd = openSync(supervisorLog, 'a');
  // The supervisor runs as long as the platform: the same lean heap as its engines and services, collected on growth.
  const child = spawn(process.execPath, [...LEAN_HEAP_FLAGS, ...COLLECTOR_FLAGS, SUPERVISOR_MAIN, workspace], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  child.unref();
  return waitUntilReady(config, child.pid as number, supervisorLog, started, options);
}

async function waitUntilReady(
  config: TsrConfig,
  supervisorPid: number,
  supervisorLog: string,
  started: number,
  { onPhase, signal, timeoutMs = 180_000 }: LocalDeployOptions,
): Promise<LocalDeployResult> {
  let lastPhase: string | undefined;
  const deadline = started + timeoutMs;
  for (;;) {
    if (signal?.aborted) {
      await terminate([supervisorPid], 15_000);
      await cleanUpStale(config.workspace, readStateIfValid(config.workspace));
      throw new UserError(
        'deploy interrupted: everything it had started was stopped',
        'run `tsr deploy` again when ready',
        ExitCode.interrupted,
      );
    }
    const state = readStateIfValid(config.workspace);
    if (state && state.supervisor.pid === supervisorPid) {
      if (state.phase && state.phase !== lastPhase) {
        lastPhase = state.phase;
        onPhase?.(state.phase);
      }
      if (state.status === 'ready') return { outcome: 'started', durationMs: Date.now() - started, state };
      if (state.status === 'failed') {
        await terminate([supervisorPid], 15_000);
        removeState(config.workspace);
        const tail = state.error?.logTail ? `\n--- last lines of ${state.error.log} ---\n${state.error.logTail}` : '';
        throw new UserError(
          `deploy failed: ${state.error?.message ?? 'unknown error'}${tail}`,
          `read ${state.error?.log ?? supervisorLog}; fix the cause and run \`tsr deploy\` again (nothing was left running)`,
          ExitCode.failure,
        );
      }
    }
    if (!isAlive(supervisorPid)) {
      await cleanUpStale(config.workspace, readStateIfValid(config.workspace));
      throw new UserError(
        `deploy failed: the control process exited\n--- last lines of ${supervisorLog} ---\n${logTail(supervisorLog)}`,
        'fix the cause shown above and run `tsr deploy` again (nothing was left running)',
        ExitCode.failure,
      );
    }
    if (Date.now() > deadline) {
      await terminate([supervisorPid], 15_000);
      await cleanUpStale(config.workspace, readStateIfValid(config.workspace));
      throw new UserError(
        `deploy did not finish within ${timeoutMs / 1000} s (stuck at: ${lastPhase})`,
        `see ${supervisorLog}`,
        ExitCode.failure,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
