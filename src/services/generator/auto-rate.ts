import type { AutoRateState, FlowPoint } from '../../clients/generator-types.js';

export const AUTO_RATE = {
  periodMs: 5_000,
  minRate: 1,
  maxRate: 500,
  /** In flight at least this many pairs, or `flowSeconds` of what completes, so no stage waits for work. */
  minInFlight: 60,
  flowSeconds: 6,
  /** Periods over which the least mean latency is the pipeline's own (2 minutes). */
  latencyPeriods: 24,
  /** The gap to the target backlog is closed over this many periods. */
  gainPeriods: 2,
  /** What completes is measured over this many periods (30 s): confirmations come back in lumps on a busy machine. */
  windowPeriods: 6,
  /** While far from saturated, the next rate is at least this many times what completes. */
  climb: 1.25,
  settledPeriods: 6,
  /** Settled only while what was confirmed (over the window) stays within this share of its mean. */
  settledSpread: 0.2,
  /** Settled only while every rate offered stays within this share of what was confirmed. */
  confirmedSpread: 0.25,
} as const;

/**
 * `tsr generator start --rate auto`: the pipeline bench's feedback loop made a feature. Every period the offered
 * rate becomes what was confirmed plus the gap to a small target backlog, so every stage stays busy and nothing
 * piles up in front of the slowest (an open flood makes the inbound gateway race ahead of the stages behind it).
 * It keeps adjusting after it settles: it holds what the platform sustains now, not a figure from the past.
 */
export class AutoRate {
  private last?: FlowPoint;
  /** The points decisions were taken at, newest last (`windowPeriods` + 1 at most). */
  private readonly window: FlowPoint[] = [];
  private readonly rates: number[] = [];
  private readonly latencies: number[] = [];
  /** Pairs per second confirmed over the window, at the same decisions. */
  private readonly completed: number[] = [];
  private current: AutoRateState;

  constructor(initialRate: number, now = Date.now()) {
    this.current = {
      state: 'searching',
      rate: clamp(Math.round(initialRate)),
      startedAt: new Date(now).toISOString(),
    };
  }

  state(): AutoRateState {
    return this.current;
  }

  /** Feeds a flow point; returns the new rate once a period has passed since the last decision, else undefined. */
  observe(point: FlowPoint): number | undefined {
    if (!this.last) {
      this.last = point;
      this.window.push(point);
      return undefined;
    }
    if (point.at - this.last.at < AUTO_RATE.periodMs) return undefined;
    const seconds = (point.at - this.last.at) / 1000;
    const measured = Math.max(0, ((point.confirmedRaw - this.last.confirmedRaw) * point.scale) / seconds);
    // What completes, over the last half minute: on a busy machine confirmations come back in lumps, and a loop that
    // chases each 5 s lump swings between two rates far apart (33 and 55 pairs/s, measured) instead of settling.
    this.window.push(point);
    if (this.window.length > AUTO_RATE.windowPeriods + 1) this.window.shift();
    const oldest = this.window[0];
    const completing = Math.max(
      0,
      ((point.confirmedRaw - oldest.confirmedRaw) * point.scale) / ((point.at - oldest.at) / 1000),
    );
    // The pipeline's own latency (least per-period mean over the last minutes) is in flight whatever the rate: the
    // target adds `flowSeconds` of queue on top, so the loop pushes to capacity on a slow machine too.
    const confirmedNow = point.latencyCount - this.last.latencyCount;
    if (confirmedNow > 0) this.latencies.push((point.latencySumMs - this.last.latencySumMs) / confirmedNow);
    if (this.latencies.length > AUTO_RATE.latencyPeriods) this.latencies.shift();
    const baseSeconds = this.latencies.length ? Math.min(...this.latencies) / 1000 : 0;
    const target = Math.max(AUTO_RATE.minInFlight, completing * (baseSeconds + AUTO_RATE.flowSeconds));
    // The backlog too, over the same window: right before a lump of confirmations it is far above what it is after.
    const backlog = this.window.slice(1).reduce((sum, p) => sum + p.backlog, 0) / (this.window.length - 1);
    const closing = completing + (target - backlog) / (AUTO_RATE.gainPeriods * seconds);
    // While the platform keeps up with ease (the backlog well under its target), climb by a share of what completes
    // instead of by the backlog's gap alone: from 10 pairs/s to a capacity of 40 in about half a minute, not three.
    const climbing = backlog < target / 2 ? Math.max(closing, completing * AUTO_RATE.climb) : closing;
    const rate = clamp(Math.round(climbing));
    this.last = point;
    this.rates.push(rate);
    this.completed.push(completing);
    if (this.rates.length > AUTO_RATE.settledPeriods) {
      this.rates.shift();
      this.completed.shift();
    }
    const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const sustained = average(this.completed);
    // Settled: what the platform confirms (over the window) stayed put, about that much was offered meanwhile, and the
    // backlog is near its target — every stage kept busy (not a ramp the platform simply keeps up with), and not a
    // rate pinned at the floor while a slow platform has not answered yet.
    const settled =
      this.completed.length === AUTO_RATE.settledPeriods &&
      sustained > 0 &&
      this.rates.every((r) => Math.abs(r - sustained) <= Math.max(1, sustained * AUTO_RATE.confirmedSpread)) &&
      this.completed.every((c) => Math.abs(c - sustained) <= Math.max(1, sustained * AUTO_RATE.settledSpread)) &&
      backlog >= target / 2 &&
      backlog <= 2 * target;
    const holding = settled || this.current.state === 'holding';
    this.current = {
      ...this.current,
      state: holding ? 'holding' : 'searching',
      rate,
      ...(settled ? { found: Math.round(sustained * 10) / 10 } : {}),
      ...(holding && !this.current.settledAt ? { settledAt: new Date(point.at).toISOString() } : {}),
      confirmedPerSecond: Math.round(measured * 10) / 10,
      backlog: point.backlog,
    };
    return rate;
  }
}

function clamp(rate: number): number {
  return Math.min(AUTO_RATE.maxRate, Math.max(AUTO_RATE.minRate, rate));
}
