/**
 * Rotation figures for issue 5, on one real local deployment: an app rotated to the secondary and back, CYCLES times
 * with no load, then CYCLES times under a steady generator load; per condition the median (min–max) RTO,
 * unavailability window (observed in the inbound gateways' safe stores), the slowest steps, and every run's RPO;
 * after the loaded runs, the ledger check (nothing lost). Goals: RTO < 60 s, unavailability < 15 s, RPO 0.
 *
 * Environment: BENCH_ROTATION_APPS (default "trade"; "trade,settlement" for both), BENCH_ROTATION_RATE (pairs/s,
 * default 5: about half of what the pipeline sustains on a 2-core machine), BENCH_ROTATION_CYCLES (default 3).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalState } from '../src/infra/local/state.js';
import { MEASURES, type RunReport } from '../src/runbooks/report.js';
import { checkLedger, type LedgerCheck } from '../test/helpers/ledger.js';

const RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const GOALS = { rtoMs: 60_000, unavailabilityMs: 15_000 };
/** Steps between the dns swap and the target consuming again: what the unavailability window is made of. */
const IN_WINDOW = new Set([
  'source-drained',
  'streams-idle',
  'replicated',
  'source-off',
  'db-switchover',
  'target-app-on',
  'reconcile',
  'target-queue-on',
]);

function tsr(args: string[]): unknown {
  const result = spawnSync(process.execPath, [RUN, ...args, '--json'], { encoding: 'utf8' });
  if (result.status !== 0 && result.status !== 4) throw new Error(`tsr ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** `tsr rotate … --json` without blocking the event loop; the report whatever the exit code. */
function rotate(app: string, to: string, flags: string[]): Promise<{ code: number | null; report?: RunReport }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, 'rotate', app, '--to', to, '--yes', '--json', ...flags], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve({ code, report: (JSON.parse(out) as { report: RunReport }).report });
      } catch {
        reject(new Error(`tsr rotate ${app} --to ${to} (exit ${code}): ${err.trim() || out.trim()}`));
      }
    });
  });
}

interface Run {
  readonly condition: string;
  readonly app: string;
  readonly to: string;
  readonly status: string;
  readonly report: RunReport;
}

const s = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);

function median(values: readonly number[]): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function spread(values: readonly (number | undefined)[]): string {
  const known = values.filter((v): v is number => v !== undefined);
  if (!known.length) return 'not measured';
  const missing = values.length - known.length;
  return (
    `${s(median(known))} (${s(Math.min(...known))}–${s(Math.max(...known))})` +
    (missing ? `, ${missing} not measured` : '')
  );
}

const rpoText = (r: RunReport) =>
  `RPO before replay ${r.rpo.beforeReplay?.count ?? '?'}, after ${r.rpo.afterReplay?.count ?? '?'}`;

function printRun(run: Run, n: number): void {
  const r = run.report;
  console.log(
    `  #${n} ${run.app} → ${run.to}: ${run.status}; RTO ${s(r.rtoMs)}, unavailability ${s(r.unavailabilityMs)}, ` +
      `acceptance gap ${s(r.acceptanceGapMs)}, queue On → consuming ${s(r.queueToConsumingMs)}, ` +
      `catch-up ${s(r.catchUpMs)}, ${rpoText(r)}, ` +
      `whole run ${s(r.durationMs)}; load average ${os.loadavg()[0].toFixed(1)}`,
  );
}

function summarize(condition: string, app: string, runs: readonly Run[]): void {
  if (!runs.length) return;
  const reports = runs.map((r) => r.report);
  const rto = median(reports.flatMap((r) => (r.rtoMs === undefined ? [] : [r.rtoMs])));
  const window = median(reports.flatMap((r) => (r.unavailabilityMs === undefined ? [] : [r.unavailabilityMs])));
  const measured = reports.filter((r) => r.rpo.afterReplay || r.rpo.beforeReplay);
  const rpoZero =
    measured.length > 0 && measured.every((r) => r.rpo.afterReplay?.count === 0 && r.rpo.beforeReplay?.count === 0);
  const completed = runs.filter((r) => r.status === 'completed').length;
  console.log(`\n${app}, ${condition}: ${runs.length} rotations (${completed} completed)`);
  console.log(`  RTO (median, min–max):                 ${spread(reports.map((r) => r.rtoMs))}`);
  console.log(`  unavailability window:                 ${spread(reports.map((r) => r.unavailabilityMs))}`);
  console.log(`  acceptance gap (no region accepting):  ${spread(reports.map((r) => r.acceptanceGapMs))}`);
  console.log(`  queue On → target consuming:          ${spread(reports.map((r) => r.queueToConsumingMs))}`);
  console.log(`  catch-up (held backlog processed):     ${spread(reports.map((r) => r.catchUpMs))}`);
  const steps = new Map<string, number[]>();
  for (const r of reports)
    for (const step of r.steps)
      if (step.durationMs !== undefined) steps.set(step.id, [...(steps.get(step.id) ?? []), step.durationMs]);
  const slowest = [...steps]
    .map(([id, durations]) => ({ id, durations, median: median(durations) ?? 0 }))
    .sort((a, b) => b.median - a.median)
    .slice(0, 6);
  console.log('  slowest steps (median, min–max; * = inside the unavailability window):');
  for (const step of slowest)
    console.log(`    ${IN_WINDOW.has(step.id) ? '*' : ' '} ${step.id.padEnd(16)} ${spread(step.durations)}`);
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(
    `  goals: RTO < 60 s ${met(rto !== undefined && rto < GOALS.rtoMs)} (median ${s(rto)}); ` +
      `unavailability < 15 s ${met(window !== undefined && window < GOALS.unavailabilityMs)} (median ${s(window)}); ` +
      `RPO 0 ${met(rpoZero)} (before and after replay, ${measured.length} of ${runs.length} runs measured it)`,
  );
}

