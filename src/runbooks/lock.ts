import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, UserError } from '../errors.js';
import { isAlive } from '../infra/local/state.js';
import { runbooksDir } from './journal.js';

/** Who holds a run lock. */
export interface LockHolder {
  readonly key: string;
  readonly runId: string;
  readonly pid: number;
  readonly hostname: string;
  readonly acquiredAt: string;
}

export interface RunLock {
  readonly key: string;
  readonly file: string;
  /** A lock left by a process that is gone, which was cleared to take this one. */
  readonly cleared?: LockHolder;
  /** Removes the lock if it is still ours. Idempotent. */
  release(): void;
}

/** The lock is held by a live run. Exit code 5. */
export class RunLockedError extends UserError {
  constructor(readonly holder: LockHolder) {
    super(
      `a runbook is already running on ${holder.key}: run ${holder.runId} (pid ${holder.pid} on ${holder.hostname}, ` +
        `since ${holder.acquiredAt})`,
      `wait for it to end, or stop it with Ctrl-C and then \`tsr runbook resume ${holder.runId}\` or ` +
        `\`tsr runbook rollback ${holder.runId}\``,
      ExitCode.refused,
    );
    this.name = 'RunLockedError';
  }
}

export function lockPath(workspace: string, key: string): string {
  return path.join(runbooksDir(workspace), 'locks', `${key.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`);
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    return typeof holder.pid === 'number' && typeof holder.runId === 'string' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** A holder whose process is gone (on this host), or a lock file nobody can read. */
function isStale(holder: LockHolder | undefined): boolean {
  if (!holder) return true;
  return holder.hostname === os.hostname() && !isAlive(holder.pid);
}

/**
 * Takes the lock on `key` (an app) for `runId`, or throws RunLockedError naming the run that holds it. A lock
 * whose process is gone (a crashed run) is cleared and reported in `cleared`. Creation is atomic (O_EXCL), so two
 * runs starting at once cannot both get it.
 */
export function acquireRunLock(workspace: string, key: string, runId: string): RunLock {
  const file = lockPath(workspace, key);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const holder: LockHolder = {
    key,
    runId,
    pid: process.pid,
    hostname: os.hostname(),
    acquiredAt: new Date().toISOString(),
  };
  let cleared: LockHolder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${JSON.stringify(holder, null, 2)}\n`, { flag: 'wx' });
      let released = false;
      return {
        key,
        file,
        cleared,
        release: () => {
          if (released) return;
          released = true;
          if (readHolder(file)?.runId === runId) fs.rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const current = readHolder(file);
    if (!isStale(current)) throw new RunLockedError(current as LockHolder);
    cleared = current ?? { key, runId: 'unknown', pid: 0, hostname: 'unknown', acquiredAt: 'unknown' };
    fs.rmSync(file, { force: true });
  }
  throw new UserError(`could not take the runbook lock ${file}`, 'another run keeps taking it; try again');
}

/** The holder of the lock on `key`, if any, and whether its process is gone. */
export function inspectRunLock(workspace: string, key: string): { holder?: LockHolder; stale: boolean } | undefined {
  const file = lockPath(workspace, key);
  if (!fs.existsSync(file)) return undefined;
  const holder = readHolder(file);
  return { holder, stale: isStale(holder) };
}
