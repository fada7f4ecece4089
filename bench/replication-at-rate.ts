/**
 * Issue 16: the DynamoDB replication link at the sustained rate. Runs the generator at a fixed rate and looks at the
 * link's lag (age of the oldest change not applied, per table and region pair; the worst table per look) every
 * 250 ms; when asked, reads the flow health at the end to name the stage that limits — so an overload shows whether
 * replication is the part that starves.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assessFlow, type FlowHealth } from '../src/platform/flow-health.js';
import { sampleFlow } from '../src/platform/flow-sampler.js';
import { generatorStatus } from '../src/platform/generator-control.js';
import type { LocalPlatform } from '../src/platform/local-platform.js';

const RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tsr(args: string[]): void {
  const result = spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tsr ${args.join(' ')}: ${result.stderr}`);
}

export interface LagFigures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly looks: number;
  /** Looks in which some table's lag could not be measured (never counted as 0). */
  readonly unmeasured: number;
}

function figures(values: number[], unmeasured: number): LagFigures {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
  return { p50: at(50), p99: at(99), max: sorted[sorted.length - 1] ?? NaN, looks: sorted.length, unmeasured };
}

export interface RateRun {
  readonly rate: number;
  readonly lag: LagFigures;
  /** Offered vs confirmed, end to end, from the generator at the end of the measured part. */
  readonly offeredPerSecond?: number;
  readonly confirmedPerSecond?: number;
  readonly oldestUnconfirmedMs?: number;
  readonly flow?: FlowHealth;
}

/**
 * The generator at `rate` for `warmupSeconds`, then `seconds` measured; stops it and waits (`drain`) until every pair
 * is final, so the next measurement starts from a platform that is not behind.
 */
export async function replicationAtRate(
  workspace: string,
  platform: LocalPlatform,
  rate: number,
  options: { warmupSeconds: number; seconds: number; flow?: boolean; drain: () => Promise<unknown> },
): Promise<RateRun> {
  const flags = ['--workspace', workspace];
  tsr(['generator', 'start', '--rate', String(rate), ...flags]);
  await sleep(options.warmupSeconds * 1000);
  const lags: number[] = [];
  let unmeasured = 0;
  const until = Date.now() + options.seconds * 1000;
  while (Date.now() < until) {
    const started = Date.now();
    const tables = (await platform.replicationLag()).filter((l) => l.kind === 'table');
    if (!tables.length || tables.some((l) => !l.healthy || l.lagMs === undefined)) unmeasured++;
    else lags.push(Math.max(...tables.map((l) => l.lagMs as number)));
    await sleep(Math.max(0, 250 - (Date.now() - started)));
  }
  const generator = await generatorStatus(platform);
  const flow = options.flow
    ? assessFlow([await sampleFlow(platform, { generator })], { thresholdMs: 10_000 })
    : undefined;
  tsr(['generator', 'stop', ...flags]);
  await options.drain();
  return {
    rate,
    lag: figures(lags, unmeasured),
    offeredPerSecond: generator.flow?.offeredPerSecond,
    confirmedPerSecond: generator.flow?.confirmedPerSecond,
    oldestUnconfirmedMs: generator.flow?.oldestAgeMs,
    flow,
  };
}
