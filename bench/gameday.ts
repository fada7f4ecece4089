/**
 * Game-day figures: the `quick` scenario end to end on a fresh local platform — its duration against the goal
 * (≤ 3 minutes on a 2-core machine), where the time went per phase, and each recovery's clocks. Runs the built CLI as
 * a user would (`tsr deploy`, `tsr gameday quick --yes --confirm dev --json`).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GameDayReport } from '../src/gameday/report.js';

const RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');
const GOAL_MS = 3 * 60_000;

const seconds = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

function tsr(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export async function benchGameDay(scenario = process.env.BENCH_GAMEDAY_SCENARIO ?? 'quick'): Promise<void> {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-gameday-'));
  chmodSync(workspace, 0o755);
  const flags = ['--workspace', workspace];
  try {
    const deploy = tsr(['deploy', ...flags, '--json']);
    if (deploy.status !== 0) throw new Error(`deploy failed: ${deploy.stderr}`);
    const started = Date.now();
    const run = tsr(['gameday', scenario, '--yes', '--confirm', 'dev', '--json', ...flags]);
    const wallMs = Date.now() - started;
    const { report } = JSON.parse(run.stdout) as { report: GameDayReport };
    console.log(`${scenario}: ${report.passed ? 'PASSED' : 'FAILED'} (${report.status}), exit ${run.status}`);
    console.log(
      `  drill ${seconds(report.durationMs)} + verdict and report ${seconds(wallMs - (report.durationMs ?? 0))} = ${seconds(wallMs)};` +
        ` goal ≤ ${seconds(GOAL_MS)} (ratio ${(wallMs / GOAL_MS).toFixed(2)})`,
    );
    console.log('  per phase:');
    for (const phase of report.phases)
      console.log(`    ${phase.id.padEnd(30)} ${seconds(phase.durationMs).padStart(8)}  ${phase.status}`);
    console.log(
      '  recoveries (controls moved / first accepted / first confirmed / RTO / unavailable, from each run start):',
    );
    for (const r of report.recoveries) {
      console.log(
        `    ${`${r.runbook} ${r.app ?? ''} → ${r.to ?? ''}`.padEnd(30)} ${seconds(r.clocks?.controlsMovedMs)} / ${seconds(r.clocks?.firstAcceptedMs)} / ` +
          `${seconds(r.clocks?.firstConfirmedMs)} / ${seconds(r.rtoMs)} / ${seconds(r.unavailabilityMs)}`,
      );
    }
    const v = report.verdict;
    console.log(
      `  verdict: ${v ? `${v.pairs} pairs, ${JSON.stringify(v.counts)} in ${seconds(v.durationMs)}` : 'none'}${v?.error ? ` (${v.error})` : ''}`,
    );
  } finally {
    tsr(['destroy', '--purge', '--confirm', 'dev', ...flags]);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchGameDay(process.argv[2]);
