/**
 * The generator's plain shapes, shared by the generator process (src/services/generator) and the CLI side that reads
 * its status (src/platform/generator-control.ts).
 */

/** One look at the generator's flow: what it sent, what came back confirmed, and what is still waiting. */
export interface FlowPoint {
  /** Epoch ms. */
  readonly at: number;
  /** Pairs sent (broker acknowledged) so far. */
  readonly sent: number;
  /** Pairs confirmed so far, in pairs of every scenario (see src/services/generator/flow.ts). */
  readonly confirmed: number;
  /** Pairs that expect a confirmation, confirmed so far (unscaled: differences of it are never negative). */
  readonly confirmedRaw: number;
  /** Pairs of every scenario per pair that expects a confirmation (sent ÷ confirmable): scales `confirmedRaw`. */
  readonly scale: number;
  /** Pairs still waiting for a confirmation, in the same unit. */
  readonly backlog: number;
  /** Age of the oldest pair still waiting for one, ms (0 when none waits). */
  readonly oldestAgeMs: number;
  /** Sent → last confirmation, summed over the pairs confirmed so far (ms), and their count: per-period means. */
  readonly latencySumMs: number;
  readonly latencyCount: number;
}

export interface FlowFigures {
  /** Pairs per second the broker took, over the last 10 s. */
  readonly offeredPerSecond: number;
  /** Pairs per second confirmed back, over the same window. */
  readonly confirmedPerSecond: number;
  /** Pairs waiting for a confirmation. */
  readonly backlog: number;
  readonly oldestAgeMs: number;
  /** Pairs given up on: unconfirmed after 15 minutes, or beyond 200,000 tracked (a lost confirmation, say). */
  readonly expired: number;
  /** A point every 5 s over the last 10 minutes: how the backlog moved (oldest first). */
  readonly history: readonly FlowPoint[];
}

export interface AutoRateState {
  /** `searching` until the rate has stayed within ±20% of its mean for 30 s. */
  readonly state: 'searching' | 'holding';
  /** The rate set now, pairs per second. */
  readonly rate: number;
  /** The sustainable rate found: the mean of the last settled periods (while holding). */
  readonly found?: number;
  /** When it first settled (ISO 8601). */
  readonly settledAt?: string;
  readonly startedAt: string;
  /** Pairs confirmed per second over the last period, and pairs in flight, as the controller saw them. */
  readonly confirmedPerSecond?: number;
  readonly backlog?: number;
}
