/**
 * Runs `work` with an AbortSignal that fires on Ctrl-C (SIGINT) or SIGTERM, so long operations can clean up what
 * they started instead of dying half-way. A second Ctrl-C is left to the default handler.
 */
export async function onInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = () => {
    process.stderr.write('\nInterrupted: stopping what was started…\n');
    controller.abort();
    process.removeListener('SIGINT', abort);
  };
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    return await work(controller.signal);
  } finally {
    process.removeListener('SIGINT', abort);
    process.removeListener('SIGTERM', abort);
  }
}
