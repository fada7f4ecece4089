import { setTimeout as delay } from 'node:timers/promises';
import type { TsrConfig } from '../config/model.js';
import { ExitCode, UserError } from '../errors.js';
import type { InjectedFault } from '../platform/faults.js';
import { openPlatform } from '../platform/open.js';
import type { Platform } from '../platform/platform.js';
import { formatDuration, parseDuration } from '../runbooks/duration.js';
import { resumeRun, runPlan, type RunOptions, type RunResult } from '../runbooks/engine.js';
import { findRun, type RunJournal } from '../runbooks/journal.js';
import { parseRunbook } from '../runbooks/load.js';
import { planRunbook, planSummary, renderPlan, type RunPlan } from '../runbooks/plan.js';
import { stepRegistry } from '../runbooks/steps/index.js';
import { checkVerdictReadable, computeVerdict, type LossWindow } from '../verdict/index.js';
import { compiledSource, compileScenario, DEFAULT_SETTLE } from './compile.js';
import { type LoadedScenario, loadScenario } from './load.js';
import { GameDayMonitor, type TimelineSample } from './monitor.js';
import { lostSidesOfFailovers } from './loss-accounting.js';
import { judgeObjectives } from './objectives.js';
import {
  buildGameDayReport,
  type BundleFiles,
  type GameDayReport,
  renderObjectives,
  renderVerdictLine,
  type ReportVerdict,
  saveBundle,
} from './report.js';
import { gamedayRunDir, GAMEDAY_STEP_TYPES, type RecoveryResult } from './steps.js';

/** The step types a game day runs with: the runbook engine's and the game day's own. */
export function gamedayRegistry() {
  const registry = stepRegistry.clone();
  for (const type of GAMEDAY_STEP_TYPES) registry.register(type);
  return registry;
}

export interface GameDayOptions {
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
  /** Ctrl-C. */
  readonly signal?: AbortSignal;
  readonly write?: (text: string) => void;
  /** Ids of the pairs that are not ok, in the verdict. */
  readonly ids?: boolean;
  /** Called with the run id as soon as the run has started (the dashboard follows it live). */
  readonly onStart?: (runId: string) => void;
}

export type GameDayResult =
  | { readonly dryRun: true; readonly scenario: string; readonly plan: ReturnType<typeof planSummary> }
  | { readonly dryRun: false; readonly report: GameDayReport; readonly files: BundleFiles };

/** Reads and checks a scenario for the configured target, and compiles it to the runbook it runs as. */
export function prepareScenario(config: TsrConfig, nameOrFile: string): { scenario: LoadedScenario; source: string } {
  const scenario = loadScenario(nameOrFile, {
    target: config.target,
    regions: config.regions,
    workspace: config.workspace,
  });
  return { scenario, source: compiledSource(compileScenario(scenario.definition, config.regions), scenario.file) };
}

async function planScenario(
  config: TsrConfig,
  nameOrFile: string,
  platform: Platform | undefined,
): Promise<{ scenario: LoadedScenario; plan: RunPlan }> {
  const { scenario, source } = prepareScenario(config, nameOrFile);
  const registry = gamedayRegistry();
  const runbook = parseRunbook(source, `${scenario.file} (compiled)`, registry);
  const plan = await planRunbook(
    runbook,
    {},
    { config, names: platform?.names ?? (await import('../config/model.js')).deriveNames(config), platform, registry },
  );
  return { scenario, plan };
}

function header(scenario: LoadedScenario): string {
  const d = scenario.definition;
  const objectives = Object.entries(d.objectives).map(([k, v]) => (v === true ? k : `${k} ≤ ${v}`));
  return [
    `Game day ${d.name}: ${d.description}`,
    `Hypothesis: ${d.hypothesis.trim()}`,
    `Objectives: ${objectives.join(', ') || 'none'}`,
    ...(d.load ? [`Load: ${d.load.rate} pairs/s${d.load.warmup ? `, warm-up ${d.load.warmup}` : ''}`] : []),
    ...(d.stopWhen.length
      ? [
          `Stop when: ${d.stopWhen.map((s) => (s.condition === 'no-confirmation' ? `no confirmation for ${s.for}` : `replication lag above ${s.above}`)).join('; ')}`,
        ]
      : []),
  ].join('\n');
}

/**
 * What the lost regions may have taken with them: for each region-down fault, the window from the start of any
 * replication pause in place then (or the replication lag measured just before, plus a margin) to the loss — the
 * moment the region was down (its marker), not the request: its broker acknowledged pairs until it stopped.
 */
