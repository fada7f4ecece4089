import { Listr, type ListrTaskWrapper, PRESET_TIMER } from 'listr2';
import { formatDuration } from './duration.js';
import type { StepStatus } from './journal.js';

/** A step as progress output shows it. */
export interface StepView {
  readonly id: string;
  readonly type: string;
  readonly title: string;
  /** 1-based position among `total`. */
  readonly index: number;
  readonly total: number;
  readonly phase: 'run' | 'rollback' | 'finally';
  readonly interactive: boolean;
}

export interface StepEnd {
  readonly status: StepStatus;
  readonly durationMs: number;
  readonly detail?: string;
  readonly error?: string;
}

/** How a run shows itself: live (listr2), plain lines (no TTY), or nothing (--json). */
export interface RunProgress {
  /** Text between steps: the plan, notes, the report. */
  message(text: string): void;
  stepStart(step: StepView): void;
  /** The step's live detail line changed. */
  stepDetail(step: StepView, text: string): void;
  stepEnd(step: StepView, end: StepEnd): Promise<void>;
  close(): Promise<void>;
}

export type ProgressMode = 'auto' | 'live' | 'lines' | 'silent';

function label(step: StepView): string {
  const position = `[${step.index}/${step.total}]`;
  return `${step.phase === 'run' ? '' : `${step.phase} `}${position} ${step.id}: ${step.title}`;
}

const SYMBOL: Record<StepStatus, string> = {
  pending: '·',
  running: '…',
  completed: '✔',
  failed: '✖',
  skipped: '↓',
  interrupted: '■',
};

function endLine(step: StepView, end: StepEnd): string {
  const what = end.error ?? end.detail;
  return `${SYMBOL[end.status]} ${label(step)} — ${end.status} in ${formatDuration(end.durationMs)}${what ? `: ${what}` : ''}`;
}

class SilentProgress implements RunProgress {
  message(): void {}
  stepStart(): void {}
  stepDetail(): void {}
  async stepEnd(): Promise<void> {}
  async close(): Promise<void> {}
}

/** Plain lines for logs and CI: a line when a step starts and ends, and its detail at most every few seconds. */
class LineProgress implements RunProgress {
  private lastDetail = new Map<string, { at: number; text: string }>();
  private started = new Map<string, number>();

  constructor(
    private readonly write: (text: string) => void,
    private readonly detailEveryMs = 5_000,
  ) {}

  private line(text: string): void {
    this.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
  }

  message(text: string): void {
    this.write(`${text}\n`);
  }

  stepStart(step: StepView): void {
    this.started.set(step.id, Date.now());
    this.lastDetail.set(step.id, { at: Date.now(), text: '' });
    this.line(`→ ${label(step)}`);
  }

  stepDetail(step: StepView, text: string): void {
    const last = this.lastDetail.get(step.id);
    if (last && (last.text === text || Date.now() - last.at < this.detailEveryMs)) return;
    this.lastDetail.set(step.id, { at: Date.now(), text });
    const elapsed = Date.now() - (this.started.get(step.id) ?? Date.now());
    this.line(`  ${step.id} (${formatDuration(elapsed)}): ${text}`);
  }

  async stepEnd(step: StepView, end: StepEnd): Promise<void> {
    this.line(endLine(step, end));
  }

  async close(): Promise<void> {}
}

interface LiveStep {
  readonly step: StepView;
  readonly started: number;
  readonly ended: Promise<StepEnd>;
  finish(end: StepEnd): void;
  task?: ListrTaskWrapper<unknown, never, never>;
  detail?: string;
  shown?: Promise<unknown>;
}

/**
 * Live progress with listr2: each step is a task with a spinner, its elapsed time and a detail line under it; a
 * finished step stays on screen with its duration and last detail. One small list per step, so an interactive
 * step (approve) can prompt with no renderer drawing over it.
 */
class LiveProgress implements RunProgress {
  private current?: LiveStep;

  constructor(private readonly write: (text: string) => void) {}

  message(text: string): void {
    this.write(`${text}\n`);
  }

  stepStart(step: StepView): void {
    if (step.interactive) {
      this.write(`? ${label(step)}\n`);
      return;
    }
    let finish!: (end: StepEnd) => void;
    const ended = new Promise<StepEnd>((resolve) => (finish = resolve));
    const live: LiveStep = { step, started: Date.now(), ended, finish };
    this.current = live;
    const title = label(step);
    const list = new Listr(
      [
        {
          title,
          task: async (_ctx, task) => {
            live.task = task as unknown as LiveStep['task'];
            if (live.detail) task.output = live.detail;
            const tick = setInterval(() => {
              task.title = `${title} · ${formatDuration(Date.now() - live.started)}`;
            }, 1_000);
            const end = await ended;
            clearInterval(tick);
            task.title = title;
            if (end.detail) task.output = end.detail;
            if (end.status === 'skipped') task.skip(end.detail ?? 'skipped');
            else if (end.status !== 'completed') throw new Error(end.error ?? end.status);
          },
          rendererOptions: { persistentOutput: true },
        },
      ],
      {
        renderer: 'default',
        exitOnError: false,
        // Ctrl-C is the engine's to handle (journal, lock); listr2 would exit the process at once.
        registerSignalListeners: false,
        rendererOptions: { timer: PRESET_TIMER },
      },
    );
    live.shown = list.run().catch(() => undefined);
  }

  stepDetail(step: StepView, text: string): void {
    if (this.current?.step.id !== step.id) return;
    this.current.detail = text;
    if (this.current.task) this.current.task.output = text;
  }

  async stepEnd(step: StepView, end: StepEnd): Promise<void> {
    const live = this.current;
    if (!live || live.step.id !== step.id || live.step.phase !== step.phase) {
      this.write(`${endLine(step, end)}\n`);
      return;
    }
    this.current = undefined;
    live.finish(end);
    await live.shown;
  }

  async close(): Promise<void> {
    const live = this.current;
    if (live) {
      live.finish({ status: 'interrupted', durationMs: Date.now() - live.started });
      await live.shown;
    }
  }
}

/** Progress for `mode`: `auto` is live on a terminal, plain lines otherwise. */
export function createProgress(
  mode: ProgressMode,
  write: (text: string) => void = (text) => process.stdout.write(text),
): RunProgress {
  const resolved = mode === 'auto' ? (process.stdout.isTTY ? 'live' : 'lines') : mode;
  if (resolved === 'silent') return new SilentProgress();
  if (resolved === 'lines') return new LineProgress(write);
  return new LiveProgress(write);
}
