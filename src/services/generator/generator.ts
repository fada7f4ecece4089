import type { Logger } from 'pino';
import { tradeRecordId } from '../../domain/ids.js';
import type { BrokerPublisher } from '../messaging/publisher.js';
import { confirmedId } from './confirmation-log.js';
import { fileLedgerSink, type LedgerSink } from './ledger-sink.js';
import {
  createScenarioGenerator,
  type GeneratedPair,
  type Scenario,
  type ScenarioGenerator,
  type ScenarioWeights,
} from './scenarios.js';
import type { AutoRateState } from '../../clients/generator-types.js';
import { AutoRate } from './auto-rate.js';
import { ConfirmationFlow } from './flow.js';

export interface GeneratorSettings {
  /** Trade pairs per second. */
  rate: number;
  weights?: Partial<ScenarioWeights>;
  allocations?: { min: number; max: number };
  settlementDifferenceShare?: number;
}

export interface GeneratorDeps {
  readonly publisher: BrokerPublisher;
  /** The generator routing control: generate only while ON. */
  readonly enabled: () => boolean;
  /** Region whose trade dns control is ON, or undefined while unknown. */
  readonly targetRegion: () => string | undefined;
  readonly degraded: () => boolean;
  readonly topic: string;
  /** Where the ledger files go (when no `ledgerSink` is given). */
  readonly ledgerDir: string;
  /** Where the ledger goes instead of files (AWS: the ledger table), given the run id. */
  readonly ledgerSink?: (runId: string) => LedgerSink;
  readonly logger: Logger;
}

/** A bounded sample of latencies for percentiles (the most recent 20,000), each with when it was measured. */
class LatencySample {
  private readonly values: { at: number; ms: number }[] = [];
  add(ms: number): void {
    this.values.push({ at: Date.now(), ms });
    if (this.values.length > 20_000) this.values.shift();
  }
  /** Percentiles of the confirmations received at or after `sinceMs` (all kept ones without it). */
  summary(sinceMs = 0): { p50: number; p99: number; samples: number } | undefined {
    const sorted = this.values
      .filter((value) => value.at >= sinceMs)
      .map((value) => value.ms)
      .sort((a, b) => a - b);
    if (!sorted.length) return undefined;
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
    return { p50: at(50), p99: at(99), samples: sorted.length };
  }
}

/**
 * The trade generator (docs/domain.md#the-generator): submits pairs at a steady rate — pairs are due by elapsed time × rate, not sent
 * in bursts and slept — to the broker of the region whose trade dns control is ON, while the generator control is
 * ON. Each pair is written to a ledger (with the final state it must reach) once the broker acknowledged it; a pair
 * the broker did not take is sent again, never skipped. Confirmations coming back are counted, with latency.
 */
export class TradeGenerator {
  readonly runId = `g${Date.now().toString(36)}`;
  readonly ledger: string;
  /** The ledger and every confirmation received (files, or the ledger table). */
  private readonly sink: LedgerSink;
  private scenarios: ScenarioGenerator;
  /** Pairs the broker has not acknowledged yet: sent again, before any new pair. */
  private readonly unacknowledged: GeneratedPair[] = [];
  private timer?: NodeJS.Timeout;
  private windowStart = Date.now();
  private sentInWindow = 0;
  private wasEnabled = false;
  private busy = false;
  pairsSent = 0;
  messagesSent = 0;
  readonly byScenario: Record<Scenario, number> = {
    matched: 0,
    mismatched: 0,
    unmatched: 0,
    'settlement-difference': 0,
  };
  readonly confirmations: Record<string, number> = {};
  private readonly latency = new LatencySample();
  private readonly flow = new ConfirmationFlow();
  /** Set by `--rate auto`: finds and holds the rate the platform confirms. */
  private auto?: AutoRate;

  constructor(
    private settings: GeneratorSettings,
    private readonly deps: GeneratorDeps,
  ) {
    this.sink =
      deps.ledgerSink?.(this.runId) ??
      fileLedgerSink(deps.ledgerDir, this.runId, (error) =>
        deps.logger.warn({ err: error.message }, 'cannot record confirmations or compress the ledger'),
      );
    this.ledger = this.sink.where;
    this.scenarios = createScenarioGenerator({
      seed: this.runId,
      runId: this.runId,
      weights: settings.weights,
      allocations: settings.allocations,
      settlementDifferenceShare: settings.settlementDifferenceShare,
    });
  }

