/**
 * What the rotation and failover benches share: running the built CLI, medians and worst cases, and "where the
 * time went": every step of a runbook in order, median and worst across runs, marked when it lies inside the
 * unavailability window (between the dns swap and the target consuming again).
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReport } from '../src/runbooks/report.js';

export const RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `tsr … --json`; exit 4 (unhealthy) still answers. */
export function tsr(args: string[]): unknown {
  const result = spawnSync(process.execPath, [RUN, ...args, '--json'], { encoding: 'utf8' });
  if (result.status !== 0 && result.status !== 4) throw new Error(`tsr ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** `tsr <args> --json` without blocking the event loop; the parsed output whatever the exit code. */
export function tsrAsync<T>(args: string[]): Promise<{ code: number | null; output: T }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, output: JSON.parse(out) as T });
      } catch {
        reject(new Error(`tsr ${args.join(' ')} (exit ${code}): ${err.trim() || out.trim()}`));
      }
    });
  });
}

export const s = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);

export function median(values: readonly number[]): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const known = (values: readonly (number | undefined)[]) => values.filter((v): v is number => v !== undefined);

/** "median 3.1 s, worst 4.0 s (of 5)" plus how many runs did not measure it. */
export function medianWorst(values: readonly (number | undefined)[]): string {
  const measured = known(values);
  if (!measured.length) return 'not measured';
  const missing = values.length - measured.length;
  return (
    `median ${s(median(measured))}, worst ${s(Math.max(...measured))} (of ${measured.length})` +
    (missing ? `, ${missing} not measured` : '')
  );
}

/** The goal line: met when the median and the worst are both within it. */
export function goal(name: string, values: readonly (number | undefined)[], limitMs: number): string {
  const measured = known(values);
  const worst = measured.length ? Math.max(...measured) : undefined;
  const med = median(measured);
  const met = worst !== undefined && worst <= limitMs && measured.length === values.length;
  const medianMet = med !== undefined && med <= limitMs;
  return (
    `${name} ≤ ${s(limitMs)}: ${met ? 'met' : medianMet ? 'met by the median, NOT by the worst' : 'NOT met'} ` +
    `(${medianWorst(values)})`
  );
}

/** Steps between the dns swap and the target consuming again: what the unavailability window is made of. */
export const IN_WINDOW = new Set([
  'source-drained',
  'streams-idle',
  'replicated',
  'source-off',
  'db-switchover',
  'db-failover',
  'target-app-on',
  'reconcile',
  'target-queue-on',
]);

/** Every step in runbook order with its median and worst duration; `*` marks the unavailability window. */
export function printWhereTimeWent(reports: readonly RunReport[], indent = '  '): void {
  const order: string[] = [];
  const durations = new Map<string, number[]>();
  for (const r of reports)
    for (const step of r.steps) {
      if (!durations.has(step.id)) order.push(step.id);
      const list = durations.get(step.id) ?? [];
      if (step.durationMs !== undefined) list.push(step.durationMs);
      durations.set(step.id, list);
    }
  console.log(`${indent}where the time went (per step, median and worst; * = inside the unavailability window):`);
  for (const id of order) {
    const list = durations.get(id) ?? [];
    if (!list.length) continue;
    console.log(`${indent}  ${IN_WINDOW.has(id) ? '*' : ' '} ${id.padEnd(16)} ${medianWorst(list)}`);
  }
}

/** Waits (up to 2 min) until every replication link is healthy with under 5 s of lag, as preflight requires. */
export async function replicationSettled(flags: string[]): Promise<string | undefined> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const lags = (tsr(['status', ...flags]) as { replication?: { lagMs?: number; healthy?: boolean }[] }).replication;
    const behind = (lags ?? []).filter((l) => !l.healthy || l.lagMs === undefined || l.lagMs >= 5_000);
    if (lags && !behind.length) return undefined;
    if (Date.now() > deadline) return `${behind.length} replication links still behind after 2 min`;
    await sleep(1_000);
  }
}
