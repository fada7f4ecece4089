import type { AppName } from '../config/apps.js';
import type { StatusDiff } from './compare.js';

export type { StatusDiff } from './compare.js';

/** Upstream → downstream along one hop, in the window. */
export interface HopReport {
  readonly name: string;
  readonly app: AppName;
  /** Tables and the regions they were read in. */
  readonly upstream: { readonly table: string; readonly region: string; readonly count: number };
  readonly downstream: { readonly table: string; readonly region: string; readonly count: number };
  readonly matched: number;
  /** Forwarded upstream in the window and never accepted downstream. */
  readonly missing: readonly string[];
  /**
   * The part of `missing` the upstream outbound gateway still holds (accepted, durably stored, not yet delivered:
   * the downstream broker was unreachable). Delayed, not lost; a replay delivers them.
   */
  readonly held?: readonly string[];
  /** Accepted downstream in the window and never forwarded upstream (the upstream store lost its record). */
  readonly extra: readonly string[];
  readonly statusDiffers: readonly StatusDiff[];
  /** Whether statuses are comparable on this hop (see Hop.statusCompared); ids are always compared. */
  readonly statusCompared: boolean;
  /** False when the hop could not be checked (see unchecked). */
  readonly checked: boolean;
}

/** One safe store in a region against the same store in the reference region (the app's active region). */
export interface TableRegionReport {
  readonly table: string;
  readonly app: AppName;
  readonly reference: { readonly region: string; readonly count: number };
  readonly region: string;
  readonly count: number;
  readonly matched: number;
  /** In the reference region and not in this one. */
  readonly missing: readonly string[];
  /** In this region and not in the reference. */
  readonly extra: readonly string[];
  /** `left` is the reference region's status, `right` this region's. */
  readonly statusDiffers: readonly StatusDiff[];
  readonly checked: boolean;
}

export interface Unchecked {
  readonly scope: 'hop' | 'table' | 'replay' | 'region';
  readonly name: string;
  readonly reason: string;
}

export interface ReconcileTotals {
  /** Records compared (both sides of every comparison). */
  readonly compared: number;
  readonly missing: number;
  readonly extra: number;
  readonly statusDiffers: number;
}

export interface ReconcileReport {
  readonly window: { readonly from: string; readonly to: string; readonly fromMs: number; readonly toMs: number };
  /** The region read for each app (and replayed into): its dns control is ON, or as asked with --region. */
  readonly regions: Readonly<Partial<Record<AppName, string>>>;
  readonly hops: readonly HopReport[];
  readonly tables: readonly TableRegionReport[];
  readonly unchecked: readonly Unchecked[];
  readonly notes: readonly string[];
  readonly totals: ReconcileTotals;
  /** Something is missing (a hop or a region): replay can repair it. */
  readonly gaps: boolean;
  /** Everything asked for was checked. */
  readonly complete: boolean;
  readonly durationMs: number;
  readonly replay?: ReplayReport;
}

export interface ReplayAction {
  /** Hop name, or `<table> → <region>` for a copy between regions. */
  readonly name: string;
  readonly via: 'stream' | 'broker' | 'region-copy';
  /** Stream name, `<topic>@<region>`, or the table in the region that receives the copy. */
  readonly target: string;
  readonly ids: readonly string[];
  /** How many were re-injected (0 on a dry run). */
  readonly injected: number;
  readonly error?: string;
}

export interface ReplayReport {
  readonly dryRun: boolean;
  readonly actions: readonly ReplayAction[];
  readonly injected: number;
  /** The audit entry written (not on a dry run). */
  readonly audit?: { readonly table: string; readonly region: string; readonly id: string; readonly who: string };
  /** Re-checks after the replay until nothing was missing, or the timeout. */
  readonly verify?: {
    readonly ok: boolean;
    readonly attempts: number;
    readonly durationMs: number;
    readonly remainingMissing: number;
  };
  /** The last re-check (window extended to now, so replayed records and what they caused are covered). */
  readonly after?: ReconcileReport;
}
