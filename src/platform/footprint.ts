/**
 * The local platform's footprint at one moment: memory per component (from /proc/<pid>/smaps_rollup of the
 * component's process tree) and disk per region and engine (what the workspace holds), for soak benchmarks, game-day
 * reports and the dashboard to chart over time, and for `tsr status` to warn when free disk runs low.
 */
import { lstatSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, UserError } from '../errors.js';
import { readState, type LocalState } from '../infra/local/state.js';
import type { DiskStatus } from './platform.js';

/** Memory of one component (an engine with the processes it owns, a service, the supervisor), in bytes. */
export interface ComponentMemory {
  /** e.g. "dynamodb@us-east-1", "trade/core@us-west-2", "supervisor". */
  readonly component: string;
  readonly kind: string;
  readonly region?: string;
  /** Processes counted: the component's own and their descendants (PostgreSQL's backends). */
  readonly processes: number;
  /** Private anonymous memory (heaps, buffers): what grows when something is kept. */
  readonly anonymousBytes: number;
  /** Proportional set size: resident memory, shared pages split between sharers. */
  readonly pssBytes: number;
  /** The file-mapped part of the PSS (LevelDB maps its table files). */
  readonly fileBytes: number;
}

/** What one part of the workspace holds on disk (allocated blocks), in bytes. */
export interface DiskUse {
  /** "dynamodb", "kinesis", "postgres"... under a region; "logs", "generator"... at the workspace's top. */
  readonly part: string;
  readonly region?: string;
  readonly path: string;
  readonly bytes: number;
}

export interface WorkspaceDisk {
  readonly path: string;
  /** Everything under the workspace. */
  readonly usedBytes: number;
  /** Free to an unprivileged user on the workspace's filesystem, and that filesystem's size. */
  readonly freeBytes: number;
  readonly totalBytes: number;
}

export interface Footprint {
  /** ISO time of the sample. */
  readonly at: string;
  readonly memory: readonly ComponentMemory[];
  readonly disk: readonly DiskUse[];
  readonly workspace: WorkspaceDisk;
  readonly totals: { readonly anonymousBytes: number; readonly pssBytes: number; readonly fileBytes: number };
}

interface Rollup {
  anonymous: number;
  pss: number;
  file: number;
}

/** /proc/<pid>/smaps_rollup in bytes; undefined when the process is gone or unreadable. */
export function readRollup(pid: number): Rollup | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { anonymous: field('Anonymous'), pss: field('Pss'), file: field('Pss_File') };
}

/** Parent of every live process, read once per sample. */
function parentsOfAll(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // gone since the listing
    }
  }
  return children;
}

function withDescendants(roots: readonly number[], children: Map<number, number[]>): number[] {
  const seen = new Set<number>();
  const todo = [...roots];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return [...seen];
}

function componentMemory(
  component: string,
  kind: string,
  region: string | undefined,
  roots: readonly number[],
  children: Map<number, number[]>,
): ComponentMemory {
  let processes = 0;
  const sum: Rollup = { anonymous: 0, pss: 0, file: 0 };
  for (const pid of withDescendants(roots, children)) {
    const rollup = readRollup(pid);
    if (!rollup) continue;
    processes += 1;
    sum.anonymous += rollup.anonymous;
    sum.pss += rollup.pss;
    sum.file += rollup.file;
  }
  return {
    component,
    kind,
    ...(region ? { region } : {}),
    processes,
    anonymousBytes: sum.anonymous,
    pssBytes: sum.pss,
    fileBytes: sum.file,
  };
}

/** Memory per component of a running local platform (components whose processes are gone count zero). */
export function sampleMemory(state: LocalState): ComponentMemory[] {
  const children = parentsOfAll();
  const engines = state.processes.map((p) =>
    componentMemory(
      p.id,
      p.kind,
      p.region,
      [p.pid, ...(p.childPids ?? [])].filter((pid): pid is number => pid !== undefined),
      children,
    ),
  );
  const services = state.services.map((s) => {
    const region = /@(.+)$/.exec(s.id)?.[1];
    return componentMemory(s.id, 'service', region, s.pid === undefined ? [] : [s.pid], children);
  });
  // The supervisor's own memory only: its children are the engines and services, counted above.
  const supervisorRollup = readRollup(state.supervisor.pid);
  const supervisor: ComponentMemory = {
    component: 'supervisor',
    kind: 'supervisor',
    processes: supervisorRollup ? 1 : 0,
    anonymousBytes: supervisorRollup?.anonymous ?? 0,
    pssBytes: supervisorRollup?.pss ?? 0,
    fileBytes: supervisorRollup?.file ?? 0,
  };
  return [supervisor, ...engines, ...services];
}

