import { setTimeout as delay } from 'node:timers/promises';

export interface WatchOptions {
  readonly intervalMs: number;
  /** Ends the watch (Ctrl-C). */
  readonly signal: AbortSignal;
  readonly write: (text: string) => void;
  /** Clear the screen before each frame (on a terminal); otherwise frames follow each other. */
  readonly clear?: boolean;
}

const CLEAR_SCREEN = '\x1b[2J\x1b[H';

/** Shows `frame()` again every interval until the signal fires; a slow frame delays the next, never overlaps it. */
export async function watch(frame: () => Promise<string>, { intervalMs, signal, write, clear }: WatchOptions) {
  while (!signal.aborted) {
    const text = await frame();
    if (signal.aborted) break;
    write(`${clear ? CLEAR_SCREEN : ''}${text}\n`);
    await delay(intervalMs, undefined, { signal }).catch(() => undefined);
  }
}

/** Runs `work` with a signal that Ctrl-C or SIGTERM fires: the quiet way out of a watch or a follow. */
export async function untilInterrupted<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}
