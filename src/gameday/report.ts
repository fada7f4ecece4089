import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ExitCode, UserError } from '../errors.js';
import { formatDuration } from '../runbooks/duration.js';
import type { RunJournal } from '../runbooks/journal.js';
import { accountLoss } from './loss-accounting.js';
import type { StopEvent, TimelineSample } from './monitor.js';
import type { GameDayReport, ReportVerdict } from './report-model.js';
import type { ObjectiveResult } from './objectives.js';
import { renderHtmlReport } from './report-html.js';
import type { RecoveryResult } from './steps.js';

export type { GameDayReport, ReportVerdict } from './report-model.js';

export function gamedaysDir(workspace: string): string {
  return path.join(workspace, 'gamedays');
}

export function buildGameDayReport(input: {
  readonly journal: RunJournal;
  readonly scenario: GameDayReport['scenario'];
  readonly objectives: readonly ObjectiveResult[];
  readonly recoveries: readonly RecoveryResult[];
  readonly verdict?: ReportVerdict;
  readonly stoppedBy?: StopEvent;
  readonly timeline: readonly TimelineSample[];
}): GameDayReport {
  const { journal } = input;
  const ended = journal.endedAt ? Date.parse(journal.endedAt) : undefined;
  const status = input.stoppedBy ? 'stopped' : journal.status;
  const passed =
    status === 'completed' && input.objectives.every((o) => o.passed !== false) && (input.verdict?.passed ?? false);
  return {
    version: 1,
    runId: journal.runId,
    scenario: input.scenario,
    status,
    message: input.stoppedBy ? `stopped by ${input.stoppedBy.condition}: ${input.stoppedBy.detail}` : journal.message,
    stoppedBy: input.stoppedBy,
    startedAt: journal.startedAt,
    endedAt: journal.endedAt,
    durationMs: ended === undefined ? undefined : ended - Date.parse(journal.startedAt),
    passed,
    objectives: input.objectives,
    recoveries: input.recoveries,
    verdict: input.verdict,
    lossAccounting: accountLoss(input.recoveries, input.verdict?.error ? undefined : input.verdict),
    phases: [...journal.steps, ...(journal.finally ?? [])].map((s) => ({
      id: s.id,
      title: s.title,
      type: s.type,
      status: s.status,
      durationMs: s.durationMs,
      detail: s.detail,
      error: s.error,
    })),
    markers: journal.markers.map((m) => ({ name: m.name, at: m.at })),
    timeline: input.timeline,
  };
}

const clock = (ms: number | undefined) => (ms === undefined ? '—' : `+${formatDuration(ms)}`);

const mark = (passed: boolean | undefined) => (passed === undefined ? 'n/a' : passed ? 'PASS' : 'FAIL');

export function renderObjectives(objectives: readonly ObjectiveResult[]): string[] {
  if (!objectives.length) return ['(the scenario sets no objectives)'];
  return [
    '| objective | target | actual | result | how |',
    '|---|---|---|---|---|',
    ...objectives.map((o) => `| ${o.name} | ${o.target} | ${o.actual ?? '—'} | ${mark(o.passed)} | ${o.detail} |`),
  ];
}

export function renderVerdictLine(verdict: ReportVerdict | undefined): string {
  if (!verdict) return 'no verdict';
  if (verdict.error) return `no verdict: ${verdict.error}`;
  if (verdict.notJudged) return `not judged: ${verdict.notJudged}`;
  const c = verdict.counts;
  return (
    `${verdict.pairs} pairs: ${c.ok ?? 0} ok, ${c.lost ?? 0} lost, ${c.duplicated ?? 0} duplicated, ${c.wrong ?? 0} wrong, ` +
    `${c.late ?? 0} late, ${c.atRisk ?? 0} at risk — ${verdict.passed ? 'nothing lost, duplicated or wrong' : 'FAILED'}`
  );
}

