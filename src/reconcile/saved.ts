/**
 * Every reconciliation's report, kept in one place in the workspace (`<workspace>/reconcile/`), whoever ran it:
 * `tsr reconcile`, a runbook or game-day step, or the dashboard's button. reconcile() saves it; the dashboard shows
 * the last one. Bounded: the newest `KEEP_RECONCILE_REPORTS` are kept, older ones removed as new ones arrive.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ReconcileReport } from './report.js';

export const KEEP_RECONCILE_REPORTS = 20;

export interface SavedReconcile {
  /** ISO 8601: when it ended. */
  readonly at: string;
  /** Who ran it: "tsr reconcile", "runbook rotate (run …)", "dashboard", … */
  readonly by: string;
  readonly report: ReconcileReport;
}

export function reconcileDir(workspace: string): string {
  return path.join(workspace, 'reconcile');
}

/** The names saveReconcile gives (time, counter, pid): pruning never touches another file put in the folder. */
const SAVED_NAME = /^\d{4}-\d\d-\d\dT[\d-]+Z-\d{15}-\d+\.json$/;

/** Newest first: names start with the time they were saved, so they sort by it. */
function savedFiles(workspace: string): string[] {
  const dir = reconcileDir(workspace);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => SAVED_NAME.test(f))
    .sort()
    .reverse();
}

/**
 * Saves a report (atomically) and removes the oldest beyond the bound. Only into a workspace that exists (a
 * deployment's); returns the file, or undefined when there is none.
 */
export function saveReconcile(
  workspace: string,
  report: ReconcileReport,
  by: string,
  keep = KEEP_RECONCILE_REPORTS,
): string | undefined {
  if (!existsSync(workspace)) return undefined;
  const dir = reconcileDir(workspace);
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  // The time, then a process-monotonic counter: two saves in one millisecond still sort in the order they were made.
  const tick = String(process.hrtime.bigint() % 10n ** 15n).padStart(15, '0');
  const file = path.join(dir, `${at.replace(/[:.]/g, '-')}-${tick}-${process.pid}.json`);
  const saved: SavedReconcile = { at, by, report };
  const temporary = `${file}.tmp`;
  writeFileSync(temporary, JSON.stringify(saved));
  renameSync(temporary, file);
  for (const old of savedFiles(workspace).slice(keep)) rmSync(path.join(dir, old), { force: true });
  return file;
}

/** The name of the newest saved report (cheap: a directory listing), to tell whether it changed. */
export function lastReconcileName(workspace: string): string | undefined {
  return savedFiles(workspace)[0];
}

/** The newest saved report, or undefined when none was saved (or it cannot be read). */
export function lastReconcile(workspace: string): SavedReconcile | undefined {
  for (const name of savedFiles(workspace).slice(0, 2)) {
    try {
      return JSON.parse(readFileSync(path.join(reconcileDir(workspace), name), 'utf8')) as SavedReconcile;
    } catch {
      // Removed by a newer save between listing and reading: the next one is as recent as it gets.
    }
  }
  return undefined;
}
