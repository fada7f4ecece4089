import { rmSync } from 'node:fs';
import type { TsrConfig } from '../../config/model.js';
import { findWorkspaceProcesses, terminate } from './processes.js';
import { portAnswers } from './ports.js';
import { isAlive, readStateIfValid, removeState, workspacePaths } from './state.js';
import { checkPurgeable, type PurgeResult, purgeWorkspace } from './workspace.js';

export interface LocalDestroyResult {
  readonly wasDeployed: boolean;
  /** Processes that were running and are now stopped. */
  readonly stopped: number;
  /** Processes that ignored SIGTERM and had to be killed. */
  readonly killed: number;
  /** Ports still accepting connections afterwards (should be none). */
  readonly portsStillOpen: number[];
  readonly purged: boolean;
  /** With purge: what was deleted and what was kept (drill history, anything tsr did not create). */
  readonly purge?: PurgeResult;
  readonly durationMs: number;
}

export interface LocalDestroyOptions {
  /** Delete what tsr created in the workspace (only in one carrying tsr's marker). */
  readonly purge?: boolean;
  /** With purge: the drill history (runbook journals and reports) too. */
  readonly purgeHistory?: boolean;
}

/**
 * Stops every process of the local platform (found from the state file and from the OS), optionally deleting what
 * tsr created in the workspace. A workspace that may not be purged is refused before anything is stopped.
 */
export async function destroyLocal(
  config: TsrConfig,
  { purge = false, purgeHistory = false }: LocalDestroyOptions = {},
): Promise<LocalDestroyResult> {
  const started = Date.now();
  const { workspace } = config;
  if (purge) checkPurgeable(workspace);
  const state = readStateIfValid(workspace);
  const recorded = state
    ? [state.supervisor.pid, ...state.processes.flatMap((p) => [p.pid, ...(p.childPids ?? [])])]
    : [];
  const candidates = [...new Set([...recorded, ...findWorkspaceProcesses(workspace)])].filter((p): p is number => !!p);
  const running = candidates.filter(isAlive);

  // The supervisor stops its engines in order; whatever is left after it has gone is stopped directly.
  const supervisorPid = state?.supervisor.pid;
  let killed = 0;
  if (supervisorPid && isAlive(supervisorPid)) killed += (await terminate([supervisorPid], 20_000)).length;
  killed += (
    await terminate(
      running.filter((p) => p !== supervisorPid),
      8_000,
    )
  ).length;
  const leftovers = findWorkspaceProcesses(workspace).filter(isAlive);
  killed += (await terminate(leftovers, 2_000)).length;

  const ports = state ? [state.supervisor.controlPort, ...state.processes.flatMap((p) => p.ports)] : [];
  const portsStillOpen: number[] = [];
  for (const port of ports) if (port && (await portAnswers(port))) portsStillOpen.push(port);

  const paths = workspacePaths(workspace);
  removeState(workspace);
  rmSync(paths.plan, { force: true });
  const purged = purge ? purgeWorkspace(workspace, { history: purgeHistory }) : undefined;
  return {
    wasDeployed: Boolean(state) || running.length > 0,
    stopped: running.length,
    killed,
    portsStillOpen,
    purged: purge,
    purge: purged,
    durationMs: Date.now() - started,
  };
}
