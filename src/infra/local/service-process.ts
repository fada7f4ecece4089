import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import path from 'node:path';
import { logTail } from './engine-process.js';
import { fileURLToPath } from 'node:url';
import { LEAN_HEAP_FLAGS, LEAN_PROCESS_ENV, COLLECTOR_FLAGS } from './node-flags.js';

const SERVICES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'services');
/** The bundled entry point when the build made it (it starts in about half the time), else the module tree. */
const SERVICE_MAIN = [path.join(SERVICES, 'main.bundle.mjs'), path.join(SERVICES, 'main.js')].find(
  existsSync,
) as string;

export interface ServiceSpec {
  /** e.g. "trade/core@us-east-1" or "generator". */
  readonly id: string;
  readonly env: Readonly<Record<string, string>>;
  readonly log: string;
  /** 0: any free port, bound by the service itself and reported when it is ready (again at every restart). */
  readonly metricsPort: number;
  /** The script to run; default the services' entry point (the dashboard has its own). */
  readonly main?: string;
}

export interface ServiceSnapshot {
  readonly id: string;
  readonly pid?: number;
  readonly up: boolean;
  readonly restarts: number;
  readonly lastExit?: string;
  readonly metrics: string;
  readonly log: string;
}

const MAX_BACKOFF_MS = 30_000;
const STABLE_AFTER_MS = 30_000;

/**
 * One service process supervised like an ECS task: started with its environment, restarted with exponential
 * backoff when it dies (reset once it has stayed up a while), and stopped with SIGTERM then SIGKILL.
 */
export class SupervisedService {
  private child?: ChildProcess;
  private restarts = 0;
  private failuresInARow = 0;
  private lastExit?: string;
  private startedAt = 0;
  private stopped = false;
  private restartTimer?: NodeJS.Timeout;
  private readyWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private everReady = false;
  private ready = false;
  /** The port the running service reported, else the one asked for. */
  private metricsPort: number;

  constructor(
    readonly spec: ServiceSpec,
    private readonly onChange: () => void,
  ) {
    this.metricsPort = spec.metricsPort;
  }

  start(): void {
    const logFd = openSync(this.spec.log, 'a');
    const child = fork(this.spec.main ?? SERVICE_MAIN, [], {
      env: { ...process.env, ...LEAN_PROCESS_ENV, ...this.spec.env, TSR_METRICS_PORT: String(this.spec.metricsPort) },
      stdio: ['ignore', logFd, logFd, 'ipc'],
      execArgv: [...LEAN_HEAP_FLAGS, ...COLLECTOR_FLAGS],
    });
    closeSync(logFd);
    this.child = child;
    this.ready = false;
    this.startedAt = Date.now();
    child.on('message', (message: { type?: string; metricsPort?: number }) => {
      if (message?.type !== 'ready') return;
      if (message.metricsPort) this.metricsPort = message.metricsPort;
      this.ready = true;
      this.everReady = true;
      for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
      this.onChange();
    });
    child.once('exit', (code, signal) => {
      this.child = undefined;
      this.ready = false;
      this.lastExit = `${signal ?? `code ${code}`} at ${new Date().toISOString()}`;
      if (this.stopped) return;
      this.failuresInARow = Date.now() - this.startedAt > STABLE_AFTER_MS ? 1 : this.failuresInARow + 1;
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (this.failuresInARow - 1));
      this.restarts++;
      if (!this.everReady && this.failuresInARow >= 3) {
        // It never came up: say why now instead of restarting until the deploy times out.
        const error = new Error(
          `${this.spec.id} exited ${this.failuresInARow} times before it was ready (${this.lastExit})\n--- last lines of ${this.spec.log} ---\n${logTail(this.spec.log, 8)}`,
        );
        for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
      }
      this.restartTimer = setTimeout(() => this.start(), delay);
      this.onChange();
    });
    this.onChange();
  }

  /** Resolves when the service reported ready (its consumers and sessions are running). */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`${this.spec.id} did not report ready within ${timeoutMs / 1000} s; see ${this.spec.log}`)),
        timeoutMs,
      );
      this.readyWaiters.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Starts again after stop(). */
  resume(): void {
    this.stopped = false;
    this.start();
  }

  /** A crash on purpose (SIGKILL). With `hold` it stays down (no restart) until `resume()`. */
  kill(hold: boolean): void {
    if (hold) {
      this.stopped = true;
      clearTimeout(this.restartTimer);
    }
    this.child?.kill('SIGKILL');
  }

  /** Held down by `kill(hold)` or `stop()`: not running and not about to restart. */
  get held(): boolean {
    return this.stopped;
  }

  /** Sends a signal to the running process (SIGSTOP/SIGCONT: a hang that is not a crash); false when none runs. */
  signal(signal: NodeJS.Signals): boolean {
    return this.child?.kill(signal) ?? false;
  }

  /** Restart on request (`tsr services restart`): a clean stop, then a fresh start. */
  async restart(): Promise<void> {
    await this.stop();
    this.resume();
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  snapshot(): ServiceSnapshot {
    return {
      id: this.spec.id,
      pid: this.child?.pid,
      up: Boolean(this.child) && this.ready,
      restarts: this.restarts,
      lastExit: this.lastExit,
      metrics: `http://127.0.0.1:${this.metricsPort}`,
      log: this.spec.log,
    };
  }
}
