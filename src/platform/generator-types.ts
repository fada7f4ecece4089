/** The generator as the platform drives it: its status and settings, and what each target does to run it. */
import type { AutoRateState, FlowFigures } from '../clients/generator-types.js';

export interface GeneratorStatus {
  readonly runId: string;
  readonly rate: number;
  /** The generator routing control says generate. */
  readonly enabled: boolean;
  /** Region whose trade dns control is ON: where trades are published. */
  readonly targetRegion?: string;
  readonly degraded: boolean;
  readonly pairsSent: number;
  readonly messagesSent: number;
  readonly byScenario: Readonly<Record<string, number>>;
  readonly confirmations: Readonly<Record<string, number>>;
  readonly latencyToMatchedMs?: { readonly p50: number; readonly p99: number; readonly samples: number };
  readonly ledger: string;
  /** With `--rate auto`: the feedback loop's state, the rate it sets now and the sustainable rate it found. */
  readonly auto?: AutoRateState;
  /** Offered vs confirmed, end to end. */
  readonly flow?: FlowFigures;
}

export interface GeneratorSettings {
  /** Pairs per second, or `auto`: find and hold the rate the platform confirms. */
  readonly rate?: number | 'auto';
}

/**
 * How a target runs the generator (Platform.generator()): locally its process's own HTTP endpoint; on AWS its ECS
 * service, a settings item it polls in the ledger table, and the status it writes there.
 */
export interface GeneratorDriver {
  /** Applies settings live (no restart) and answers the status after. */
  configure(settings: GeneratorSettings): Promise<GeneratorStatus>;
  status(options?: { readonly latencySince?: number }): Promise<GeneratorStatus>;
  /** Lets it generate: its routing control ON (and on AWS its service one task). */
  enable(): Promise<void>;
  /** Stops generating: its routing control OFF (and on AWS, once the task has seen it, its service to 0 tasks). */
  disable(): Promise<void>;
  /** How long a start or stop may take to show in its status (a local process polls every second; a task starts). */
  readonly settleMs: number;
}