  /**
   * Changes the rate live: a number, or `auto` (start from the current rate and follow what the platform confirms).
   * (The mix is fixed per run: a new mix would need a new run id to keep trade ids unique.)
   */
  configure(settings: { rate?: number | 'auto' }): void {
    if (settings.rate === 'auto') this.auto = new AutoRate(this.settings.rate);
    else if (settings.rate !== undefined) {
      this.auto = undefined;
      this.settings = { ...this.settings, rate: settings.rate };
    }
    this.restartWindow();
  }

  /** A new rate counts from now, so changing it never causes a burst to catch up. */
  private restartWindow(): void {
    this.windowStart = Date.now();
    this.sentInWindow = 0;
  }

  /** With `--rate auto`, one step of the feedback loop (it decides once a period). */
  private steer(): void {
    const rate = this.auto?.observe(this.flow.point());
    if (rate === undefined || rate === this.settings.rate) return;
    this.settings = { ...this.settings, rate };
    this.restartWindow();
  }

  start(tickMs = 10): void {
    this.timer = setInterval(() => void this.tick(), tickMs);
  }

  /** Stops generating and writes the confirmations still buffered. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sink.flush();
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    const enabled = this.deps.enabled();
    if (enabled !== this.wasEnabled) {
      this.wasEnabled = enabled;
      this.restartWindow();
      // The loop measures only while generating: a pause would read as "nothing confirmed".
      if (this.auto) this.auto = new AutoRate(this.settings.rate);
      this.deps.logger.info({ enabled }, 'generator routing control changed');
    }
    const region = this.deps.targetRegion();
    if (!enabled || !region) return;
    this.steer();
    const due = Math.floor(((Date.now() - this.windowStart) / 1000) * this.settings.rate) - this.sentInWindow;
    if (due <= 0) return;
    this.busy = true;
    try {
      const batch: GeneratedPair[] = [];
      for (let i = 0; i < Math.min(due, 500); i++) batch.push(this.unacknowledged.shift() ?? this.scenarios.next());
      const submittedAt = Date.now();
      const messages = batch.flatMap((pair) => pair.sides.map((side) => JSON.stringify({ ...side, submittedAt })));
      try {
        await this.deps.publisher.publish(region, this.deps.topic, messages);
      } catch (error) {
        // Sent again as they were: a side the broker did take arrives twice, which is a duplicate, not a new trade.
        this.unacknowledged.unshift(...batch);
        this.deps.logger.warn({ err: (error as Error).message, region }, 'broker did not take the pairs; retrying');
        return;
      }
      this.sink.pairs(
        batch.map((pair) => ({
          seq: pair.seq,
          line: JSON.stringify({ ...pair, submittedAt, region, ids: pair.sides.map(tradeRecordId) }),
        })),
      );
      this.flow.sentPairs(batch);
      for (const pair of batch) this.byScenario[pair.scenario]++;
      this.pairsSent += batch.length;
      this.messagesSent += messages.length;
      this.sentInWindow += batch.length;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Counts and records a confirmation from `tm/out/confirmations` (received from `region`'s broker); latency is
   * submit → first MATCHED confirmation of a side.
   */
  confirmation(
    message: { status?: string; submittedAt?: number; tradeRecordId?: string; id?: string },
    region = '',
  ): void {
    const status = message.status ?? 'UNKNOWN';
    this.confirmations[status] = (this.confirmations[status] ?? 0) + 1;
    const id = confirmedId(message);
    if (id) this.sink.confirmation({ id, status, at: Date.now(), region });
    this.flow.confirmation(message.tradeRecordId, status);
    if (status === 'MATCHED' && message.submittedAt) this.latency.add(Date.now() - message.submittedAt);
  }

  /** @param latencySinceMs latency of the confirmations received since then only (e.g. after a warm-up) */
  status(latencySinceMs?: number) {
    return {
      runId: this.runId,
      rate: this.settings.rate,
      ...(this.auto ? { auto: this.auto.state() as AutoRateState } : {}),
      // Still generating while a batch is in flight: `tsr generator stop` waits for it, so the counts it returns
      // include every pair that reaches the ledger.
      enabled: this.deps.enabled() || this.busy,
      targetRegion: this.deps.targetRegion(),
      degraded: this.deps.degraded(),
      pairsSent: this.pairsSent,
      messagesSent: this.messagesSent,
      byScenario: this.byScenario,
      confirmations: this.confirmations,
      latencyToMatchedMs: this.latency.summary(latencySinceMs),
      flow: this.flow.figures(),
      ledger: this.ledger,
    };
  }
}
