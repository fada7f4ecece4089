/**
 * Failover figures (issue 16) and the way back (issue 11), on one real local deployment under a steady generator
 * load: RUNS times, lose the region both apps run in (`tsr chaos region-down`), `tsr failover all` to the other,
 * then bring the lost region back (`tsr chaos region-up --max-lag 5s`, which returns once its services run and every
 * replication into it is within the 5 s a rotation's preflight allows) and measure region-up → ready to fail back.
 * The next run loses the other region, so every run starts from the same shape. Per app: median and worst RTO
 * and unavailability window, where the time went per step, and every run's RPO (before and after replay, and what
 * only the lost region held). Goals at 10 pairs/s: RTO ≤ 15 s, unavailability ≤ 5 s; region-up → ready ≤ 15 s.
 *
 * Environment: BENCH_FAILOVER_RATE (pairs/s, default 10), BENCH_FAILOVER_RUNS (default 5).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MEASURES, type RunReport } from '../src/runbooks/report.js';
import { goal, printWhereTimeWent, replicationSettled, RUN, s, sleep, tsr, tsrAsync } from './drill-figures.js';

const GOALS = { rtoMs: 15_000, unavailabilityMs: 5_000, readyMs: 15_000 };
const REGIONS = ['us-east-1', 'us-west-2'];

interface FailoverAll {
  readonly runs: { app: string; result: { report: RunReport } }[];
}

const lost = (r: RunReport) => (r.rpo.lostInRegion?.unknown ? 'unknown' : String(r.rpo.lostInRegion?.count ?? '–'));

export async function benchFailover(): Promise<void> {
  const rate = Number(process.env.BENCH_FAILOVER_RATE ?? 10);
  const runs = Number(process.env.BENCH_FAILOVER_RUNS ?? 5);
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-failover-'));
  chmodSync(workspace, 0o755);
  const flags = ['--workspace', workspace];
  console.log(
    `${runs} × (lose the region both apps run in, failover all, region back up); load ${rate} pairs/s; ` +
      `machine: ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at start`,
  );
  console.log(`  RTO: ${MEASURES.rtoMs}`);
  console.log(`  unavailability window: ${MEASURES.unavailabilityMs}`);
  console.log(`  RPO: ${MEASURES.rpo}; lost with the region: ${MEASURES.lostInRegion}`);
  tsr(['deploy', ...flags]);
  const reports = new Map<string, RunReport[]>();
  const ready: (number | undefined)[] = [];
  try {
    tsr(['generator', 'start', '--rate', String(rate), ...flags]);
    for (let n = 0; n < runs; n++) {
      const [down, target] = n % 2 === 0 ? REGIONS : [...REGIONS].reverse();
      const behind = await replicationSettled(flags);
      if (behind) console.log(`  (${behind})`);
      await sleep(15_000); // the load runs in the region about to be lost
      tsr(['chaos', 'region-down', down, '--yes', ...flags]);
      const { code, output } = await tsrAsync<FailoverAll>([
        'failover',
        'all',
        '--to',
        target,
        '--confirm',
        'dev',
        ...flags,
      ]);
      for (const { app, result } of output.runs) {
        const r = result.report;
        reports.set(app, [...(reports.get(app) ?? []), r]);
        console.log(
          `  #${n + 1} lose ${down}, failover ${app} → ${target}: ${r.status}; RTO ${s(r.rtoMs)}, unavailability ` +
            `${s(r.unavailabilityMs)}, RPO before ${r.rpo.beforeReplay?.count ?? '–'} / after ` +
            `${r.rpo.afterReplay?.count ?? '–'}, lost with the region ${lost(r)}; whole run ${s(r.durationMs)}`,
        );
      }
      if (code !== 0) console.log(`  failover all exited ${code}`);
      await sleep(10_000); // the platform runs in the target for a while: the lost region falls behind
      // Ready to fail back = what a rotation's preflight asks: the region's services up and every replication into
      // it within 5 s. `region-up --max-lag 5s` returns exactly then (its default waits for 1 s).
      const upStarted = Date.now();
      const up = tsr(['chaos', 'region-up', down, '--yes', '--max-lag', '5s', ...flags]) as {
        caughtUp?: boolean;
        catchUpMs?: number;
      };
      const upMs = Date.now() - upStarted;
      const readyMs = up.caughtUp ? upMs : undefined;
      ready.push(readyMs);
      const notReady = up.caughtUp ? undefined : 'region-up did not catch up';
      // The next run starts from a settled platform (not counted).
      await replicationSettled(flags);
      console.log(
        `  #${n + 1} region-up ${down}: ${up.caughtUp ? 'caught up' : 'NOT caught up'} ` +
          `(command ${s(upMs)}, of which catch-up ${s(up.catchUpMs)}); ready to fail back ${s(readyMs)} after ` +
          `region-up started${notReady ? ` (${notReady})` : ''}; load average ${os.loadavg()[0].toFixed(1)}`,
      );
    }
  } finally {
    spawnSync(process.execPath, [RUN, 'generator', 'stop', ...flags]);
    spawnSync(process.execPath, [RUN, 'destroy', '--purge', '--confirm', 'dev', ...flags]);
  }
  console.log('\n== Failover summary');
  for (const [app, list] of reports) {
    const completed = list.filter((r) => r.status === 'completed').length;
    console.log(`\n${app}: ${list.length} failovers (${completed} completed) at ${rate} pairs/s`);
    console.log(
      `  ${goal(
        'RTO',
        list.map((r) => r.rtoMs),
        GOALS.rtoMs,
      )}`,
    );
    console.log(
      `  ${goal(
        'unavailability window',
        list.map((r) => r.unavailabilityMs),
        GOALS.unavailabilityMs,
      )}`,
    );
    console.log(
      `  RPO per run (before replay / after replay / lost with the region): ` +
        list.map((r) => `${r.rpo.beforeReplay?.count ?? '–'}/${r.rpo.afterReplay?.count ?? '–'}/${lost(r)}`).join(', '),
    );
    printWhereTimeWent(list);
  }
  console.log(`\n${goal('region-up → ready to fail back', ready, GOALS.readyMs)}`);
}