/** Allocated bytes under a path (files that vanish while walking count zero). */
export function diskBytes(target: string): number {
  let stat;
  try {
    stat = lstatSync(target);
  } catch {
    return 0;
  }
  let total = stat.blocks * 512;
  if (stat.isDirectory()) {
    let names: string[] = [];
    try {
      names = readdirSync(target);
    } catch {
      // unreadable or gone
    }
    for (const name of names) total += diskBytes(path.join(target, name));
  }
  return total;
}

function children(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** What each part of a workspace holds: data per region and engine, and the workspace's other folders and files. */
export function sampleDisk(
  workspace: string,
  regions: readonly string[],
): { disk: DiskUse[]; workspace: WorkspaceDisk } {
  const disk: DiskUse[] = [];
  const data = path.join(workspace, 'data');
  for (const name of children(data)) {
    const full = path.join(data, name);
    if (regions.includes(name)) {
      for (const part of children(full)) {
        disk.push({ part, region: name, path: path.join(full, part), bytes: diskBytes(path.join(full, part)) });
      }
    } else disk.push({ part: `data/${name}`, path: full, bytes: diskBytes(full) });
  }
  for (const name of children(workspace)) {
    if (name === 'data') continue;
    disk.push({ part: name, path: path.join(workspace, name), bytes: diskBytes(path.join(workspace, name)) });
  }
  return { disk, workspace: workspaceDisk(workspace, disk) };
}

function workspaceDisk(workspace: string, disk: readonly DiskUse[]): WorkspaceDisk {
  const fs = statfsSync(workspace);
  return {
    path: workspace,
    usedBytes: disk.reduce((sum, part) => sum + part.bytes, 0) + (lstatSync(workspace).blocks ?? 0) * 512,
    freeBytes: fs.bavail * fs.bsize,
    totalBytes: fs.blocks * fs.bsize,
  };
}

/** One sample of a local platform's footprint, read afresh from its workspace (services may have restarted). */
export function sampleFootprint(platform: {
  readonly target: string;
  readonly config: { readonly workspace: string };
}): Footprint {
  if (platform.target !== 'local') {
    throw new UserError(
      `the footprint is sampled from the local platform's processes and workspace; the ${platform.target} target has none here`,
      'use --target local, or read the AWS account in CloudWatch',
      ExitCode.usage,
    );
  }
  const state = readState(platform.config.workspace);
  if (!state) {
    throw new UserError(
      `the local platform is not deployed (no state in ${platform.config.workspace})`,
      'run `tsr deploy` first',
      ExitCode.notDeployed,
    );
  }
  const memory = sampleMemory(state);
  const { disk, workspace } = sampleDisk(state.workspace, state.regions);
  return {
    at: new Date().toISOString(),
    memory,
    disk,
    workspace,
    totals: {
      anonymousBytes: memory.reduce((sum, m) => sum + m.anonymousBytes, 0),
      pssBytes: memory.reduce((sum, m) => sum + m.pssBytes, 0),
      fileBytes: memory.reduce((sum, m) => sum + m.fileBytes, 0),
    },
  };
}

/** Below this much free space `tsr status` warns: a few hours of load at 10 pairs/s write about 1 GB an hour. */
export const LOW_FREE_DISK_BYTES = 5 * 1024 ** 3;

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;

/** The workspace's disk use for `tsr status`, with a warning when free space runs low. */
export function diskStatus(workspace: string, regions: readonly string[], lowBytes = LOW_FREE_DISK_BYTES): DiskStatus {
  const sampled = sampleDisk(workspace, regions);
  const { usedBytes, freeBytes, totalBytes } = sampled.workspace;
  const low = freeBytes < lowBytes;
  return {
    workspace,
    usedBytes,
    freeBytes,
    totalBytes,
    parts: sampled.disk.map(({ part, region, bytes }) => ({ part, ...(region ? { region } : {}), bytes })),
    low,
    lowBytes,
    ...(low
      ? {
          warning:
            `free disk is low: ${gb(freeBytes)} left on the filesystem of ${workspace} (the workspace holds ${gb(usedBytes)}); ` +
            'load writes about 1 GB an hour at 10 pairs/s: free some space, or stop and wipe an old platform with `tsr destroy --purge --confirm dev`',
        }
      : {}),
  };
}
