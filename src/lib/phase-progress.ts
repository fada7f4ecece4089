import { Listr, PRESET_TIMER } from 'listr2';

export interface PhaseProgressOptions {
  /** No output at all (--json). */
  readonly silent?: boolean;
}

/**
 * Shows the phases of a long operation as a live listr2 task list (plain lines when not a TTY). `work` reports the
 * phase it has reached; every earlier phase is then shown as done. If `work` fails, the current phase is marked failed.
 */
export async function withPhaseProgress<T>(
  phases: readonly { key: string; title: string }[],
  work: (reachedPhase: (key: string) => void) => Promise<T>,
  { silent = false }: PhaseProgressOptions = {},
): Promise<T> {
  const gates = phases.map(() => {
    let open!: () => void;
    let fail!: (error: Error) => void;
    const promise = new Promise<void>((resolve, reject) => {
      open = resolve;
      fail = reject;
    });
    promise.catch(() => undefined);
    return { promise, open, fail };
  });
  let reached = -1;
  const reachedPhase = (key: string) => {
    const index = phases.findIndex((p) => p.key === key);
    for (let i = reached + 1; i < index; i++) gates[i].open();
    reached = Math.max(reached, index - 1);
  };
  const list = new Listr(
    phases.map((phase, i) => ({ title: phase.title, task: () => gates[i].promise })),
    {
      renderer: silent ? 'silent' : process.stdout.isTTY ? 'default' : 'simple',
      exitOnError: true,
      // Ctrl-C is ours to handle (clean up what was started); listr2 would exit at once.
      registerSignalListeners: false,
      rendererOptions: { timer: PRESET_TIMER },
      fallbackRendererOptions: { timer: PRESET_TIMER },
    },
  );
  const shown = list.run().catch(() => undefined);
  try {
    const result = await work(reachedPhase);
    gates.forEach((g) => g.open());
    await shown;
    return result;
  } catch (error) {
    gates[Math.min(reached + 1, gates.length - 1)].fail(
      error instanceof Error ? new Error(error.message.split('\n')[0]) : new Error(String(error)),
    );
    await shown;
    throw error;
  }
}
