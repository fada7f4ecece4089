import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError, ExitCode } from '../../errors.js';
import type { AppName } from '../../config/apps.js';
import type { TsrConfig } from '../../config/model.js';
import type { RegionEndpoints } from '../../clients/types.js';
import type { ServiceSnapshot } from './service-process.js';

/** The kinds of process the local platform runs. */
export type EngineKind = 'kinesis' | 'dynamodb' | 'broker' | 'postgres' | 'arc' | 'dynamo-link';

export interface ProcessRecord {
  /** Unique within a deployment, e.g. "kinesis@us-east-1" or "arc". */
  readonly id: string;
  readonly kind: EngineKind;
  readonly region?: string;
  readonly pid?: number;
  /** Extra OS processes the engine owns (the PostgreSQL postmaster), killed with it. */
  readonly childPids?: readonly number[];
  readonly ports: readonly number[];
  readonly endpoint?: string;
  readonly log: string;
  readonly up: boolean;
  readonly detail?: string;
}

export type DeploymentStatus = 'starting' | 'ready' | 'degraded' | 'failed' | 'stopping';

export interface LocalState {
  readonly version: 1;
  readonly environment: string;
  readonly regions: readonly string[];
  readonly workspace: string;
  readonly status: DeploymentStatus;
  /** What the supervisor is doing while starting, for progress display. */
  readonly phase?: string;
  readonly error?: { readonly message: string; readonly logTail?: string; readonly log?: string };
  readonly supervisor: { readonly pid: number; readonly controlPort: number; readonly log: string };
  readonly processes: readonly ProcessRecord[];
  /** Regions stopped on purpose by `tsr chaos region-down`. */
  readonly downRegions?: readonly string[];
  /** True while a game-day partition cuts the regions apart (docs/gamedays.md). */
  readonly partitioned?: boolean;
  /** The service processes (stages and generator), with their restart counts and metrics endpoints. */
  readonly services: readonly ServiceSnapshot[];
  readonly endpoints: {
    readonly regions: Readonly<Record<string, RegionEndpoints>>;
    readonly arc: readonly string[];
    readonly replicationLink?: string;
    readonly supervisor: string;
    /** The dashboard (its token is in <workspace>/secrets/dashboard-token, never here). */
    readonly dashboard?: string;
    /** How one region's services reach another's broker, by "from>to" (the relays a partition cuts). */
    readonly crossRegion?: Readonly<Record<string, string>>;
  };
  /** Region holding the PostgreSQL writer for each app's core database. */
  readonly writers: Readonly<Record<AppName, string>>;
  readonly startedAt: string;
  readonly readyAt?: string;
  readonly updatedAt: string;
}

export function workspacePaths(workspace: string) {
  return {
    workspace,
    state: path.join(workspace, 'state.json'),
    plan: path.join(workspace, 'plan.json'),
    logs: path.join(workspace, 'logs'),
    data: path.join(workspace, 'data'),
    secrets: path.join(workspace, 'secrets'),
    arcState: path.join(workspace, 'data', 'arc-state.json'),
  };
}

export function readState(workspace: string): LocalState | undefined {
  const file = workspacePaths(workspace).state;
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserError(
      `the state file ${file} is corrupt (${(error as Error).message})`,
      'run `tsr destroy --yes` to stop anything still running and clear it, then `tsr deploy`',
      ExitCode.failure,
    );
  }
  const state = parsed as Partial<LocalState>;
  if (state?.version !== 1 || !state.supervisor || !Array.isArray(state.processes)) {
    throw new UserError(
      `the state file ${file} is not one this version of tsr wrote`,
      'run `tsr destroy --yes` to clear it, then `tsr deploy`',
      ExitCode.failure,
    );
  }
  return state as LocalState;
}

/** The state if there is a valid one; a missing or corrupt file reads as none (cleanup must go on regardless). */
export function readStateIfValid(workspace: string): LocalState | undefined {
  try {
    return readState(workspace);
  } catch {
    return undefined;
  }
}

/** Atomic write: a reader never sees half a file. */
export function writeState(state: LocalState): void {
  const file = workspacePaths(state.workspace).state;
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(state, null, 2));
  renameSync(temp, file);
}

export function removeState(workspace: string): void {
  rmSync(workspacePaths(workspace).state, { force: true });
}

/** The state of a running deployment, or a clear "not deployed" error. */
export function requireState(config: TsrConfig): LocalState {
  const state = readState(config.workspace);
  if (!state) {
    throw new UserError(
      `the local platform is not deployed (no state in ${config.workspace})`,
      'run `tsr deploy` first (or point --workspace at the deployment you mean)',
      ExitCode.notDeployed,
    );
  }
  return state;
}

export { isAlive } from './process-alive.js';
