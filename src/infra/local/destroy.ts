import { existsSync, rmSync } from 'node:fs';
import type { TsrConfig } from '../../config/model.js';
import { findWorkspaceProcesses, terminate } from './processes.js';
import { portAnswers } from './ports.js';
import { isAlive, readStateIfValid, removeState, workspacePaths } from './state.js';

export interface LocalDestroyResult {
  readonly wasDeployed: boolean;
  /** Processes that were running and are now stopped. */
  readonly stopped: number;
  /** Processes that ignored SIGTERM and had to be killed. */
  readonly killed: number;
  /** Ports still accepting connections afterwards (should be none). */
  readonly portsStillOpen: number[];
  readonly purged: boolean;
  readonly durationMs: number;
}

/** Stops every process of the local platform (found from the state file and from the OS), optionally wiping data. */
export async function destroyLocal(config: TsrConfig, { purge = false } = {}): Promise<LocalDestroyResult> {
  const started = Date.now();
  const { workspace } = config;
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
  if (purge && existsSync(workspace)) rmSync(workspace, { recursive: true, force: true });
  return {
    wasDeployed: Boolean(state) || running.length > 0,
    stopped: running.length,
    killed,
    portsStillOpen,
    purged: purge,
    durationMs: Date.now() - started,
  };
}
