import { getHeapSpaceStatistics } from 'node:v8';

/**
 * Full garbage collections that keep a long-running local process near what is live. V8 lets the old generation
 * grow by at least 8 MiB of garbage before its next full GC, and a process that allocates slowly (a standby service,
 * a broker, the routing-control server, the generator's steady trickle) takes most of an hour to fill that: anonymous
 * memory that reads as growth in an hour-long game day, 0.05–0.3 MiB a minute per process across ~30 processes.
 * So the collector looks every interval and collects in full when
 * - the process did no work for a whole interval (it has time to spare) and its old generation grew at all, or
 * - its old generation grew `growthBytes` since the last full GC (ours, or V8's own, seen as the old generation
 *   shrinking).
 * A full GC of these 20–40 MiB heaps takes a few milliseconds; at most one per interval. Over an hour's soak it took
 * the generator from 0.30 to 0.17 MiB a minute and the supervisor from 0.06 to 0.03; what the services still add is
 * pages V8 holds (code space, fragmented old space), not garbage.
 * Needs `--expose-gc` (the local platform starts its processes with it); without it this does nothing.
 */
export interface HeapCollectorOptions {
  /** How often to look, ms. Default 10 s. */
  readonly intervalMs?: number;
  /** Old-generation growth since the last full GC that triggers one, bytes. Default 2 MiB. */
  readonly growthBytes?: number;
  /** A number that moves whenever the process does work (e.g. records in); without it, only growth triggers. */
  readonly workDone?: () => number;
  /** Bytes used by the old generation (objects that survived young collections); default V8's own figures. */
  readonly oldGenerationBytes?: () => number;
  /** The collector; default the `gc` that `--expose-gc` provides. */
  readonly collect?: () => void;
  /** Called after each collection with its reason (a counter in the process's metrics). */
  readonly onCollected?: (reason: 'idle' | 'growth') => void;
}

/** Per V8 heap space (`old_space`, `code_space`, …): bytes in use and bytes the space holds (its pages). */
export type HeapSpaces = Record<string, { readonly used: number; readonly size: number }>;

export function heapSpaces(): HeapSpaces {
  return Object.fromEntries(
    getHeapSpaceStatistics().map((space) => [
      space.space_name,
      { used: space.space_used_size, size: space.space_size },
    ]),
  );
}

/** Bytes in V8's old-generation spaces: they shrink only when a full GC frees them. */
export function oldGenerationBytes(): number {
  const spaces = heapSpaces();
  return (spaces.old_space?.used ?? 0) + (spaces.large_object_space?.used ?? 0);
}

export function startHeapCollector({
  intervalMs = 10_000,
  growthBytes = 2 * 1024 * 1024,
  workDone,
  oldGenerationBytes: oldBytes = oldGenerationBytes,
  collect,
  onCollected,
}: HeapCollectorOptions = {}): () => void {
  const gc = collect ?? (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') return () => undefined;
  let seenWork = workDone?.();
  let sinceFullGc = oldBytes();
  const collectFor = (reason: 'idle' | 'growth') => {
    gc();
    sinceFullGc = oldBytes();
    onCollected?.(reason);
  };
  const timer = setInterval(() => {
    const used = oldBytes();
    sinceFullGc = Math.min(sinceFullGc, used); // V8 collected in full on its own meanwhile
    const work = workDone?.();
    const idle = workDone !== undefined && work === seenWork;
    seenWork = work;
    if (idle && used > sinceFullGc) collectFor('idle');
    else if (used - sinceFullGc >= growthBytes) collectFor('growth');
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