export function lossWindows(journal: RunJournal, timeline: readonly TimelineSample[]): LossWindow[] {
  const faults = journal.steps
    .filter((s) => s.type === 'gameday.fault' && s.result)
    .map((s) => ({
      fault: s.result as InjectedFault,
      undoneAt: journal.markers.find((m) => m.name === `undone-${(s.result as InjectedFault).id}`)?.at,
    }));
  return faults
    .filter(({ fault }) => fault.spec.kind === 'region-down' && fault.spec.region)
    .map(({ fault }) => {
      const lostAt = Date.parse(fault.injectedAt);
      const downMarker = journal.markers.find((m) => m.name === `fault-${fault.id}`)?.at;
      const downAt = downMarker ? Math.max(lostAt, Date.parse(downMarker)) : lostAt;
      const before = timeline.filter((p) => p.t <= lostAt).at(-1);
      const lagMs = Math.max(before?.tableLagMs ?? 0, before?.dbLagMs ?? 0);
      const pausedSince = faults
        .filter(
          ({ fault: f, undoneAt }) =>
            f.spec.kind.startsWith('pause-') &&
            Date.parse(f.injectedAt) <= lostAt &&
            (!undoneAt || Date.parse(undoneAt) >= lostAt),
        )
        .map(({ fault: f }) => Date.parse(f.injectedAt));
      const from = Math.min(lostAt - lagMs - 2_000, ...pausedSince);
      return { region: fault.spec.region as string, from: new Date(from), to: new Date(downAt) };
    });
}

/** Judges every pair the run sent, waiting (up to `settle`) for pairs still in flight to reach their final state. */
async function judge(
  platform: Platform,
  journal: RunJournal,
  timeline: readonly TimelineSample[],
  { settleMs, lostWithRegion }: { settleMs: number; lostWithRegion?: ReadonlySet<string> },
  options: GameDayOptions,
  say: (text: string) => void,
): Promise<ReportVerdict> {
  const since = new Date(journal.startedAt);
  const stopped = journal.markers.find((m) => m.name === 'load-stopped')?.at;
  const deadline = new Date((stopped ? Date.parse(stopped) : Date.now()) + settleMs);
  const atRiskWindows = lossWindows(journal, timeline);
  // Pairs still in flight get until the deadline; past it, more time only while they keep arriving (they count as
  // late, not lost), up to the deadline plus the settle time again.
  const hardStop = deadline.getTime() + settleMs;
  try {
    let pending = Infinity;
    for (;;) {
      const verdict = await computeVerdict(platform, { since, deadline, atRiskWindows, divergence: 'none' });
      const progressed = verdict.counts.lost < pending;
      pending = verdict.counts.lost;
      const now = Date.now();
      if (pending === 0 || now >= hardStop || (now >= deadline.getTime() && !progressed)) break;
      say(`  waiting for pairs in flight: ${pending} of ${verdict.pairs} not final yet`);
      await delay(3_000, undefined, { signal: options.signal });
    }
    say('  judging every pair and comparing regions…');
    const verdict = await computeVerdict(platform, {
      since,
      deadline,
      atRiskWindows,
      lostWithRegion,
      ids: options.ids,
      onProgress: () => {},
    });
    return {
      pairs: verdict.pairs,
      counts: verdict.counts,
      passed: verdict.passed,
      divergence: verdict.divergence,
      ids: verdict.ids,
      durationMs: verdict.durationMs,
      ...(verdict.lostWithRegion ? { lostWithRegion: verdict.lostWithRegion } : {}),
    };
  } catch (error) {
    return { pairs: 0, counts: {}, passed: false, error: (error as Error).message };
  }
}

function recoveriesOf(journal: RunJournal): RecoveryResult[] {
  return journal.steps.filter((s) => s.type === 'gameday.runbook' && s.result).map((s) => s.result as RecoveryResult);
}

function steadyP99(journal: RunJournal): number | undefined {
  const step = journal.steps.find((s) => s.type === 'gameday.steady-latency' && s.status === 'completed');
  return (step?.result as { latency?: { p99: number } } | undefined)?.latency?.p99;
}

/** 0 passed; 6 the verdict found trades lost, duplicated or wrong; 130 Ctrl-C; 1 anything else that failed. */
export function gameDayExitCode(report: GameDayReport): number {
  if (report.passed) return ExitCode.ok;
  if (report.status === 'interrupted' && !report.stoppedBy) return ExitCode.interrupted;
  const c = report.verdict?.counts ?? {};
  if ((c.lost ?? 0) + (c.duplicated ?? 0) + (c.wrong ?? 0) > 0) return ExitCode.gapsFound;
  return ExitCode.failure;
}

export function renderSummary(report: GameDayReport, files: BundleFiles): string {
  return [
    '',
    `Game day ${report.scenario.name}: ${report.passed ? 'PASSED' : 'FAILED'} (${report.status}${report.message ? `: ${report.message}` : ''})`,
    `Verdict: ${renderVerdictLine(report.verdict)}`,
    '',
    ...renderObjectives(report.objectives),
    '',
    `Report: ${files.html}`,
    `        ${files.markdown}, ${files.junit}`,
  ].join('\n');
}

/**
 * `tsr gameday <scenario>`: validates the scenario, runs it as a runbook (journaled, one game day at a time) while
 * sampling the platform and watching the stop conditions, then judges every trade and writes the report bundle.
 */
