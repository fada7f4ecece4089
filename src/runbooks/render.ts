import { table } from '../lib/table.js';
import type { RunbookSummary } from './catalog.js';
import { displayPath } from './load.js';
import type { RunJournal } from './journal.js';
import { renderReport, type RunReport } from './report.js';

export interface RunListing {
  readonly runId: string;
  readonly runbook: string;
  readonly lockKey: string;
  readonly status: string;
  readonly startedAt: string;
}

export function runListing(journal: RunJournal): RunListing {
  return {
    runId: journal.runId,
    runbook: journal.runbook.name,
    lockKey: journal.lockKey,
    status: journal.status,
    startedAt: journal.startedAt,
  };
}

/** `tsr runbook list`: each runbook with its parameters and whether it can run, then recent runs. */
export function renderRunbookList(runbooks: readonly RunbookSummary[], runs: readonly RunListing[]): string {
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
    lines.push('Recent runs:');
    lines.push(
      table(
        ['run', 'runbook', 'on', 'status', 'started'],
        runs.map((r) => [r.runId, r.runbook, r.lockKey, r.status, r.startedAt]),
      ),
    );
  }
  return lines.join('\n').trimEnd();
}

/** `tsr runbook show`: the report, plus where the files are and whether the run is live. */
export function renderRun(report: RunReport, live: string | undefined): string {
  return `${renderReport(report).trimEnd()}${live ? `\n\n${live}` : ''}`;
}