/**
 * Waits (up to 2 min) until every replication link is healthy with under 5 s of lag, as the rotation's preflight
 * requires: under load on a busy machine the DynamoDB link can be behind right after a rotation.
 */
async function replicationSettled(flags: string[]): Promise<string | undefined> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const lags = (tsr(['status', ...flags]) as { replication?: { lagMs?: number; healthy?: boolean }[] }).replication;
    const behind = (lags ?? []).filter((l) => !l.healthy || l.lagMs === undefined || l.lagMs >= 5_000);
    if (lags && !behind.length) return undefined;
    if (Date.now() > deadline) return `${behind.length} replication links still behind after 2 min`;
    await sleep(1_000);
  }
}

async function ledgerSettled(workspace: string, state: LocalState, writer: string): Promise<LedgerCheck> {
  const deadline = Date.now() + 240_000;
  let check = await checkLedger(workspace, state, writer);
  while ((check.trades.wrong.length || check.settlements.wrong.length) && Date.now() < deadline) {
    await sleep(2_000);
    check = await checkLedger(workspace, state, writer);
  }
  return check;
}

/**
 * The way back after losing a region, under load: lose the primary, `failover all` to the secondary, then
 * `tsr chaos region-up` (which returns once replication into the region has caught up) and the time until the
 * region is ready to fail back to (a rotation's preflight passes). Goal: region-up → ready ≤ 15 s at 10 pairs/s.
 */
async function benchFailBack(flags: string[], rate: number): Promise<void> {
  console.log(`\n-- losing the primary and coming back (load ${rate} pairs/s)`);
  tsr(['generator', 'start', '--rate', String(rate), ...flags]);
  try {
    await sleep(20_000);
    tsr(['chaos', 'region-down', 'us-east-1', '--yes', ...flags]);
    const failover = tsr(['failover', 'all', '--to', 'us-west-2', '--confirm', 'dev', ...flags]) as {
      runs: { app: string; result: { report: RunReport } }[];
    };
    for (const { app, result } of failover.runs) {
      const r = result.report;
      console.log(
        `  failover ${app}: ${r.status}, RTO ${s(r.rtoMs)}, unavailability ${s(r.unavailabilityMs)}, RPO before ` +
          `${r.rpo.beforeReplay?.count ?? '–'} / after ${r.rpo.afterReplay?.count ?? '–'}, lost with the region ` +
          `${r.rpo.lostInRegion?.unknown ? 'unknown' : (r.rpo.lostInRegion?.count ?? '–')}`,
      );
    }
    await sleep(10_000); // the platform runs in the secondary for a while: the primary falls behind
    const upStarted = Date.now();
    const up = tsr(['chaos', 'region-up', 'us-east-1', '--yes', ...flags]) as {
      caughtUp?: boolean;
      catchUpMs?: number;
    };
    const upMs = Date.now() - upStarted;
    const { code, report } = await rotate('trade', 'primary', flags);
    const readyMs = Date.now() - upStarted - (report?.durationMs ?? 0) + (report?.steps[0]?.durationMs ?? 0);
    console.log(
      `  region-up: ${up.caughtUp ? 'caught up' : 'NOT caught up'} in ${s(up.catchUpMs)} (command ${s(upMs)}); ` +
        `rotate trade back: exit ${code}, preflight ${report?.steps[0]?.status ?? '?'}`,
    );
    console.log(`  region-up → ready to fail back (preflight passed): ${s(readyMs)}; goal ≤ 15.0 s`);
    await rotate('settlement', 'primary', flags);
  } finally {
    tsr(['generator', 'stop', ...flags]);
  }
}

