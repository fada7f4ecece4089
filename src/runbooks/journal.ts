import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ExitCode, UserError } from '../errors.js';
import type { FailurePolicy, ParamValue } from './model.js';

export type RunStatus =
  'running' | 'completed' | 'failed' | 'interrupted' | 'rolling-back' | 'rolled-back' | 'rollback-failed';

export type StepStatus = 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'interrupted';

export interface StepRecord {
  readonly id: string;
  readonly type: string;
  title: string;
  status: StepStatus;
  onFailure: FailurePolicy;
  /** Rollback records: the step this one undoes. */
  readonly for?: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  detail?: string;
  result?: unknown;
  error?: string;
  /** Times the step was started (more than one after a resume). */
  attempts: number;
  /** Failed, but the runbook said onFailure: continue. */
  continued?: boolean;
  /** Failed because a check refused to go ahead (a safety condition), not because something broke. */
  refused?: boolean;
}

/** A timing marker: when something observable happened (dns-swapped, target-consuming, canary-confirmed, …). */
export interface Marker {
  readonly name: string;
  readonly at: string;
  readonly step: string;
}

/** Records accepted before the switch and missing after it, as a step measured them. */
export interface RpoSample {
  /** lost-in-region: what only a lost region held, which no replay can bring back (from the generator's ledger). */
  readonly phase: 'before-replay' | 'after-replay' | 'lost-in-region';
  readonly count: number;
  /** lost-in-region: the trade pairs those sides belong to (the verdict's unit). */
  readonly pairs?: number;
  /** The count could not be measured (lost-in-region without a ledger). */
  readonly unknown?: boolean;
  /** lost-in-region: the id of every trade side counted (absent when there were too many to list). */
  readonly ids?: readonly string[];
  /** What was compared (e.g. "trade inbound→ingestion"); samples of one phase and scope replace each other. */
  readonly scope?: string;
  /** Acceptance time of the oldest and newest missing record (ISO). */
  readonly oldest?: string;
  readonly newest?: string;
  readonly detail?: string;
  readonly step: string;
  readonly at: string;
}

export interface RunEvent {
  readonly at: string;
  readonly what: string;
}

/** Everything about one run, written after every step so an interrupted run can be resumed or rolled back. */
export interface RunJournal {
  readonly version: 1;
  readonly runId: string;
  readonly runbook: {
    readonly name: string;
    readonly description: string;
    readonly file: string;
    /** The YAML as it was when the run started: resume and rollback use this, not the file. */
    readonly source: string;
  };
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly lockKey: string;
  status: RunStatus;
  /** Why the run ended as it did (no-op, failure, interruption). */
  message?: string;
  pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  updatedAt: string;
  endedAt?: string;
  confirmedBy: 'prompt' | '--yes';
  events: RunEvent[];
  steps: StepRecord[];
  rollback: StepRecord[];
  /** The runbook's finally steps, as they ran when the run last ended in any way but success. */
  finally?: StepRecord[];
  markers: Marker[];
  rpo: RpoSample[];
}

const FINISHED: readonly RunStatus[] = ['completed', 'rolled-back'];

/** Runs that left something to do: resume them or roll them back before starting another on the same app. */
export function isUnfinished(status: RunStatus): boolean {
  return !FINISHED.includes(status);
}

export function runbooksDir(workspace: string): string {
  return path.join(workspace, 'runbooks');
}

export function journalPath(workspace: string, runId: string): string {
  return path.join(runbooksDir(workspace), `${runId}.json`);
}

/** Writes `text` to `file` atomically (temporary file + rename), so a crash never leaves half a journal. */
export function writeFileAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, text);
  fs.renameSync(temporary, file);
}

export function saveJournal(workspace: string, journal: RunJournal): string {
  journal.updatedAt = new Date().toISOString();
  const file = journalPath(workspace, journal.runId);
  writeFileAtomically(file, `${JSON.stringify(journal, null, 2)}\n`);
  return file;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function readJournal(workspace: string, runId: string): RunJournal {
  if (!RUN_ID.test(runId)) throw new UserError(`"${runId}" is not a run id`, '`tsr runbook list` lists recent runs');
  const file = journalPath(workspace, runId);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    const known = listRunIds(workspace).slice(0, 5).map(shortRunId);
    throw new UserError(
      `no run ${runId} in ${runbooksDir(workspace)}`,
      known.length ? `recent runs: ${known.join(', ')}` : 'no runbook has run in this workspace yet',
      ExitCode.usage,
    );
  }
  try {
    const journal = JSON.parse(text) as RunJournal;
    if (journal.version !== 1 || journal.runId !== runId) throw new Error('unexpected content');
    return journal;
  } catch (error) {
    throw new UserError(`the journal ${file} is not readable: ${(error as Error).message}`);
  }
}

/** Every readable journal in the workspace, newest first (run ids start with their start time). */
/** Run ids in the workspace, newest first (they start with their start time). */
function listRunIds(workspace: string): string[] {
  let files: string[];
  try {
    files = fs.readdirSync(runbooksDir(workspace));
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith('.json') && !f.endsWith('.report.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort()
    .reverse();
}

/** Seven hex digits for a run id of 32 characters, like a short git hash: what `runbook list` shows and takes. */
export function shortRunId(runId: string): string {
  return createHash('sha1').update(runId).digest('hex').slice(0, 7);
}

/** The run `text` means: its full id, its short id, or a part of its id that names one run alone. */
export function resolveRunId(workspace: string, text: string): string {
  if (fs.existsSync(journalPath(workspace, text))) return text;
  const ids = listRunIds(workspace);
  const matches = ids.filter((id) => shortRunId(id) === text || id.includes(text));
  if (matches.length > 1) {
    throw new UserError(
      `"${text}" names ${matches.length} runs: ${matches.slice(0, 5).map(shortRunId).join(', ')}${matches.length > 5 ? ', …' : ''}`,
      'give the short id that `tsr runbook list` shows',
      ExitCode.usage,
    );
  }
  return matches[0] ?? text;
}

export function listJournals(workspace: string): RunJournal[] {
  return listRunIds(workspace).flatMap((runId) => {
    try {
      return [readJournal(workspace, runId)];
    } catch {
      return [];
    }
  });
}

/**
 * The run a command means: `runId` if given, else the newest run that `wanted` accepts. A UserError naming what
 * was looked for otherwise.
 */
export function findRun(
  workspace: string,
  runId: string | undefined,
  wanted: (journal: RunJournal) => boolean,
  what: string,
): RunJournal {
  if (runId) return readJournal(workspace, resolveRunId(workspace, runId));
  const found = listJournals(workspace).find(wanted);
  if (!found) {
    throw new UserError(
      `no ${what} in ${runbooksDir(workspace)}`,
      '`tsr runbook list` shows recent runs and their status; start one with `tsr runbook run …`',
      ExitCode.usage,
    );
  }
  return found;
}
