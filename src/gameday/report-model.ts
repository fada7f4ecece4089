import type { LostWithRegionCheck } from '../verdict/model.js';
import type { LossAccounting } from './loss-accounting.js';
import type { StopEvent, TimelineSample } from './monitor.js';
import type { ObjectiveResult } from './objectives.js';
import type { RecoveryResult } from './steps.js';

/** The verdict as a game-day report keeps it (the verdict module's result, trimmed to what the report shows). */
export interface ReportVerdict {
  readonly pairs: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly passed: boolean;
  readonly divergence?: readonly unknown[];
  readonly ids?: unknown;
  readonly durationMs?: number;
  /** How the pairs the failovers counted as lost with a region ended (when the failovers listed them). */
  readonly lostWithRegion?: LostWithRegionCheck;
  readonly error?: string;
  /**
   * Why the pairs were not judged: only in reports written before the verdict read the AWS target (it now does, through
   * the RDS Data API); kept so `tsr gameday history` and `report` still read them right.
   */
  readonly notJudged?: string;
}

export interface GameDayReport {
  readonly version: 1;
  readonly runId: string;
  readonly scenario: {
    readonly name: string;
    readonly file: string;
    readonly description: string;
    readonly hypothesis: string;
  };
  readonly status: string;
  readonly message?: string;
  readonly stoppedBy?: StopEvent;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  /** Passed: the run completed, every objective passed and the verdict found nothing lost, duplicated or wrong. */
  readonly passed: boolean;
  readonly objectives: readonly ObjectiveResult[];
  readonly recoveries: readonly RecoveryResult[];
  readonly verdict?: ReportVerdict;
  /** After a regional failover: the loss its reports count against what the verdict finds at risk, in pairs. */
  readonly lossAccounting?: LossAccounting;
  readonly phases: readonly {
    readonly id: string;
    readonly title: string;
    readonly type: string;
    readonly status: string;
    readonly durationMs?: number;
    readonly detail?: string;
    readonly error?: string;
  }[];
  readonly markers: readonly { readonly name: string; readonly at: string }[];
  readonly timeline: readonly TimelineSample[];
}
