import { table } from '../lib/table.js';
import type { RunbookSummary } from './catalog.js';
import { displayPath } from './load.js';
import { formatDuration } from './duration.js';
import { type RunJournal, shortRunId } from './journal.js';
import { buildReport, renderReport, type RunReport } from './report.js';

export interface RunListing {
  readonly runId: string;
  /** What `runbook show|resume|rollback` take instead of the full id. */
  readonly shortId: string;
  readonly runbook: string;
  readonly lockKey: string;
  readonly status: string;
  readonly startedAt: string;
  /** Start → canary confirmed, when the run got that far. */
  readonly rtoMs?: number;
  /** Records missing after replay (before it, when there was no replay). */
  readonly rpo?: number;
}

export function runListing(journal: RunJournal): RunListing {
  const report = buildReport(journal);
  const rpo = report.rpo.afterReplay ?? report.rpo.beforeReplay;
  return {
    runId: journal.runId,
    shortId: shortRunId(journal.runId),
    runbook: journal.runbook.name,
    lockKey: journal.lockKey,
    status: journal.status,
    startedAt: journal.startedAt,
    ...(report.rtoMs === undefined ? {} : { rtoMs: report.rtoMs }),
    ...(rpo === undefined ? {} : { rpo: rpo.count }),
  };
}

/** `tsr runbook list`: each runbook with its parameters and whether it can run, then recent runs. */
export function renderRunbookList(runbooks: readonly RunbookSummary[], runs: readonly RunListing[], more = 0): string {
  const lines: string[] = [];
  if (!runbooks.length) lines.push('No runbooks found (looked in ./runbooks and the packaged runbooks).');
  for (const runbook of runbooks) {
    const params = Object.entries(runbook.parameters)
      .map(([name, spec]) => (spec.default === undefined ? `${name}` : `${name}=${String(spec.default)}`))
      .join(' ');
    const state = runbook.problems.length
      ? runbook.onlyUnknownStepTypes
        ? `needs step types: ${runbook.unknownStepTypes.join(', ')}`
        : `INVALID (${runbook.problems.length} problem${runbook.problems.length === 1 ? '' : 's'})`
      : 'ready';
    lines.push(`${runbook.name}  ${runbook.description}`);
    lines.push(`  file: ${displayPath(runbook.file)}   steps: ${runbook.steps}   ${state}`);
    if (params) lines.push(`  parameters: ${params}`);
    if (runbook.problems.length && !runbook.onlyUnknownStepTypes) {
      for (const problem of runbook.problems) lines.push(`    ${problem}`);
    }
    lines.push('');
  }
  if (runs.length) {
    lines.push('Recent runs (`tsr runbook show <id>`):');
    lines.push(
      table(
        ['id', 'runbook', 'on', 'status', 'started', 'RTO', 'RPO'],
        runs.map((r) => [
          r.shortId,
          r.runbook,
          r.lockKey,
          r.status,
          r.startedAt.replace('T', ' ').slice(0, 19),
          r.rtoMs === undefined ? '-' : formatDuration(r.rtoMs),
          r.rpo === undefined ? '-' : `${r.rpo} records`,
        ]),
      ),
    );
    if (more) lines.push(`… ${more} older run${more === 1 ? '' : 's'}: --limit ${runs.length + more} or --all`);
  }
  return lines.join('\n').trimEnd();
}

/** `tsr runbook show`: the report, plus where the files are and whether the run is live. */
export function renderRun(report: RunReport, live: string | undefined): string {
  return `${renderReport(report).trimEnd()}${live ? `\n\n${live}` : ''}`;
}
