import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { describeError, ExitCode, UserError } from '../errors.js';
import { askYesNo, canPrompt } from '../lib/confirm.js';
import type { Platform } from '../platform/platform.js';
import { formatDuration } from './duration.js';
import { findRun, journalPath, type RunJournal, type RunStatus, saveJournal, type StepRecord } from './journal.js';
import { parseRunbook } from './load.js';
import { acquireRunLock, type LockHolder, type RunLock } from './lock.js';
import type { LoadedRunbook } from './model.js';
import { planRunbook, type PlannedStep, renderPlan, type RunPlan } from './plan.js';
import { createProgress, type ProgressMode, type RunProgress, type StepView } from './progress.js';
import type { Prompter, StepContext, StepOutcome, StepRegistry } from './registry.js';
import { buildReport, renderReport, type ReportFiles, type RunReport, saveReport } from './report.js';
import { stepRegistry } from './steps/index.js';

export interface RunOptions {
  readonly platform: Platform;
  /** Journals, reports and locks go to <workspace>/runbooks. */
  readonly workspace: string;
  /** Go ahead without asking; approvals pass (and the journal says so). */
  readonly yes?: boolean;
  /** No output (the caller prints the result as JSON). */
  readonly json?: boolean;
  /** Ctrl-C: the current step is asked to stop, the journal is saved, the run ends as interrupted. */
  readonly signal?: AbortSignal;
  /** Step types; default: the shared `stepRegistry`. */
  readonly registry?: StepRegistry;
  /** How to ask the operator; default: inquirer on a terminal, refusal without one. */
  readonly prompter?: Prompter;
  /** Default `auto`: live on a terminal, plain lines otherwise; `silent` with `json`. */
  readonly progress?: ProgressMode;
  /** Where progress goes (default stdout). */
  readonly write?: (text: string) => void;
  /** How long a step may take to stop once interrupted or timed out, before the engine stops waiting. Default 10 s. */
  readonly stopGraceMs?: number;
  /** Called with the live journal once a run has started (a game day watches its steps and nested runs this way). */
  readonly onJournal?: (journal: RunJournal) => void;
}

export interface RunResult {
  readonly journal: RunJournal;
  readonly report: RunReport;
  readonly files: { readonly journal: string } & ReportFiles;
}

/** Exit code for a run that ended in `status`: 0 only when it did what it set out to do. */
export function exitCodeFor(status: RunStatus, intent: 'run' | 'rollback' = 'run'): number {
  if (status === 'interrupted') return ExitCode.interrupted;
  if (intent === 'rollback') return status === 'rolled-back' ? ExitCode.ok : ExitCode.failure;
  return status === 'completed' ? ExitCode.ok : ExitCode.failure;
}

/**
 * The exit code of a run: as exitCodeFor, but a run that failed because a check refused before anything changed
 * (a preflight) is "refused" (5), like a safety rule, so scripts can tell "not allowed now" from "broke".
 */
export function runExitCode(journal: RunJournal): number {
  const failed = journal.steps.find((s) => s.status === 'failed' && !s.continued);
  const changedNothing = journal.steps.every((s) => s === failed || !mayHaveEffects(s) || s.type === 'check.preflight');
  if (journal.status === 'failed' && failed?.refused && changedNothing) return ExitCode.refused;
  return exitCodeFor(journal.status);
}

/** Asks on the terminal through stderr (stdout may be piped or hold --json); without one, refuses and names the flag. */
export const terminalPrompter: Prompter = {
  async confirm(message: string): Promise<boolean> {
    if (!canPrompt()) {
      throw new UserError(
        `refusing to go ahead without confirmation (no terminal to ask "${message}")`,
        'pass --yes',
        ExitCode.refused,
      );
    }
    return askYesNo(message);
  },
};

/** The step did not stop after being interrupted or timing out. */
class StepDidNotStop extends Error {
  constructor(graceMs: number) {
    super(`did not stop within ${formatDuration(graceMs)} of being told to; what it did is unknown, check it`);
  }
}

