import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineSpec } from './engines/start-engine.js';
import { isAlive } from './process-alive.js';
import { COLLECTOR_FLAGS, LEAN_HEAP_FLAGS, LEAN_PROCESS_ENV } from './node-flags.js';

const ENGINE_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'engine-main.js');

export interface RunningEngine {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly ports: readonly number[];
  readonly childPids: readonly number[];
}

/** The last lines of a log, for error messages about a process that failed. */
export function logTail(file: string, lines = 20): string {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8');
  return text
    .split('\n')
    .slice(-lines - 1)
    .join('\n')
    .trim();
}

export class EngineStartError extends Error {
  constructor(
    message: string,
    readonly log: string,
    readonly tail: string,
  ) {
    super(message);
  }
}

/** Starts one engine process, logging to `logFile`, and resolves once it reports ready. */
export function spawnEngine(spec: EngineSpec, logFile: string, timeoutMs = 60_000): Promise<RunningEngine> {
  const logFd = openSync(logFile, 'a');
  const child = fork(ENGINE_MAIN, [], {
    env: { ...process.env, ...LEAN_PROCESS_ENV, TSR_ENGINE_SPEC: JSON.stringify(spec) },
    stdio: ['ignore', logFd, logFd, 'ipc'],
    execArgv: [...LEAN_HEAP_FLAGS, ...COLLECTOR_FLAGS],
  });
  closeSync(logFd);
  const name = 'region' in spec ? `${spec.kind} (${spec.region})` : spec.kind;
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill('SIGKILL');
      reject(new EngineStartError(`${name} failed to start: ${reason}`, logFile, logTail(logFile)));
    };
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs / 1000} s`), timeoutMs);
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
    child.on(
      'message',
      (message: { type: string; endpoint?: string; ports?: number[]; childPids?: number[]; message?: string }) => {
        if (message.type === 'failed') return fail(message.message ?? 'unknown error');
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({
          child,
          endpoint: message.endpoint ?? '',
          ports: message.ports ?? [],
          childPids: message.childPids ?? [],
        });
      },
    );
  });
}

/** Stops an engine: SIGTERM, then SIGKILL after a grace period; also kills processes it owned. */
export async function stopEngine(engine: RunningEngine, graceMs = 8_000): Promise<void> {
  const { child } = engine;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  for (const pid of engine.childPids) killQuietly(pid, 'SIGKILL');
  // A killed process lingers for a moment: whoever stops an engine (a failed deploy, destroy) returns only once its
  // children are gone, so nothing of it is left running when the command says so.
  for (const until = Date.now() + 5_000; engine.childPids.some(isAlive) && Date.now() < until;) await sleep(20);
}

export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