export function renderGameDayMarkdown(report: GameDayReport): string {
  const lines = [
    `# Game day ${report.scenario.name}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `- Run: ${report.runId} (${report.status}${report.message ? `: ${report.message}` : ''})`,
    `- Started ${report.startedAt}${report.durationMs !== undefined ? `, took ${formatDuration(report.durationMs)}` : ''}`,
    `- Hypothesis: ${report.scenario.hypothesis.trim()}`,
    '',
    '## Objectives',
    '',
    ...renderObjectives(report.objectives),
    '',
    '## Verdict on every trade',
    '',
    renderVerdictLine(report.verdict),
    '',
    ...(report.lossAccounting
      ? [
          '## Loss a failover accepts: the reports against the verdict',
          '',
          '| lost with the region (pairs, ledger) | came back with the region (pairs) | missing after replay (records) | at risk (pairs, verdict) | agree |',
          '|---|---|---|---|---|',
          `| ${report.lossAccounting.lostWithRegionPairs ?? 'unknown'} | ${report.lossAccounting.cameBack ?? 'not compared'} | ${report.lossAccounting.missingAfterReplay ?? 'unknown'} | ${report.lossAccounting.atRisk ?? 'unknown'} | ${report.lossAccounting.agrees === undefined ? 'n/a' : report.lossAccounting.agrees ? 'yes' : 'NO'} |`,
          '',
          report.lossAccounting.detail,
          '',
        ]
      : []),
    '## Recoveries',
    '',
    ...(report.recoveries.length
      ? [
          '| runbook | app | to | status | controls moved | first accepted | first confirmed | RTO | unavailable | RPO before/after replay | lost with the region |',
          '|---|---|---|---|---|---|---|---|---|---|---|',
          ...report.recoveries.map(
            (r) =>
              `| ${r.runbook} | ${r.app ?? ''} | ${r.to ?? ''} | ${r.status} | ${clock(r.clocks?.controlsMovedMs)} | ${clock(r.clocks?.firstAcceptedMs)} | ${clock(r.clocks?.firstConfirmedMs)} | ${r.rtoMs !== undefined ? formatDuration(r.rtoMs) : '—'} | ` +
              `${r.unavailabilityMs !== undefined ? formatDuration(r.unavailabilityMs) : '—'} | ${r.rpoBeforeReplay ?? '—'}/${r.rpoAfterReplay ?? '—'} | ${r.lostInRegion ?? '—'} |`,
          ),
        ]
      : ['none']),
    '',
    '## Phases',
    '',
    '| step | status | took | detail |',
    '|---|---|---|---|',
    ...report.phases.map(
      (p) =>
        `| ${p.id} | ${p.status} | ${p.durationMs !== undefined ? formatDuration(p.durationMs) : '—'} | ${(p.error ?? p.detail ?? '').replace(/\|/g, '\\|')} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

const xml = (text: string) =>
  text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string,
  );

/** JUnit XML: one test case per objective, plus the verdict and the run itself, so CI can run game days nightly. */
export function renderJunit(report: GameDayReport): string {
  const cases = [
    { name: 'run completed', passed: report.status === 'completed', detail: report.message ?? report.status },
    {
      name: 'verdict',
      passed: report.verdict?.passed ?? false,
      detail: renderVerdictLine(report.verdict),
    },
    ...report.objectives.map((o) => ({
      name: `objective ${o.name} ${o.target}`,
      passed: o.passed,
      detail: `${o.actual ?? 'not measured'}: ${o.detail}`,
    })),
  ];
  const failures = cases.filter((c) => c.passed === false).length;
  const skipped = cases.filter((c) => c.passed === undefined).length;
  const seconds = ((report.durationMs ?? 0) / 1000).toFixed(3);
  const body = cases.map((c) => {
    const open = `    <testcase classname="gameday.${xml(report.scenario.name)}" name="${xml(c.name)}">`;
    if (c.passed === false) return `${open}\n      <failure message="${xml(c.detail)}"/>\n    </testcase>`;
    if (c.passed === undefined) return `${open}\n      <skipped message="${xml(c.detail)}"/>\n    </testcase>`;
    return `${open}\n      <system-out>${xml(c.detail)}</system-out>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="tsr gameday" tests="${cases.length}" failures="${failures}" skipped="${skipped}" time="${seconds}">`,
    `  <testsuite name="gameday ${xml(report.scenario.name)}" tests="${cases.length}" failures="${failures}" skipped="${skipped}" time="${seconds}" timestamp="${xml(report.startedAt)}">`,
    ...body,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export interface BundleFiles {
  readonly dir: string;
  readonly json: string;
  readonly markdown: string;
  readonly html: string;
  readonly junit: string;
}

export function saveBundle(workspace: string, report: GameDayReport): BundleFiles {
  const dir = path.join(gamedaysDir(workspace), report.runId);
  mkdirSync(dir, { recursive: true });
  const files = {
    dir,
    json: path.join(dir, 'report.json'),
    markdown: path.join(dir, 'report.md'),
    html: path.join(dir, 'report.html'),
    junit: path.join(dir, 'junit.xml'),
  };
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.markdown, renderGameDayMarkdown(report));
  writeFileSync(files.html, renderHtmlReport(report));
  writeFileSync(files.junit, renderJunit(report));
  return files;
}

/** One past run, as `tsr gameday history` lists it. */
export interface HistoryEntry {
  readonly runId: string;
  readonly scenario: string;
  readonly startedAt: string;
  readonly status: string;
  readonly passed: boolean;
  readonly verdict: string;
  readonly worstRtoMs?: number;
  readonly worstUnavailabilityMs?: number;
  readonly rpo?: number;
  readonly report: string;
}

export function readGameDayReport(workspace: string, runId: string): GameDayReport {
  const runs = listRunDirs(workspace);
  const match = runs.filter((r) => r === runId || r.includes(runId));
  if (match.length !== 1) {
    throw new UserError(
      match.length ? `"${runId}" matches ${match.length} game-day runs` : `no game-day run "${runId}"`,
      '`tsr gameday history` lists the runs; give more of the id',
      ExitCode.usage,
    );
  }
  return JSON.parse(readFileSync(path.join(gamedaysDir(workspace), match[0], 'report.json'), 'utf8')) as GameDayReport;
}

function listRunDirs(workspace: string): string[] {
  const dir = gamedaysDir(workspace);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((d) => existsSync(path.join(dir, d, 'report.json')))
    .sort();
}

const worst = (values: readonly (number | undefined)[]) =>
  values
    .filter((v): v is number => v !== undefined)
    .reduce<number | undefined>((m, v) => Math.max(m ?? 0, v), undefined);

export function gameDayHistory(workspace: string): HistoryEntry[] {
  return listRunDirs(workspace).map((dir) => {
    const file = path.join(gamedaysDir(workspace), dir, 'report.json');
    const report = JSON.parse(readFileSync(file, 'utf8')) as GameDayReport;
    return {
      runId: report.runId,
      scenario: report.scenario.name,
      startedAt: report.startedAt,
      status: report.status,
      passed: report.passed,
      verdict: renderVerdictLine(report.verdict),
      worstRtoMs: worst(report.recoveries.map((r) => r.rtoMs)),
      worstUnavailabilityMs: worst(report.recoveries.map((r) => r.unavailabilityMs)),
      rpo: worst(report.recoveries.map((r) => r.rpoAfterReplay)),
      report: path.join(path.dirname(file), 'report.html'),
    };
  });
}

/** A row of `tsr gameday report A --compare B`: one figure in both runs. */
export interface ComparisonRow {
  readonly figure: string;
  readonly run: string;
  readonly other: string;
  readonly change: string;
}

function delta(a: number | undefined, b: number | undefined, unit: 'ms' | 'count'): string {
  if (a === undefined || b === undefined) return '—';
  const d = a - b;
  if (d === 0) return 'same';
  const text = unit === 'ms' ? formatDuration(Math.abs(d)) : String(Math.abs(d));
  return `${d > 0 ? '+' : '−'}${text}${b ? ` (${d > 0 ? '+' : '−'}${Math.round((Math.abs(d) / b) * 100)}%)` : ''}`;
}

export function compareReports(run: GameDayReport, other: GameDayReport): ComparisonRow[] {
  const fmt = (v: number | undefined, unit: 'ms' | 'count') =>
    v === undefined ? '—' : unit === 'ms' ? formatDuration(v) : String(v);
  const row = (figure: string, a: number | undefined, b: number | undefined, unit: 'ms' | 'count'): ComparisonRow => ({
    figure,
    run: fmt(a, unit),
    other: fmt(b, unit),
    change: delta(a, b, unit),
  });
  const rows: ComparisonRow[] = [
    {
      figure: 'result',
      run: run.passed ? 'PASSED' : 'FAILED',
      other: other.passed ? 'PASSED' : 'FAILED',
      change: run.passed === other.passed ? 'same' : 'changed',
    },
    row('duration', run.durationMs, other.durationMs, 'ms'),
    row('worst RTO', worst(run.recoveries.map((r) => r.rtoMs)), worst(other.recoveries.map((r) => r.rtoMs)), 'ms'),
    row(
      'worst unavailability',
      worst(run.recoveries.map((r) => r.unavailabilityMs)),
      worst(other.recoveries.map((r) => r.unavailabilityMs)),
      'ms',
    ),
    row('pairs', run.verdict?.pairs, other.verdict?.pairs, 'count'),
  ];
  for (const outcome of ['lost', 'duplicated', 'wrong', 'late', 'atRisk']) {
    rows.push(row(`pairs ${outcome}`, run.verdict?.counts[outcome], other.verdict?.counts[outcome], 'count'));
  }
  for (const objective of run.objectives) {
    const theirs = other.objectives.find((o) => o.name === objective.name);
    rows.push({
      figure: `objective ${objective.name}`,
      run: `${objective.actual ?? '—'} ${mark(objective.passed)}`,
      other: theirs ? `${theirs.actual ?? '—'} ${mark(theirs.passed)}` : '—',
      change: theirs?.passed === objective.passed ? 'same' : 'changed',
    });
  }
  for (const phase of run.phases) {
    const theirs = other.phases.find((p) => p.id === phase.id);
    if (theirs) rows.push(row(`phase ${phase.id}`, phase.durationMs, theirs.durationMs, 'ms'));
  }
  return rows;
}
