/**
 * A full garbage collection now and then while a service has nothing to do. A standby service allocates slowly
 * (routing-control polls, lease renewals) and V8 lets its old generation grow by at least 8 MiB before the next full
 * GC, so a standby region's services each climbed ~7 MiB over a quarter of an hour before levelling off: anonymous
 * memory that read as growth in an hour-long game day. Collecting while idle keeps them at what is live, at the cost
 * of a few milliseconds a minute; a service with work never collects here (V8 paces that itself).
 * Needs `--expose-gc` (the local platform starts services with it); without it this does nothing.
 */
export interface IdleCollectorOptions {
  /** How often to look, ms. Default 30 s. */
  readonly intervalMs?: number;
  /** A number that moves whenever the service does work (e.g. records in). */
  readonly workDone: () => number;
  /** The collector; default the `gc` that `--expose-gc` provides. */
  readonly collect?: () => void;
  /** Called after each collection (a counter in the service's metrics). */
  readonly onCollected?: () => void;
}

export function startIdleCollector({
  intervalMs = 30_000,
  workDone,
  collect,
  onCollected,
}: IdleCollectorOptions): () => void {
  const gc = collect ?? (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return () => undefined;
  let seen = workDone();
  const timer = setInterval(() => {
    const now = workDone();
    if (now !== seen) {
      seen = now;
      return;
    }
    gc(); // idle for a whole interval
    onCollected?.();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
