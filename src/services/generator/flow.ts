import type { FlowFigures, FlowPoint } from '../../clients/generator-types.js';
import type { GeneratedPair } from './scenarios.js';

const RATE_WINDOW_MS = 10_000;
const HISTORY_MS = 10 * 60_000;
const HISTORY_STEP_MS = 5_000;
const EXPIRE_MS = 15 * 60_000;
const MAX_TRACKED = 200_000;

/**
 * The confirmations each pair must bring back on `tm/out/confirmations`, by the final state of each side
 * (docs/domain.md#the-generator): a SETTLED side is confirmed MATCHED, then SETTLED; a MATCHED or MISMATCHED side once;
 * an UNMATCHED side (its counterpart never sent) never.
 */
export function expectedConfirmations(pair: Pick<GeneratedPair, 'expected'>): string[] {
  return Object.entries(pair.expected.tradeStatus).flatMap(([id, status]) =>
    status === 'SETTLED' ? [`${id}#MATCHED`, `${id}#SETTLED`] : status === 'UNMATCHED' ? [] : [`${id}#${status}`],
  );
}

/**
 * Offered vs confirmed, end to end: every pair sent is tracked until each confirmation it must bring back has
 * arrived (a duplicate confirmation counts once). Unmatched pairs bring none, so counts are scaled to pairs of every
 * scenario (confirmed × sent ÷ pairs that expect a confirmation): in a steady state confirmed equals offered.
 * Memory is bounded: at most `MAX_TRACKED` pairs, none older than `EXPIRE_MS`.
 */
export class ConfirmationFlow {
  private sent = 0;
  private confirmable = 0;
  private confirmedPairs = 0;
  private expired = 0;
  private latencySumMs = 0;
  /** Waiting pairs by seq, in the order sent (a Map keeps insertion order: the first is the oldest). */
  private readonly waiting = new Map<number, { sentAt: number; remaining: number }>();
  private readonly byConfirmation = new Map<string, number>();
  private readonly points: FlowPoint[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  sentPairs(pairs: readonly Pick<GeneratedPair, 'seq' | 'expected'>[]): void {
    const at = this.now();
    for (const pair of pairs) {
      this.sent++;
      const keys = expectedConfirmations(pair);
      if (!keys.length) continue;
      this.confirmable++;
      this.waiting.set(pair.seq, { sentAt: at, remaining: keys.length });
      for (const key of keys) this.byConfirmation.set(key, pair.seq);
    }
    this.expire(at);
  }

  /** A confirmation from the platform; ones the generator did not ask for (a runbook's canary) are ignored. */
  confirmation(tradeRecordId: string | undefined, status: string): void {
    const key = `${tradeRecordId}#${status}`;
    const seq = this.byConfirmation.get(key);
    if (seq === undefined) return;
    this.byConfirmation.delete(key);
    const pair = this.waiting.get(seq);
    if (!pair) return;
    pair.remaining--;
    if (pair.remaining === 0) {
      this.waiting.delete(seq);
      this.confirmedPairs++;
      this.latencySumMs += this.now() - pair.sentAt;
    }
  }

  /** The current point; also kept in the history when `HISTORY_STEP_MS` has passed since the last kept one. */
  point(): FlowPoint {
    const at = this.now();
    this.expire(at);
    const scale = this.confirmable ? this.sent / this.confirmable : 1;
    const oldest = this.waiting.values().next().value;
    const point = {
      at,
      sent: this.sent,
      confirmed: Math.round(this.confirmedPairs * scale),
      confirmedRaw: this.confirmedPairs,
      scale,
      backlog: Math.round(this.waiting.size * scale),
      oldestAgeMs: oldest ? at - oldest.sentAt : 0,
      latencySumMs: this.latencySumMs,
      latencyCount: this.confirmedPairs,
    };
    const last = this.points[this.points.length - 1];
    if (!last || at - last.at >= HISTORY_STEP_MS) {
      this.points.push(point);
      while (this.points.length && at - this.points[0].at > HISTORY_MS) this.points.shift();
    }
    return point;
  }

  figures(): FlowFigures {
    const now = this.point();
    const from = this.points.find((p) => now.at - p.at <= RATE_WINDOW_MS) ?? now;
    const seconds = (now.at - from.at) / 1000;
    const rate = (a: number, b: number) => (seconds > 0 ? Math.round(((b - a) / seconds) * 10) / 10 : 0);
    const history = this.points[this.points.length - 1] === now ? this.points : [...this.points, now];
    return {
      offeredPerSecond: rate(from.sent, now.sent),
      confirmedPerSecond: rate(from.confirmedRaw * now.scale, now.confirmedRaw * now.scale),
      backlog: now.backlog,
      oldestAgeMs: now.oldestAgeMs,
      expired: this.expired,
      history: history.slice(),
    };
  }

  private expire(at: number): void {
    for (const [seq, pair] of this.waiting) {
      if (this.waiting.size <= MAX_TRACKED && at - pair.sentAt <= EXPIRE_MS) break;
      this.waiting.delete(seq);
      this.expired++;
    }
    // Keys of expired pairs are dropped lazily: bounded by the same cap, as each pair has at most four.
    if (this.byConfirmation.size > MAX_TRACKED * 4) {
      for (const [key, seq] of this.byConfirmation) {
        if (this.byConfirmation.size <= MAX_TRACKED * 4) break;
        if (!this.waiting.has(seq)) this.byConfirmation.delete(key);
      }
    }
  }
}
