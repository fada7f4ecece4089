import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { workspacePaths } from './state.js';

/** Where the dashboard's access token lives: with the other secrets, never in the state file or a log. */
export function dashboardTokenFile(workspace: string): string {
  return path.join(workspacePaths(workspace).secrets, 'dashboard-token');
}

/**
 * The dashboard's token, made once per workspace (32 random bytes) and kept, so a URL printed by one deploy still
 * opens the page after a redeploy or a restart of the dashboard process.
 */
export function ensureDashboardToken(workspace: string): { file: string; token: string } {
  const file = dashboardTokenFile(workspace);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return { file, token: readFileSync(file, 'utf8').trim() };
}

export function readDashboardToken(workspace: string): string | undefined {
  try {
    return readFileSync(dashboardTokenFile(workspace), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