export async function runGameDay(
  config: TsrConfig,
  nameOrFile: string,
  options: GameDayOptions,
): Promise<GameDayResult> {
  const say = sayer(options);
  if (options.dryRun) {
    const platform = await openPlatform(config).catch((error: unknown) => {
      if (error instanceof UserError) return undefined;
      throw error;
    });
    try {
      const { scenario, plan } = await planScenario(config, nameOrFile, platform);
      say(`${header(scenario)}\n\n${renderPlan(plan)}`);
      return { dryRun: true, scenario: scenario.definition.name, plan: planSummary(plan) };
    } finally {
      await platform?.close();
    }
  }
  const platform = await openPlatform(config);
  try {
    const { scenario, plan } = await planScenario(config, nameOrFile, platform);
    if (scenario.definition.load) await checkVerdictReadable(platform);
    say(header(scenario));
    return await conduct(config, platform, scenario, options, (runOptions) => runPlan(plan, runOptions));
  } finally {
    await platform.close();
  }
}

/**
 * `tsr gameday resume [run]`: continues a game day that stopped before its end (tsr killed, Ctrl-C, a failed phase)
 * after its last completed phase, sampling and watching as the run does, then judges every pair it sent and writes
 * its bundle. The scenario's objectives come from its file; the phases from the run's own journal.
 */
export async function resumeGameDay(
  config: TsrConfig,
  runId: string | undefined,
  options: GameDayOptions,
): Promise<GameDayResult> {
  const isGameDay = (j: RunJournal) => j.runbook.name.startsWith('gameday-');
  const journal = findRun(
    config.workspace,
    runId,
    (j) => isGameDay(j) && RESUMABLE_GAMEDAY.includes(j.status),
    'game day to resume',
  );
  if (!isGameDay(journal))
    throw new UserError(
      `run ${journal.runId} is not a game day (${journal.runbook.name})`,
      '`tsr runbook resume` continues other runs',
      ExitCode.usage,
    );
  const say = sayer(options);
  const scenario = loadScenario(journal.runbook.file.replace(/ \(compiled\)$/, ''), {
    target: config.target,
    regions: config.regions,
    workspace: config.workspace,
  });
  const platform = await openPlatform(config);
  try {
    if (scenario.definition.load) await checkVerdictReadable(platform);
    say(header(scenario));
    return await conduct(config, platform, scenario, options, (runOptions) => resumeRun(journal.runId, runOptions));
  } finally {
    await platform.close();
  }
}

const RESUMABLE_GAMEDAY: readonly RunJournal['status'][] = ['running', 'failed', 'interrupted'];

/** Where a game day's progress goes: the command's output, or nowhere with --json. */
function sayer(options: GameDayOptions): (text: string) => void {
  return (text) => {
    if (!options.json) (options.write ?? ((t: string) => process.stdout.write(`${t}\n`)))(text);
  };
}

/** Runs (or resumes) the compiled scenario while sampling and watching, then judges it and writes the bundle. */
async function conduct(
  config: TsrConfig,
  platform: Platform,
  scenario: LoadedScenario,
  options: GameDayOptions,
  start: (runOptions: RunOptions) => Promise<RunResult>,
): Promise<GameDayResult> {
  const say = sayer(options);
  const monitor = new GameDayMonitor(platform, scenario.definition.stopWhen);
  let live: RunJournal | undefined;
  const signals = [monitor.signal, ...(options.signal ? [options.signal] : [])];
  const result = await start({
    platform,
    workspace: config.workspace,
    yes: options.yes,
    json: options.json,
    signal: AbortSignal.any(signals),
    registry: gamedayRegistry(),
    write: options.write,
    onJournal: (journal) => {
      live = journal;
      monitor.start(journal, gamedayRunDir(config.workspace, journal.runId));
      options.onStart?.(journal.runId);
    },
  }).finally(() => monitor.stop());
  const journal = live ?? result.journal;
  say('\nVerdict on every trade:');
  const settleMs = parseDuration(scenario.definition.settle ?? DEFAULT_SETTLE) ?? 120_000;
  const recoveries = recoveriesOf(journal);
  const lostWithRegion = lostSidesOfFailovers(config.workspace, recoveries);
  const verdict = scenario.definition.load
    ? await judge(platform, journal, monitor.samples, { settleMs, lostWithRegion }, options, say)
    : undefined;
  const objectives = judgeObjectives(scenario.definition.objectives, {
    recoveries,
    counts: verdict?.error ? undefined : verdict?.counts,
    lostWithRegion: verdict?.error ? undefined : verdict?.lostWithRegion,
    steadyP99Ms: steadyP99(journal),
  });
  const report = buildGameDayReport({
    journal,
    scenario: {
      name: scenario.definition.name,
      file: scenario.file,
      description: scenario.definition.description,
      hypothesis: scenario.definition.hypothesis,
    },
    objectives,
    recoveries,
    verdict,
    stoppedBy: monitor.stopped,
    timeline: monitor.samples,
  });
  const files = saveBundle(config.workspace, report);
  say(renderSummary(report, files));
  if (report.durationMs !== undefined) say(`Took ${formatDuration(report.durationMs)}.`);
  return { dryRun: false, report, files };
}
