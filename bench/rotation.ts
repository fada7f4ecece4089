/**
 * Rotation figures (issues 5 and 16), on one real local deployment: an app rotated to the secondary and back,
 * alternately, RUNS times with no load and RUNS times under a steady generator load; per condition the median and
 * worst RTO, unavailability window (observed in the inbound gateways' safe stores), where the time went per step, and
 * every run's RPO; after the loaded runs, the ledger check (nothing lost). Then the way back after losing a region
 * (issue 11): region-up → ready to fail back. Goals at 10 pairs/s: RTO ≤ 10 s, unavailability ≤ 3 s, RPO 0;
 * region-up → ready ≤ 15 s.
 *
 * Environment: BENCH_ROTATION_APPS (default "trade"; "trade,settlement" for both), BENCH_ROTATION_RATE (pairs/s,
 * default 10), BENCH_ROTATION_RUNS (rotations per condition, default 5), BENCH_ROTATION_NOLOAD_RUNS (default 2),
 * BENCH_FAILBACK_RATE (default 10; 0 skips the way back).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LocalState } from '../src/infra/local/state.js';
import { MEASURES, type RunReport } from '../src/runbooks/report.js';
import { checkLedger, type LedgerCheck } from '../test/helpers/ledger.js';
import {
  goal,
  medianWorst,
  printWhereTimeWent,
  replicationSettled,
  RUN,
  s,
  sleep,
  tsr,
  tsrAsync,
} from './drill-figures.js';

const GOALS = { rtoMs: 10_000, unavailabilityMs: 3_000 };

/** `tsr rotate … --json` without blocking the event loop; the report whatever the exit code. */
async function rotate(app: string, to: string, flags: string[]): Promise<{ code: number | null; report?: RunReport }> {
  const { code, output } = await tsrAsync<{ report?: RunReport }>(['rotate', app, '--to', to, '--yes', ...flags]);
  return { code, report: output.report };
}

interface Run {
  readonly condition: string;
  readonly app: string;
  readonly to: string;
  readonly status: string;
  readonly report: RunReport;
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
  const measured = reports.filter((r) => r.rpo.afterReplay || r.rpo.beforeReplay);
  const rpoZero =
    measured.length > 0 && measured.every((r) => r.rpo.afterReplay?.count === 0 && r.rpo.beforeReplay?.count === 0);
  const completed = runs.filter((r) => r.status === 'completed').length;
  console.log(`\n${app}, ${condition}: ${runs.length} rotations (${completed} completed)`);
  console.log(
    `  ${goal(
      'RTO',
      reports.map((r) => r.rtoMs),
      GOALS.rtoMs,
    )}`,
  );
  console.log(
    `  ${goal(
      'unavailability window',
      reports.map((r) => r.unavailabilityMs),
      GOALS.unavailabilityMs,
    )}`,
  );
  console.log(`  acceptance gap (no region accepting): ${medianWorst(reports.map((r) => r.acceptanceGapMs))}`);
  console.log(`  queue On → target consuming:         ${medianWorst(reports.map((r) => r.queueToConsumingMs))}`);
  console.log(`  catch-up (held backlog processed):    ${medianWorst(reports.map((r) => r.catchUpMs))}`);
  console.log(
    `  RPO 0 ${rpoZero ? 'met' : 'NOT met'} (before and after replay; ${measured.length} of ${runs.length} runs measured it)`,
  );
  printWhereTimeWent(reports);
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
    // Ready to fail back = the fail-back rotation's preflight passes (replication into the region within the lag it
    // allows): region-up returns once its services run, and the rotation's preflight waits for the rest.
    const upStarted = Date.now();
    tsr(['chaos', 'region-up', 'us-east-1', '--yes', '--no-wait', ...flags]);
    const upMs = Date.now() - upStarted;
    const { code, report } = await rotate('trade', 'primary', [...flags, '--wait-replication', '2m']);
    const preflight = report?.steps[0];
    const readyMs = upMs + (preflight?.durationMs ?? NaN);
    console.log(
      `  region-up: engines and services up in ${s(upMs)}; rotate trade back: exit ${code}, preflight ` +
        `${preflight?.status ?? '?'} after ${s(preflight?.durationMs)} (${preflight?.detail ?? ''})`,
    );
    console.log(`  region-up → ready to fail back (preflight passed): ${s(readyMs)}; goal ≤ 15.0 s`);
    await rotate('settlement', 'primary', flags);
  } finally {
    tsr(['generator', 'stop', ...flags]);
  }
}

export async function benchRotation(): Promise<void> {
  const apps = (process.env.BENCH_ROTATION_APPS ?? 'trade').split(',').filter(Boolean);
  const rate = Number(process.env.BENCH_ROTATION_RATE ?? 10);
  const runsPer = (condition: string) =>
    Number(
      condition === 'no load' ? (process.env.BENCH_ROTATION_NOLOAD_RUNS ?? 2) : (process.env.BENCH_ROTATION_RUNS ?? 5),
    );
  const failBackRate = Number(process.env.BENCH_FAILBACK_RATE ?? 10);
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-rotation-'));
  chmodSync(workspace, 0o755);
  const flags = ['--workspace', workspace];
  console.log(
    `apps ${apps.join(', ')}; ${runsPer('no load')} rotations with no load, ${runsPer('load')} under load ` +
      `(to the secondary and back, alternately); load ${rate} pairs/s; ` +
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
        for (let n = 0; n < runsPer(condition); n++) {
          const to = n % 2 === 0 ? 'secondary' : 'primary';
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
    // Back where the runs started (an odd number of runs leaves the app in the secondary).
    for (const app of apps) await rotate(app, 'primary', [...flags, '--wait-replication', '2m']);
    if (failBackRate > 0) await benchFailBack(flags, failBackRate);
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