/** `work`, unless `signal` aborted more than `graceMs` ago and it still has not settled. */
function settleWithin<T>(work: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      timer = setTimeout(() => reject(new StepDidNotStop(graceMs)), graceMs);
    };
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}

const now = () => new Date().toISOString();

function newRunId(plan: RunPlan): string {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${plan.name}-${plan.lockKey}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

function pendingRecord(step: PlannedStep, forStep?: string): StepRecord {
  return {
    id: step.id,
    type: step.type,
    title: step.title,
    status: 'pending',
    onFailure: step.onFailure,
    ...(forStep ? { for: forStep } : {}),
    attempts: 0,
  };
}

function staleLockNote(holder: LockHolder): string {
  return `cleared a stale lock on ${holder.key}: run ${holder.runId} (pid ${holder.pid}) is gone`;
}

/** The first step a resumed run must (re)run: not completed, not skipped, not failed-and-continued. */
function firstIncomplete(journal: RunJournal): number {
  const index = journal.steps.findIndex(
    (s) => s.status !== 'completed' && s.status !== 'skipped' && !(s.status === 'failed' && s.continued),
  );
  return index === -1 ? journal.steps.length : index;
}

/** Steps whose effects may exist, so their rollback steps apply: completed, or cut short (running, interrupted). */
function mayHaveEffects(record: StepRecord): boolean {
  return record.status === 'completed' || record.status === 'running' || record.status === 'interrupted';
}

/** Runs a plan's steps against a journal, saving it after every change of state. */
class Runner {
  private readonly registry: StepRegistry;
  private readonly prompter: Prompter;

  constructor(
    private readonly journal: RunJournal,
    private readonly plan: RunPlan,
    private readonly options: RunOptions,
    private readonly progress: RunProgress,
  ) {
    this.registry = options.registry ?? stepRegistry;
    this.prompter = options.prompter ?? terminalPrompter;
  }

  save(): void {
    saveJournal(this.options.workspace, this.journal);
  }

  private event(what: string): void {
    this.journal.events.push({ at: now(), what });
  }

  private end(status: RunStatus, message?: string): void {
    this.journal.status = status;
    this.journal.message = message;
    this.journal.endedAt = now();
    if (message) this.event(message);
    this.save();
  }

  /** Runs the steps from the first incomplete one to the end, or until one stops the run. */
  async forward(): Promise<void> {
    const { journal, plan } = this;
    for (let i = firstIncomplete(journal); i < plan.steps.length; i++) {
      const step = plan.steps[i];
      const record = journal.steps[i];
      if (this.options.signal?.aborted) return this.end('interrupted', `interrupted before step ${step.id}`);
      const outcome = await this.runStep(step, record, { phase: 'run', index: i + 1, total: plan.steps.length });
      if (record.status === 'completed') {
        if (outcome?.endRun) {
          for (const rest of journal.steps.slice(i + 1)) rest.status = 'skipped';
          return this.end('completed', outcome.endRun);
        }
        continue;
      }
      if (record.status === 'interrupted') return this.end('interrupted', `interrupted during step ${step.id}`);
      if (step.onFailure === 'continue') {
        record.continued = true;
        this.event(`step ${step.id} failed; the runbook says continue`);
        this.save();
        continue;
      }
      this.end('failed', `step ${step.id} failed: ${record.error ?? 'unknown error'}`);
      if (step.onFailure === 'rollback') await this.rollback();
      return;
    }
    this.end('completed');
  }

  /**
   * After a run that did not complete: the runbook's finally steps (e.g. close the gate), each even if one before it
   * failed, so a failed, interrupted or rolled-back run never leaves a safety rule switched off.
   */
  async restoreSafety(): Promise<void> {
    const { journal, plan } = this;
    if (journal.status === 'completed' || plan.finally.length === 0) return;
    journal.finally = plan.finally.map((step) => pendingRecord(step));
    for (const [n, step] of plan.finally.entries()) {
      const record = journal.finally[n];
      const undone = plan.steps.findIndex((s) => s.id === step.undoes);
      if (undone >= 0 && !mayHaveEffects(journal.steps[undone])) {
        Object.assign(record, { status: 'skipped', detail: `${step.undoes} did not run: nothing to undo` });
        continue;
      }
      await this.runStep(step, record, { phase: 'finally', index: n + 1, total: plan.finally.length });
      this.event(
        record.status === 'completed'
          ? `finally: ${step.id} restored safety (${record.detail ?? step.summary})`
          : `finally: ${step.id} FAILED (${record.error}); do it by hand: ${step.summary}`,
      );
    }
    this.save();
  }

  /**
   * Before a resume or a rollback: the steps that finally steps undid when the run last ended (e.g. gate-on) run
   * again, so the run goes on in the state it was in. False (and the run ended as `failedAs`) when one cannot be.
   */
  async reapplyUndone(failedAs: 'failed' | 'rollback-failed'): Promise<boolean> {
    const { journal, plan } = this;
    const undone = (journal.finally ?? []).flatMap((record) => {
      const undoes = plan.finally.find((f) => f.id === record.id)?.undoes;
      const index = plan.steps.findIndex((s) => s.id === undoes);
      return record.status === 'completed' && index >= 0 && mayHaveEffects(journal.steps[index]) ? [index] : [];
    });
    delete journal.finally;
    for (const [n, index] of undone.entries()) {
      const step = plan.steps[index];
      const record = journal.steps[index];
      await this.runStep(step, record, { phase: 'run', index: n + 1, total: undone.length });
      if (record.status !== 'completed') {
        this.end(failedAs, `could not re-apply ${step.id}, which the finally steps had undone: ${record.error}`);
        return false;
      }
      this.event(`re-applied ${step.id} (undone by the finally steps when the run ended)`);
    }
    this.save();
    return true;
  }

  /** Runs the rollback steps of every step that may have had effects, last step first; continues a rollback. */
  async rollback(): Promise<void> {
    const { journal, plan } = this;
    const todo: { undo: PlannedStep; forStep: string }[] = [];
    for (let i = plan.steps.length - 1; i >= 0; i--) {
      if (!mayHaveEffects(journal.steps[i])) continue;
      for (const undo of plan.steps[i].rollback) todo.push({ undo, forStep: plan.steps[i].id });
    }
    journal.status = 'rolling-back';
    journal.endedAt = undefined;
    this.event(`rollback: ${todo.length} step${todo.length === 1 ? '' : 's'}`);
    this.save();
    for (const [n, { undo, forStep }] of todo.entries()) {
      let record = journal.rollback.find((r) => r.for === forStep && r.id === undo.id);
      if (!record) {
        record = pendingRecord(undo, forStep);
        journal.rollback.push(record);
      }
      if (record.status === 'completed' || (record.status === 'failed' && record.continued)) continue;
      if (this.options.signal?.aborted) return this.end('rollback-failed', `rollback interrupted before ${undo.id}`);
      await this.runStep(undo, record, { phase: 'rollback', index: n + 1, total: todo.length });
      if (record.status === 'interrupted') {
        return this.end('rollback-failed', `rollback interrupted during ${forStep}/${undo.id}`);
      }
      if (record.status === 'failed') {
        if (undo.onFailure !== 'continue') {
          return this.end('rollback-failed', `rollback step ${forStep}/${undo.id} failed: ${record.error}`);
        }
        record.continued = true;
      }
    }
    this.end(
      'rolled-back',
      todo.length ? `rolled back (${todo.length} step${todo.length === 1 ? '' : 's'})` : 'nothing to roll back',
    );
  }

  private async runStep(
    step: PlannedStep,
    record: StepRecord,
    position: Pick<StepView, 'phase' | 'index' | 'total'>,
  ): Promise<StepOutcome | undefined> {
    // Finally steps restore safety after an interruption too: only their own timeout stops them.
    const interrupt = position.phase === 'finally' ? undefined : this.options.signal;
    const type = this.registry.get(step.type);
    if (!type) throw new Error(`step type ${step.type} is not registered`);
    const { journal, options } = this;
    const view: StepView = {
      ...position,
      id: step.id,
      type: step.type,
      title: step.title,
      interactive: step.interactive,
    };
    const started = Date.now();
    Object.assign(record, { status: 'running', startedAt: now(), title: step.title, attempts: record.attempts + 1 });
    for (const key of ['endedAt', 'durationMs', 'detail', 'error', 'result', 'continued', 'refused'] as const)
      delete record[key];
    this.save();
    this.progress.stepStart(view);

    const timeout = new AbortController();
    const timer =
      step.timeoutMs === undefined ? undefined : setTimeout(() => timeout.abort(new Error('timeout')), step.timeoutMs);
    const signal = interrupt ? AbortSignal.any([interrupt, timeout.signal]) : timeout.signal;
    let lastSave = Date.now();
    const ctx: StepContext = {
      runId: journal.runId,
      runbook: journal.runbook.name,
      stepId: step.id,
      phase: position.phase,
      params: journal.params,
      lockKey: journal.lockKey,
      platform: options.platform,
      signal,
      deadline: step.timeoutMs === undefined ? undefined : started + step.timeoutMs,
      yes: options.yes ?? false,
      workspace: options.workspace,
      detail: (text) => {
        record.detail = text;
        this.progress.stepDetail(view, text);
        if (Date.now() - lastSave >= 1_000) {
          lastSave = Date.now();
          this.save();
        }
      },
      mark: (name, at = new Date()) => {
        journal.markers.push({ name, at: at.toISOString(), step: step.id });
      },
      markerAt: (name) => {
        const found = journal.markers.find((m) => m.name === name);
        return found ? new Date(found.at) : undefined;
      },
      recordRpo: (sample) => {
        journal.rpo.push({ ...sample, step: step.id, at: now() });
      },
      confirm: (message) => this.prompter.confirm(message),
      sleep: (ms) => delay(ms, undefined, { signal }),
    };

    let outcome: StepOutcome | undefined;
    try {
      outcome =
        (await settleWithin(
          Promise.resolve().then(() => type.run(ctx, step.params)),
          signal,
          options.stopGraceMs ?? 10_000,
        )) ?? undefined;
      record.status = 'completed';
      if (outcome?.detail) record.detail = outcome.detail;
      if (outcome?.result !== undefined) record.result = outcome.result;
      for (const name of step.marks) journal.markers.push({ name, at: now(), step: step.id });
    } catch (error) {
      const last = record.detail ? ` (last: ${record.detail})` : '';
      if (interrupt?.aborted) {
        record.status = 'interrupted';
        record.error = error instanceof StepDidNotStop ? `interrupted; ${error.message}` : `interrupted${last}`;
      } else if (timeout.signal.aborted) {
        record.status = 'failed';
        record.error =
          `timed out after ${formatDuration(step.timeoutMs ?? 0)}${last}` +
          (error instanceof StepDidNotStop ? `; ${error.message}` : '');
      } else {
        record.status = 'failed';
        record.error = describeError(error);
        if (error instanceof UserError && error.exitCode === ExitCode.refused) record.refused = true;
      }
    } finally {
      clearTimeout(timer);
    }
    record.endedAt = now();
    record.durationMs = Date.now() - started;
    this.save();
    await this.progress.stepEnd(view, {
      status: record.status,
      durationMs: record.durationMs,
      detail: record.detail,
      error: record.error,
    });
    return outcome;
  }
}

function nextSteps(journal: RunJournal): string | undefined {
  const id = journal.runId;
  switch (journal.status) {
    case 'failed':
    case 'interrupted':
      return `The journal is saved. Next: fix the cause and \`tsr runbook resume ${id}\`, or \`tsr runbook rollback ${id}\`.`;
    case 'rollback-failed':
      return `Rollback did not finish. Fix the cause, then \`tsr runbook rollback ${id}\` continues it.`;
    default:
      return undefined;
  }
}

async function finish(journal: RunJournal, options: RunOptions, progress: RunProgress): Promise<RunResult> {
  const report = buildReport(journal);
  const files = saveReport(options.workspace, report);
  progress.message(`\n${renderReport(report)}`);
  const next = nextSteps(journal);
  progress.message(
    `Journal: ${journalPath(options.workspace, journal.runId)}\nReport: ${files.markdown}${next ? `\n${next}` : ''}`,
  );
  return { journal, report, files: { journal: journalPath(options.workspace, journal.runId), ...files } };
}

async function confirmOrRefuse(options: RunOptions, question: string): Promise<void> {
  if (options.yes) return;
  const ok = await (options.prompter ?? terminalPrompter).confirm(question);
  if (!ok) throw new UserError('cancelled; nothing was changed', undefined, ExitCode.refused);
}

function progressFor(options: RunOptions): RunProgress {
  return createProgress(options.json ? 'silent' : (options.progress ?? 'auto'), options.write);
}

/** Holds the lock for `work`, releasing it however `work` ends. */
async function withLock<T>(
  options: RunOptions,
  key: string,
  runId: string,
  work: (lock: RunLock) => Promise<T>,
): Promise<T> {
  const lock = acquireRunLock(options.workspace, key, runId);
  try {
    return await work(lock);
  } finally {
    lock.release();
  }
}

/** Runs a planned runbook: confirmation (unless --yes), the per-app lock, every step, the journal and the report. */
export async function runPlan(plan: RunPlan, options: RunOptions): Promise<RunResult> {
  const progress = progressFor(options);
  try {
    progress.message(renderPlan(plan));
    const runId = newRunId(plan);
    return await withLock(options, plan.lockKey, runId, async (lock) => {
      if (lock.cleared) progress.message(staleLockNote(lock.cleared));
      // With --json the plan is not on stdout: show it where the question is asked.
      if (options.json && !options.yes && canPrompt()) process.stderr.write(`${renderPlan(plan)}\n`);
      await confirmOrRefuse(
        options,
        `Run ${plan.name} on ${plan.lockKey} (${plan.steps.length} steps)? It changes the platform as listed above.`,
      );
      const started = now();
      const journal: RunJournal = {
        version: 1,
        runId,
        runbook: {
          name: plan.name,
          description: plan.description,
          file: plan.runbook.file,
          source: plan.runbook.source,
        },
        params: plan.params,
        lockKey: plan.lockKey,
        status: 'running',
        pid: process.pid,
        hostname: os.hostname(),
        startedAt: started,
        updatedAt: started,
        confirmedBy: options.yes ? '--yes' : 'prompt',
        events: [{ at: started, what: `started${options.yes ? ' with --yes' : ' after confirmation'}` }],
        steps: plan.steps.map((step) => pendingRecord(step)),
        rollback: [],
        markers: [],
        rpo: [],
      };
      if (lock.cleared) journal.events.push({ at: started, what: staleLockNote(lock.cleared) });
      const runner = new Runner(journal, plan, options, progress);
      runner.save();
      options.onJournal?.(journal);
      await runner.forward();
      await runner.restoreSafety();
      return finish(journal, options, progress);
    });
  } finally {
    await progress.close();
  }
}

/**
 * Plans and runs `runbook` with `params` (strings from `--param k=v`, or typed values) on `options.platform`.
 * Resolves with the journal and report however the run ends (completed, failed, interrupted, rolled back); rejects
 * only when it could not start (invalid runbook or parameters, lock held, not confirmed).
 */
export async function runRunbook(
  runbook: LoadedRunbook,
  params: Readonly<Record<string, unknown>>,
  options: RunOptions,
): Promise<RunResult> {
  const plan = await planRunbook(runbook, params, {
    config: options.platform.config,
    names: options.platform.names,
    platform: options.platform,
    registry: options.registry,
  });
  return runPlan(plan, options);
}

/** The plan of a journal's run, from the runbook text and parameters saved in it. */
async function replan(journal: RunJournal, options: RunOptions): Promise<RunPlan> {
  const registry = options.registry ?? stepRegistry;
  const runbook = parseRunbook(journal.runbook.source, journal.runbook.file, registry);
  const plan = await planRunbook(runbook, journal.params, {
    config: options.platform.config,
    names: options.platform.names,
    platform: options.platform,
    registry,
  });
  const ids = plan.steps.map((s) => s.id).join(',');
  if (ids !== journal.steps.map((s) => s.id).join(',')) {
    throw new Error(`run ${journal.runId}: the journal's steps do not match its runbook`);
  }
  return plan;
}

const RESUMABLE: readonly RunStatus[] = ['running', 'failed', 'interrupted'];
const ROLLBACKABLE: readonly RunStatus[] = ['running', 'failed', 'interrupted', 'rolling-back', 'rollback-failed'];

/** Continues a run after its last completed step (the newest resumable run when `runId` is undefined). */
export async function resumeRun(runId: string | undefined, options: RunOptions): Promise<RunResult> {
  const journal = findRun(options.workspace, runId, (j) => RESUMABLE.includes(j.status), 'run to resume');
  if (!RESUMABLE.includes(journal.status)) {
    throw new UserError(
      `run ${journal.runId} is ${journal.status}: there is nothing to resume`,
      journal.status === 'rolling-back' || journal.status === 'rollback-failed'
        ? `\`tsr runbook rollback ${journal.runId}\` finishes its rollback`
        : 'start a new run (`tsr runbook run …`)',
      ExitCode.refused,
    );
  }
  const plan = await replan(journal, options);
  const progress = progressFor(options);
  try {
    return await withLock(options, journal.lockKey, journal.runId, async (lock) => {
      const from = firstIncomplete(journal);
      const step = plan.steps[from];
      if (lock.cleared) progress.message(staleLockNote(lock.cleared));
      progress.message(renderPlan(plan));
      await confirmOrRefuse(
        options,
        step
          ? `Resume run ${journal.runId} at step ${from + 1} (${step.id})?`
          : `Run ${journal.runId} has no step left; mark it completed?`,
      );
      Object.assign(journal, { status: 'running', pid: process.pid });
      delete journal.endedAt;
      delete journal.message;
      if (lock.cleared) journal.events.push({ at: now(), what: staleLockNote(lock.cleared) });
      journal.events.push({ at: now(), what: `resumed at ${step ? `step ${step.id}` : 'the end'}` });
      const runner = new Runner(journal, plan, options, progress);
      runner.save();
      if (await runner.reapplyUndone('failed')) await runner.forward();
      await runner.restoreSafety();
      return finish(journal, options, progress);
    });
  } finally {
    await progress.close();
  }
}

/**
 * Rolls a run back: the declared rollback steps of every step that completed (or was cut short), last first.
 * Continues an unfinished rollback. A completed run is not rolled back: run the runbook the other way instead.
 */
export async function rollbackRun(runId: string | undefined, options: RunOptions): Promise<RunResult> {
  const journal = findRun(options.workspace, runId, (j) => ROLLBACKABLE.includes(j.status), 'run to roll back');
  if (!ROLLBACKABLE.includes(journal.status)) {
    throw new UserError(
      `run ${journal.runId} is ${journal.status}: there is nothing to roll back`,
      journal.status === 'completed'
        ? 'a completed run is undone by running the runbook the other way (e.g. rotate back to the source region)'
        : undefined,
      ExitCode.refused,
    );
  }
  const plan = await replan(journal, options);
  const progress = progressFor(options);
  try {
    return await withLock(options, journal.lockKey, journal.runId, async (lock) => {
      if (lock.cleared) progress.message(staleLockNote(lock.cleared));
      const undo = plan.steps
        .filter((_, i) => mayHaveEffects(journal.steps[i]))
        .reverse()
        .flatMap((s) => s.rollback.map((u) => `${s.id}/${u.id}: ${u.summary}`));
      progress.message(
        `Rollback of run ${journal.runId} (${journal.runbook.name}, ${journal.status}):\n` +
          (undo.length ? undo.map((u, i) => `  ${i + 1}. ${u}`).join('\n') : '  nothing to undo'),
      );
      await confirmOrRefuse(options, `Roll back run ${journal.runId} (${undo.length} steps)?`);
      journal.pid = process.pid;
      if (lock.cleared) journal.events.push({ at: now(), what: staleLockNote(lock.cleared) });
      const runner = new Runner(journal, plan, options, progress);
      if (await runner.reapplyUndone('rollback-failed')) await runner.rollback();
      await runner.restoreSafety();
      return finish(journal, options, progress);
    });
  } finally {
    await progress.close();
  }
}
