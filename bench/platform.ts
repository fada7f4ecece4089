/**
 * Local platform figures: deploy and destroy time (median of 5), memory of the whole platform at rest, and
 * replication lag at rest. Runs the built CLI as a user would.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalState } from '../src/infra/local/state.js';
import type { PlatformStatus } from '../src/platform/platform.js';

const RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');

function tsr(args: string[]): { ms: number; stdout: string } {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0 && !(args[0] === 'status' && result.status === 4)) {
    throw new Error(`tsr ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  }
  return { ms, stdout: result.stdout };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];

/** Proportional set size (shared pages split between sharers) of a process tree, in MiB. */
function treePssMiB(root: number): { mib: number; processes: number } {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const tree = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let kib = 0;
  for (const pid of tree) {
    try {
      const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      kib += Number(match?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return { mib: kib / 1024, processes: tree.size };
}

export async function benchPlatform(runs = 5): Promise<void> {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-'));
  chmodSync(workspace, 0o755);
  const flags = ['--workspace', workspace];
  const deploys: number[] = [];
  const destroys: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      deploys.push(tsr(['deploy', ...flags, '--json']).ms);
      if (i === runs - 1) await atRest(workspace, flags);
      destroys.push(tsr(['destroy', '--purge', '--confirm', 'dev', ...flags, '--json']).ms);
    }
  } finally {
    spawnSync(process.execPath, [RUN, 'destroy', '--purge', '--confirm', 'dev', ...flags]);
  }
  console.log(
    `deploy  (fresh workspace, 2 regions): median ${(median(deploys) / 1000).toFixed(2)} s  runs ${deploys.map((d) => (d / 1000).toFixed(2)).join(', ')}`,
  );
  console.log(
    `destroy (incl. --purge):              median ${(median(destroys) / 1000).toFixed(2)} s  runs ${destroys.map((d) => (d / 1000).toFixed(2)).join(', ')}`,
  );
}

async function atRest(workspace: string, flags: string[]): Promise<void> {
  await new Promise((r) => setTimeout(r, 3_000)); // let start-up work settle
  const state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8')) as LocalState;
  const memory = treePssMiB(state.supervisor.pid);
  console.log(
    `memory at rest (PSS of the whole platform): ${memory.mib.toFixed(0)} MiB in ${memory.processes} processes`,
  );
  const tables: number[] = [];
  const databases: number[] = [];
  for (let i = 0; i < 20; i++) {
    const status = JSON.parse(tsr(['status', ...flags, '--json']).stdout) as PlatformStatus;
    for (const lag of status.replication) (lag.kind === 'table' ? tables : databases).push(lag.lagMs ?? Number.NaN);
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(
    `replication lag at rest, 20 samples: tables p50 ${percentile(tables, 50)} ms / max ${Math.max(...tables)} ms; databases p50 ${percentile(databases, 50)} ms / max ${Math.max(...databases)} ms`,
  );
}
