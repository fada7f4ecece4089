import { readdirSync, readFileSync } from 'node:fs';
import { isAlive } from './state.js';
import { killQuietly } from './engine-process.js';

/** Set by the supervisor and inherited by every engine it starts: marks whose processes they are. */
export const OWNER_VARIABLE = 'TSR_OWNER_WORKSPACE';

/**
 * Processes that belong to a workspace, found from the OS rather than the state file (which may be missing or
 * corrupt): the supervisor and engines carry the workspace path in their command line or environment, PostgreSQL
 * in its data directory argument.
 */
export function findWorkspaceProcesses(workspace: string): number[] {
  if (process.platform !== 'linux') return [];
  const found: number[] = [];
  const inside = `${workspace.replace(/\/+$/, '')}/`;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      // Only our own programs: a shell that merely mentions the workspace is never touched.
      const ours = cmdline.includes('supervisor-main.js') || /\/postgres\0-D\0/.test(cmdline);
      if (ours && (cmdline.includes(inside) || cmdline.includes(`${workspace}\0`))) {
        found.push(pid);
        continue;
      }
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (environ.includes(`${OWNER_VARIABLE}=${inside}\0`)) found.push(pid);
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL whatever is left. Resolves with the pids that had to be killed. */
export async function terminate(pids: readonly number[], graceMs = 10_000): Promise<number[]> {
  const alive = pids.filter(isAlive);
  for (const pid of alive) killQuietly(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive.some(isAlive)) await new Promise((r) => setTimeout(r, 100));
  const stubborn = alive.filter(isAlive);
  for (const pid of stubborn) killQuietly(pid, 'SIGKILL');
  return stubborn;
}
