/**
 * Soak figures for issue 17: one local deployment under a steady 10 pairs/s for a set time, its memory per component
 * (anonymous, PSS, file-mapped, from /proc/<pid>/smaps_rollup) and its disk per region and engine, sampled every
 * 30 s through sampleFootprint. Prints start/end figures, growth per minute after a 2-minute warm-up, and the goals'
 * ratios: anonymous memory grows < 5%/hour, the platform stays ≤ 2.5 GiB (PSS), the data kept grows ≤ 1 GB/hour
 * (the workspace less PostgreSQL's WAL, which fills up to its cap early in a run and then stays: also printed);
 * then what memory does 60 s after the load stops.
 *
 * Length: `npm run bench -- soak <minutes>`, or BENCH_SOAK_MINUTES (default 20; at least 3, warm-up included).
 * BENCH_SOAK_RATE changes the rate (pairs/s, default 10).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { diskBytes, type DiskUse, type Footprint, sampleFootprint } from '../src/platform/footprint.js';

const RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');
const GOALS = { anonGrowthPerHour: 0.05, platformPssBytes: 2.5 * 1024 ** 3, diskBytesPerHour: 1e9 };
const WARM_UP_MS = 2 * 60_000;
const SAMPLE_EVERY_MS = 30_000;
const AFTER_STOP_MS = 60_000;
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tsr(args: string[]): string {
  const result = spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tsr ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** Minutes from the argument or BENCH_SOAK_MINUTES; a clear error for anything that is not a sensible length. */
export function soakMinutes(argument: string | undefined, env = process.env.BENCH_SOAK_MINUTES): number {
  const raw = argument ?? env ?? '20';
  const minutes = Number(raw);
  if (!Number.isFinite(minutes) || minutes < 3 || minutes > 24 * 60) {
    throw new Error(
      `soak length must be a number of minutes from 3 (2 are warm-up) to 1440, got "${raw}": ` +
        'npm run bench -- soak 10, or BENCH_SOAK_MINUTES=10',
    );
  }
  return minutes;
}

interface Sample {
  readonly ms: number;
  readonly footprint: Footprint;
  /** PostgreSQL's write-ahead log, all regions: bounded by max_wal_size, not data the platform keeps. */
  readonly walBytes: number;
}

function walBytes(footprint: Footprint): number {
  return footprint.disk
    .filter((part) => part.part === 'postgres')
    .reduce((sum, part) => sum + diskBytes(path.join(part.path, 'pg_wal')), 0);
}