export async function benchRotation(): Promise<void> {
  const apps = (process.env.BENCH_ROTATION_APPS ?? 'trade').split(',').filter(Boolean);
  const rate = Number(process.env.BENCH_ROTATION_RATE ?? 5);
  const cycles = Number(process.env.BENCH_ROTATION_CYCLES ?? 3);
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-rotation-'));
  chmodSync(workspace, 0o755);
  const flags = ['--workspace', workspace];
  console.log(
    `apps ${apps.join(', ')}; ${cycles} × (to secondary and back) per condition; load ${rate} pairs/s; ` +
      `machine: ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at start`,
  );
  console.log('what the figures measure:');
  console.log(`  RTO: ${MEASURES.rtoMs}`);
  console.log(`  unavailability window: ${MEASURES.unavailabilityMs}`);
  console.log(`  acceptance gap: ${MEASURES.acceptanceGapMs}`);
  console.log(`  queue On → consuming: ${MEASURES.queueToConsumingMs}`);
  console.log(`  catch-up: ${MEASURES.catchUpMs}`);
  console.log(`  RPO: ${MEASURES.rpo}`);
  tsr(['deploy', ...flags]);
  const runs: Run[] = [];
  let generatorOn = false;
  try {
    const state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8')) as LocalState;
    conditions: for (const condition of ['no load', `load ${rate} pairs/s`]) {
      console.log(`\n-- ${condition}`);
      if (condition !== 'no load') {
        tsr(['generator', 'start', '--rate', String(rate), ...flags]);
        generatorOn = true;
        await sleep(5_000);
      }
      apps: for (const app of apps) {
        for (let cycle = 0; cycle < cycles; cycle++) {
          for (const to of ['secondary', 'primary']) {
            const waited = Date.now();
            const behind = await replicationSettled(flags);
            if (Date.now() - waited > 2_000 || behind)
              console.log(
                `  (waited ${s(Date.now() - waited)} for replication to catch up${behind ? `: ${behind}` : ''})`,
              );
            const { code, report } = await rotate(app, to, flags);
            if (!report) throw new Error(`no report from rotate ${app} --to ${to}`);
            const run: Run = { condition, app, to: String(report.params.target), status: report.status, report };
            runs.push(run);
            printRun(run, runs.filter((r) => r.condition === condition && r.app === app).length);
            if (code !== 0) {
              // Keep the evidence (the purge deletes it), put the platform back, go on with the next condition.
              const kept = mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-rotation-failure-'));
              cpSync(path.join(workspace, 'logs'), path.join(kept, 'logs'), { recursive: true });
              cpSync(path.join(workspace, 'runbooks'), path.join(kept, 'runbooks'), { recursive: true });
              const undo = spawnSync(process.execPath, [RUN, 'runbook', 'rollback', report.runId, '--yes', ...flags], {
                encoding: 'utf8',
              });
              console.log(
                `  rotation failed (exit ${code}): ${report.message ?? ''}; logs and journals kept in ${kept}; ` +
                  `rolled back (exit ${undo.status}); skipping the rest of this condition`,
              );
              if (undo.status !== 0) break conditions;
              break apps;
            }
          }
        }
      }
      if (generatorOn) {
        const stopped = tsr(['generator', 'stop', ...flags]) as { pairsSent?: number };
        generatorOn = false;
        const writers = (tsr(['status', ...flags]) as { writers: Record<string, string> }).writers;
        const writer = writers.trade;
        if (writers.settlement !== writer)
          console.log(`  note: settlement writer in ${writers.settlement}, trade in ${writer}; checking ${writer}`);
        const check = await ledgerSettled(workspace, state, writer);
        console.log(
          `\nledger check after the loaded runs (writer ${writer}, ${stopped.pairsSent ?? '?'} pairs sent in this run): ` +
            `${check.pairs} pairs, trade sides ${check.trades.expected - check.trades.wrong.length}/${check.trades.expected} ` +
            `as predicted, settlements ${check.settlements.expected - check.settlements.wrong.length}/${check.settlements.expected}; ` +
            `stored ${check.stored.trades} trade sides, ${check.stored.settlements} settlements → ` +
            (check.trades.wrong.length || check.settlements.wrong.length
              ? `NOT clean (e.g. ${[...check.trades.wrong, ...check.settlements.wrong].slice(0, 5).join(', ')})`
              : 'nothing lost'),
        );
      }
    }
    await benchFailBack(flags, Number(process.env.BENCH_FAILBACK_RATE ?? 10));
    console.log('\n== Rotation summary');
    for (const condition of [...new Set(runs.map((r) => r.condition))])
      for (const app of apps)
        summarize(
          condition,
          app,
          runs.filter((r) => r.condition === condition && r.app === app),
        );
  } finally {
    if (generatorOn) spawnSync(process.execPath, [RUN, 'generator', 'stop', ...flags]);
    spawnSync(process.execPath, [RUN, 'destroy', '--purge', '--confirm', 'dev', ...flags]);
  }
}
