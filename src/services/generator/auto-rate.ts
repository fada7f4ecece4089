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
  settledPeriods: 6,
  settledSpread: 0.2,
  /** Settled only while what was confirmed stays within this share of the rate. */
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
  private readonly rates: number[] = [];
  private smoothed?: number;
  private readonly latencies: number[] = [];
  /** Pairs per second confirmed in the same periods. */
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
      return undefined;
    }
    if (point.at - this.last.at < AUTO_RATE.periodMs) return undefined;
    const seconds = (point.at - this.last.at) / 1000;
    const measured = Math.max(0, ((point.confirmedRaw - this.last.confirmedRaw) * point.scale) / seconds);
    // Smoothed, and half the gap closed per period: on a busy machine confirmations come back in lumps, and a loop
    // that chases each lump swings between the floor and twice the rate instead of settling.
    this.smoothed = this.smoothed === undefined ? measured : (this.smoothed + measured) / 2;
    const completing = this.smoothed;
    // The pipeline's own latency (least per-period mean over the last minutes) is in flight whatever the rate: the
    // target adds `flowSeconds` of queue on top, so the loop pushes to capacity on a slow machine too.
    const confirmedNow = point.latencyCount - this.last.latencyCount;
    if (confirmedNow > 0) this.latencies.push((point.latencySumMs - this.last.latencySumMs) / confirmedNow);
    if (this.latencies.length > AUTO_RATE.latencyPeriods) this.latencies.shift();
    const baseSeconds = this.latencies.length ? Math.min(...this.latencies) / 1000 : 0;
    const target = Math.max(AUTO_RATE.minInFlight, completing * (baseSeconds + AUTO_RATE.flowSeconds));
    const rate = clamp(Math.round(completing + (target - point.backlog) / (AUTO_RATE.gainPeriods * seconds)));
    this.last = point;
    this.rates.push(rate);
    this.completed.push(measured);
    if (this.rates.length > AUTO_RATE.settledPeriods) {
      this.rates.shift();
      this.completed.shift();
    }
    const average = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const mean = average(this.rates);
    // Settled: the rate stayed put, the platform confirmed about what was offered meanwhile, and the backlog is near
    // its target — not a rate pinned at the floor while a slow platform has not answered yet.
    const settled =
      this.rates.length === AUTO_RATE.settledPeriods &&
      this.rates.every((r) => Math.abs(r - mean) <= Math.max(1, mean * AUTO_RATE.settledSpread)) &&
      Math.abs(average(this.completed) - mean) <= mean * AUTO_RATE.confirmedSpread &&
      point.backlog <= 2 * target;
    const holding = settled || this.current.state === 'holding';
    this.current = {
      ...this.current,
      state: holding ? 'holding' : 'searching',
      rate,
      ...(settled ? { found: Math.round(mean * 10) / 10 } : {}),
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
