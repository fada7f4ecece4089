import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, UserError } from '../../errors.js';

/**
 * The file that says "tsr made this directory". Purge deletes nothing in a directory without it: `--workspace .`
 * or `--workspace ~` must never take a user's files with it.
 */
export const WORKSPACE_MARKER = '.tsr-workspace';

/** What tsr writes into a workspace, besides the marker and the drill history. */
export const TSR_ENTRIES = ['state.json', 'plan.json', 'logs', 'data', 'secrets', 'generator', 'flow'] as const;

/** Runbook journals, reports and locks, and game-day bundles: the drill history, kept by a purge unless asked for. */
export const HISTORY_ENTRIES: readonly string[] = ['runbooks', 'gamedays'];

/** Leftovers of an atomic write that a crash interrupted (state.json.<pid>.tmp). */
const TEMPORARY = /^(state|plan)\.json\.\d+\.tmp$/;

function isTsrEntry(name: string, history: boolean): boolean {
  return (
    (TSR_ENTRIES as readonly string[]).includes(name) ||
    TEMPORARY.test(name) ||
    (history && HISTORY_ENTRIES.includes(name))
  );
}

function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/**
 * Marks the workspace as tsr's when tsr creates it, or when it holds nothing but what tsr writes (a workspace of a
 * version before the marker). A directory with anything else in it is used but never marked, so never purged.
 */
export function claimWorkspace(workspace: string): void {
  const marker = path.join(workspace, WORKSPACE_MARKER);
  if (existsSync(marker)) return;
  const foreign = entries(workspace).filter((name) => !isTsrEntry(name, true));
  if (foreign.length) return;
  mkdirSync(workspace, { recursive: true });
  writeFileSync(marker, `${JSON.stringify({ createdBy: 'tsr', createdAt: new Date().toISOString() })}\n`);
}

export interface PurgeResult {
  /** Entries of the workspace that were deleted. */
  readonly deleted: string[];
  /** Entries kept: the drill history (without --purge-history) and anything tsr did not create. */
  readonly kept: string[];
  /** Whether the workspace directory itself is gone. */
  readonly removedWorkspace: boolean;
}

/** Whether `workspace` carries tsr's marker (a regular file, not a link to one). */
export function isTsrWorkspace(workspace: string): boolean {
  const marker = path.join(workspace, WORKSPACE_MARKER);
  return existsSync(marker) && lstatSync(marker).isFile() && readFileSync(marker, 'utf8').includes('"tsr"');
}

function refuse(message: string, fix: string): never {
  throw new UserError(message, fix, ExitCode.refused);
}

/** Why `workspace` may not be purged, or nothing when it may. Checked before anything is stopped or deleted. */
export function checkPurgeable(workspace: string): void {
  if (!existsSync(workspace)) return;
  const resolved = path.resolve(workspace);
  if (resolved === path.parse(resolved).root || resolved === os.homedir()) {
    refuse(`refusing to purge ${resolved}: it is a root or home directory`, 'point --workspace at a tsr workspace');
  }
  if (lstatSync(workspace).isSymbolicLink()) {
    refuse(
      `refusing to purge ${workspace}: it is a symbolic link, and purge never follows a link out of the workspace`,
      'pass the directory itself with --workspace',
    );
  }
  if (!isTsrWorkspace(workspace)) {
    refuse(
      `refusing to purge ${workspace}: it has no ${WORKSPACE_MARKER} marker, so tsr did not create it`,
      'delete by hand what you want gone; purge only works in a workspace tsr created (e.g. the default ./.tsr)',
    );
  }
}

/**
 * Deletes what tsr created in a marked workspace. Links inside are removed, never followed; anything tsr did not
 * create stays, and so does the drill history unless `history`.
 */
export function purgeWorkspace(workspace: string, { history = false } = {}): PurgeResult {
  checkPurgeable(workspace);
  const present = entries(workspace).filter((name) => name !== WORKSPACE_MARKER);
  const deleted = present.filter((name) => isTsrEntry(name, history));
  for (const name of deleted) rmSync(path.join(workspace, name), { recursive: true, force: true });
  const kept = present.filter((name) => !deleted.includes(name));
  const removedWorkspace = existsSync(workspace) && kept.length === 0;
  if (removedWorkspace) {
    rmSync(path.join(workspace, WORKSPACE_MARKER), { force: true });
    rmdirSync(workspace); // not recursive: fails rather than delete something that appeared meanwhile
  }
  return { deleted, kept, removedWorkspace };
}
