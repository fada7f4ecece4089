import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUN = path.join(ROOT, 'bin', 'run.js');

/**
 * What a command's `--json` prints: the resolved type of its `run()`, e.g. `ResultOf<typeof Status>` (without the
 * `void` of modes that print no JSON, such as `status --watch`).
 */
export type ResultOf<C extends { prototype: { run(): Promise<unknown> } }> = Exclude<
  Awaited<ReturnType<C['prototype']['run']>>,
  void
>;

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh workspace in /tmp (reachable by the postgres user when tests run as root). */
export function tempWorkspace(prefix = 'tsr-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755); // mkdtemp makes it 0700, which the postgres user cannot enter
  return dir;
}

/** After a failed test: copies what explains it (journals, reports, logs) out of a workspace about to be destroyed. */
export function keepForDebugging(workspace: string, dirs: readonly string[], what: string): void {
  const keep = `${workspace}-debug`;
  for (const dir of dirs)
    if (existsSync(path.join(workspace, dir)))
      cpSync(path.join(workspace, dir), path.join(keep, dir), { recursive: true });
  process.stderr.write(`${what} failed: ${dirs.join(', ')} kept in ${keep}\n`);
}

/** Runs a command as a user's shell would, with a clean TSR_* environment (plus `env`). */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; onSpawn?: (pid: number) => void } = {},
): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TSR_')));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (child.pid) options.onSpawn?.(child.pid);
  });
}

/** Runs the built CLI (bin/run.js on dist/) as a user would, with a clean TSR_* environment. */
export function runTsr(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onSpawn?: (pid: number) => void } = {},
): Promise<CliResult> {
  return runCommand(process.execPath, [RUN, ...args], options);
}

export async function runJson<T>(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<{ result: CliResult; json: T }> {
  const result = await runTsr([...args, '--json'], options);
  try {
    return { result, json: JSON.parse(result.stdout) as T };
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}