/** Least-squares slope of y over x (per ms); 0 with fewer than two points. */
function slope(points: readonly [number, number][]): number {
  if (points.length < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length;
  const my = points.reduce((s, [, y]) => s + y, 0) / points.length;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

const mib = (bytes: number) => (bytes / MiB).toFixed(0).padStart(6);
const perMin = (bytesPerMs: number) => ((bytesPerMs * 60_000) / MiB).toFixed(2).padStart(8);
const ratio = (value: number, goal: number) => `${(value / goal).toFixed(2)}× goal ${value <= goal ? 'OK' : 'MISSED'}`;

function memoryOf(footprint: Footprint, component: string) {
  return footprint.memory.find((m) => m.component === component);
}

function diskKey(part: DiskUse): string {
  return part.region ? `${part.region}/${part.part}` : part.part;
}

function printMemory(rest: Sample, warm: Sample, end: Sample, loaded: readonly Sample[]): void {
  console.log(
    `\nmemory per component, MiB (rest = before load, warm = after ${WARM_UP_MS / 60_000} min of load, end = end of load); growth after warm-up, MiB/min (least squares)`,
  );
  console.log(
    `${'component'.padEnd(40)} ${'anon rest'.padStart(9)} ${'warm'.padStart(6)} ${'end'.padStart(6)} ${'anon/min'.padStart(8)}  ${'pss rest'.padStart(8)} ${'end'.padStart(6)}  ${'file-mapped rest'.padStart(16)} ${'end'.padStart(6)}`,
  );
  for (const m of end.footprint.memory) {
    const at = (sample: Sample) => memoryOf(sample.footprint, m.component);
    const growth = slope(
      loaded.map((s) => [s.ms, at(s)?.anonymousBytes ?? 0] as [number, number]).filter(([ms]) => ms >= warm.ms),
    );
    console.log(
      `${m.component.padEnd(40)} ${mib(at(rest)?.anonymousBytes ?? 0).padStart(9)} ${mib(at(warm)?.anonymousBytes ?? 0)} ${mib(m.anonymousBytes)} ${perMin(growth)}  ${mib(at(rest)?.pssBytes ?? 0).padStart(8)} ${mib(m.pssBytes)}  ${mib(at(rest)?.fileBytes ?? 0).padStart(16)} ${mib(m.fileBytes)}`,
    );
  }
}

function printDisk(rest: Sample, warm: Sample, end: Sample, loaded: readonly Sample[]): void {
  console.log('\ndisk per region and engine, MB (10^6 bytes); growth after warm-up, MB/min (least squares)');
  console.log(
    `${'part'.padEnd(28)} ${'rest'.padStart(8)} ${'warm'.padStart(8)} ${'end'.padStart(8)} ${'MB/min'.padStart(8)}`,
  );
  const size = (sample: Sample, key: string) => sample.footprint.disk.find((part) => diskKey(part) === key)?.bytes ?? 0;
  for (const part of end.footprint.disk) {
    const key = diskKey(part);
    const growth = slope(loaded.filter((s) => s.ms >= warm.ms).map((s) => [s.ms, size(s, key)]));
    console.log(
      `${key.padEnd(28)} ${(size(rest, key) / 1e6).toFixed(1).padStart(8)} ${(size(warm, key) / 1e6).toFixed(1).padStart(8)} ${(part.bytes / 1e6).toFixed(1).padStart(8)} ${((growth * 60_000) / 1e6).toFixed(2).padStart(8)}`,
    );
  }
  const walGrowth = slope(loaded.filter((s) => s.ms >= warm.ms).map((s) => [s.ms, s.walBytes]));
  console.log(
    `${'of which PostgreSQL WAL'.padEnd(28)} ${(rest.walBytes / 1e6).toFixed(1).padStart(8)} ${(warm.walBytes / 1e6).toFixed(1).padStart(8)} ${(end.walBytes / 1e6).toFixed(1).padStart(8)} ${((walGrowth * 60_000) / 1e6).toFixed(2).padStart(8)}  (all regions; held near max_wal_size a region, a soft cap)`,
  );
}

export async function benchSoak(argument?: string): Promise<void> {
  const minutes = soakMinutes(argument);
  const rate = Number(process.env.BENCH_SOAK_RATE ?? 10);
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'tsr-soak-'));
  chmodSync(workspace, 0o755);
  const flags = ['--workspace', workspace];
  const platform = { target: 'local', config: { workspace } };
  const samples: Sample[] = [];
  let started = 0;
  const sample = () => {
    const footprint = sampleFootprint(platform);
    const s = { ms: Date.now() - started, footprint, walBytes: walBytes(footprint) };
    samples.push(s);
    return s;
  };
  try {
    tsr(['deploy', ...flags, '--json']);
    await sleep(3_000); // let start-up work settle
    started = Date.now();
    const rest = sample();
    tsr(['generator', 'start', '--rate', String(rate), ...flags, '--json']);
    console.log(
      `soak: ${minutes} min at ${rate} pairs/s (workspace ${workspace}); sampling every ${SAMPLE_EVERY_MS / 1000} s`,
    );
    const loadEnds = started + minutes * 60_000;
    let warm: Sample | undefined;
    while (Date.now() < loadEnds) {
      await sleep(Math.min(SAMPLE_EVERY_MS, loadEnds - Date.now()));
      const s = sample();
      if (!warm && s.ms >= WARM_UP_MS) warm = s;
      const t = s.footprint.totals;
      console.log(
        `  t=${(s.ms / 60_000).toFixed(1).padStart(5)} min  anon ${mib(t.anonymousBytes)} MiB  pss ${mib(t.pssBytes)} MiB  file-mapped ${mib(t.fileBytes)} MiB  workspace ${(s.footprint.workspace.usedBytes / 1e6).toFixed(0)} MB`,
      );
    }
    const end = samples[samples.length - 1];
    warm ??= end;
    const generator = tsr(['generator', 'status', ...flags]);
    tsr(['generator', 'stop', ...flags, '--json']);
    await sleep(AFTER_STOP_MS);
    const after = sample();
    const loaded = samples.filter((s) => s !== after);

    printMemory(rest, warm, end, loaded);
    printDisk(rest, warm, end, loaded);

    const afterWarm = loaded.filter((s) => s.ms >= warm.ms);
    const anonSlope = slope(afterWarm.map((s) => [s.ms, s.footprint.totals.anonymousBytes]));
    const anonPerHour = (anonSlope * 3_600_000) / warm.footprint.totals.anonymousBytes;
    const peakPss = Math.max(...loaded.map((s) => s.footprint.totals.pssBytes));
    const diskPerHour = slope(afterWarm.map((s) => [s.ms, s.footprint.workspace.usedBytes])) * 3_600_000;
    // What the goal counts: the data kept (safe stores, streams, databases, ledger), not the WAL filling up to its cap.
    const keptPerHour = slope(afterWarm.map((s) => [s.ms, s.footprint.workspace.usedBytes - s.walBytes])) * 3_600_000;
    const t = (s: Sample) => s.footprint.totals;
    console.log(`\nload: ${generator.trim().split('\n').slice(0, 2).join(' / ')}`);
    console.log(
      `platform anon: rest ${mib(t(rest).anonymousBytes)} MiB, warm ${mib(t(warm).anonymousBytes)} MiB, end ${mib(t(end).anonymousBytes)} MiB, ${(AFTER_STOP_MS / 1000).toFixed(0)} s after the load stopped ${mib(t(after).anonymousBytes)} MiB`,
    );
    console.log(
      `platform pss:  rest ${mib(t(rest).pssBytes)} MiB, end ${mib(t(end).pssBytes)} MiB, after ${mib(t(after).pssBytes)} MiB; workspace ${(rest.footprint.workspace.usedBytes / 1e6).toFixed(0)} → ${(end.footprint.workspace.usedBytes / 1e6).toFixed(0)} MB, ${(end.footprint.workspace.freeBytes / 1e9).toFixed(1)} GB free`,
    );
    console.log(
      `goal anon growth after warm-up < 5%/hour:     ${(anonPerHour * 100).toFixed(2)}%/hour (${perMin(anonSlope).trim()} MiB/min)  ${ratio(anonPerHour, GOALS.anonGrowthPerHour)}`,
    );
    console.log(
      `goal whole platform ≤ 2.5 GiB (peak PSS):     ${(peakPss / 1024 ** 3).toFixed(2)} GiB  ${ratio(peakPss, GOALS.platformPssBytes)}`,
    );
    console.log(
      `goal disk ≤ 1 GB/hour (data kept: workspace less the capped WAL, both regions): ${(keptPerHour / 1e9).toFixed(2)} GB/hour  ${ratio(keptPerHour, GOALS.diskBytesPerHour)}`,
    );
    console.log(
      `  the workspace as a whole, WAL filling to its cap included: ${(diskPerHour / 1e9).toFixed(2)} GB/hour over this run`,
    );
  } finally {
    spawnSync(process.execPath, [RUN, 'destroy', '--purge', '--confirm', 'dev', ...flags]);
  }
}
