/**
 * Lag, measured and never assumed: per global table and ordered region pair, the age of the oldest change not yet
 * applied at the target. When a source does not answer, changes made since its last successful pull are unknown, so
 * the lag is at least the time since then.
 */
import type { PairState } from './link-topology.js';
import { LONG_POLL_MS } from './puller.js';

const SILENCE_GRACE_MS = 1_000;

/** One global table on one ordered region pair, as `GET /lag` reports it. */
export interface TableLag {
  readonly table: string;
  readonly from: string;
  readonly to: string;
  /** Changes not yet applied at `to`. */
  readonly pending: number;
  /** Age of the oldest change not yet applied at `to`; 0 when caught up. */
  readonly lagMs: number;
  readonly healthy: boolean;
  readonly detail?: string;
}

export interface LagInputs {
  readonly pairs: readonly PairState[];
  readonly tables: ReadonlySet<string>;
  readonly paused: boolean;
  readonly maxBuffered: number;
  readonly now: number;
}

export function measureLag({ pairs, tables, paused, maxBuffered, now }: LagInputs): TableLag[] {
  const out: TableLag[] = [];
  for (const pair of pairs) {
    const source = pair.source;
    for (const table of tables) {
      const pending = pair.queue.count(table);
      const oldest = pair.queue.oldest(table);
      let lagMs = oldest ? Math.max(0, now - oldest.change.ts) : 0;
      // A pull answers within LONG_POLL_MS; a source silent for longer is not answering, even before it times out.
      const silentMs = now - source.lastOkAt;
      const silent = !source.backpressured && silentMs > LONG_POLL_MS + SILENCE_GRACE_MS;
      const sourceError =
        source.error ?? (silent ? `source ${source.region} (${source.endpoint}) silent for ${silentMs} ms` : undefined);
      // Changes made since the last successful pull are unknown: the lag is at least that old.
      if (sourceError) lagMs = Math.max(lagMs, silentMs);
      const details = [sourceError, pair.error, source.note];
      if (paused) details.push('replication paused');
      if (source.backpressured) details.push(`more than ${maxBuffered} changes behind: pending counts buffered ones`);
      const detail = details.filter((d): d is string => Boolean(d)).join('; ');
      out.push({
        table,
        from: source.region,
        to: pair.to,
        pending,
        lagMs,
        healthy: !sourceError && !pair.error,
        ...(detail ? { detail } : {}),
      });
    }
  }
  return out;
}
