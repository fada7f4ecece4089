import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { runbooksDir, shortRunId, type RunJournal, type StepRecord } from '../runbooks/journal.js';
import type { RunReport } from '../runbooks/report.js';
import type { RunView, StepView } from './view-model.js';

/** How many past runs the Drills view lists (the newest ones). */
const RECENT = 20;

function stepView(step: StepRecord): StepView {
  return {
    id: step.id,
    title: step.title,
    status: step.status,
    durationMs: step.durationMs,
    startedAt: step.startedAt,
    detail: step.detail,
    error: step.error,
    refused: step.refused,
  };
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * The runbook journals of a workspace, read again only when a file changed (by size and modification time): a
 * refresh costs a directory listing and a few stats, not a parse of every run ever made.
 */
export class JournalWatch {
  private readonly cache = new Map<string, { stamp: string; view: RunView }>();

  constructor(private readonly workspace: string) {}

  private view(runId: string, file: string): RunView | undefined {
    let stamp: string;
    try {
      const stat = statSync(file);
      stamp = `${stat.size}:${stat.mtimeMs}`;
    } catch {
      return undefined;
    }
    const cached = this.cache.get(runId);
    if (cached?.stamp === stamp) return cached.view;
    const journal = readJson<RunJournal>(file);
    if (!journal || journal.runId !== runId) return undefined;
    const reportFile = path.join(runbooksDir(this.workspace), `${runId}.report.json`);
    const report = journal.status === 'running' ? undefined : readJson<RunReport>(reportFile);
    const view: RunView = {
      runId,
      shortId: shortRunId(runId),
      runbook: journal.runbook.name,
      params: journal.params,
      status: journal.status,
      message: journal.message,
      startedAt: journal.startedAt,
      endedAt: journal.endedAt,
      steps: journal.steps.map(stepView),
      finally: (journal.finally ?? []).map(stepView),
      markers: journal.markers.map((m) => ({ name: m.name, at: m.at })),
      rtoMs: report?.rtoMs,
      unavailabilityMs: report?.unavailabilityMs,
      rpoAfterReplay: report?.rpo.afterReplay?.count,
      report: report ? `runs/${encodeURIComponent(runId)}/report` : undefined,
    };
    // A finished run whose report is not written yet is read again next time.
    if (journal.status === 'running' || report) this.cache.set(runId, { stamp, view });
    return view;
  }

  /** Runs in progress, and the newest finished ones. */
  read(): { running: RunView[]; recent: RunView[] } {
    const dir = runbooksDir(this.workspace);
    let ids: string[];
    try {
      ids = readdirSync(dir)
        .filter((f) => f.endsWith('.json') && !f.endsWith('.report.json'))
        .map((f) => f.slice(0, -'.json'.length))
        .sort()
        .reverse()
        .slice(0, RECENT + 5);
    } catch {
      return { running: [], recent: [] };
    }
    for (const cached of this.cache.keys()) if (!ids.includes(cached)) this.cache.delete(cached);
    const views = ids.flatMap((id) => this.view(id, path.join(dir, `${id}.json`)) ?? []);
    return {
      running: views.filter((v) => v.status === 'running' || v.status === 'rolling-back'),
      recent: views.filter((v) => v.status !== 'running' && v.status !== 'rolling-back').slice(0, RECENT),
    };
  }

  /** The markdown report of a run, or undefined. */
  reportText(runId: string): string | undefined {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId)) return undefined;
    try {
      return readFileSync(path.join(runbooksDir(this.workspace), `${runId}.report.md`), 'utf8');
    } catch {
      return undefined;
    }
  }
}
