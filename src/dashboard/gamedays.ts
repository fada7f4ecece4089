import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { GameDayView } from './view-model.js';

/** Where `tsr gameday` leaves its run bundles: <workspace>/gamedays/<run-id>/report.html|report.json. */
export function gamedaysDir(workspace: string): string {
  return path.join(workspace, 'gamedays');
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The game-day runs in the workspace, newest first (none when the folder does not exist). */
export function listGameDays(workspace: string, limit = 20): GameDayView[] {
  const dir = gamedaysDir(workspace);
  let ids: string[];
  try {
    // Run directories only (a run writes its timeline first): not the workspace's scenarios beside them.
    ids = readdirSync(dir).filter(
      (id) => RUN_ID.test(id) && ['timeline.jsonl', 'report.json'].some((f) => existsSync(path.join(dir, id, f))),
    );
  } catch {
    return [];
  }
  return ids
    .sort()
    .reverse()
    .slice(0, limit)
    .map((id) => {
      const has = (file: string) => existsSync(path.join(dir, id, file));
      let at: string | undefined;
      try {
        at = statSync(path.join(dir, id)).mtime.toISOString();
      } catch {
        at = undefined;
      }
      return {
        id,
        at,
        html: has('report.html') ? `gamedays/${encodeURIComponent(id)}/report.html` : undefined,
        json: has('report.json') ? `gamedays/${encodeURIComponent(id)}/report.json` : undefined,
      };
    });
}

/** The file of a game day's report the page may open, or undefined (no path outside the run's folder). */
export function gameDayFile(workspace: string, id: string, file: string): string | undefined {
  if (!RUN_ID.test(id) || !['report.html', 'report.json'].includes(file)) return undefined;
  const full = path.join(gamedaysDir(workspace), id, file);
  return existsSync(full) ? full : undefined;
}
