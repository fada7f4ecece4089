/**
 * What the dashboard server pushes to the page: plain data, one section per view. The page imports these types
 * only (no code), so server and page agree on the shapes at compile time.
 */

import type { FlowHealth } from '../platform/flow-health.js';
import type { StageStatus } from '../platform/platform.js';

export type OnOff = 'On' | 'Off';

export interface Meta {
  readonly environment: string;
  readonly target: 'local' | 'aws';
  readonly regions: readonly string[];
  readonly primary: string;
  /** Local deployment: starting, ready, degraded, …; aws: "remote". */
  readonly deployment: string;
  readonly phase?: string;
  readonly downRegions: readonly string[];
  /** Why the platform cannot be read right now (no credentials, control process gone, …). */
  readonly error?: string;
  /** What each action needs typed to confirm it (the app, region or environment name). */
  readonly at: number;
}

export interface AppControls {
  readonly app: string;
  /** Region whose dns control is On: where senders publish. */
  readonly active?: string;
  readonly gate?: OnOff;
  readonly writer?: string;
  /** Per region: dns, queue and app control states (undefined: unreadable). */
  readonly regions: Readonly<Record<string, { dns?: OnOff; queue?: OnOff; app?: OnOff }>>;
}

/** One stage of one app in one region, as its service reports it, with its output rate. */
export interface StageFlow extends StageStatus {
  /** Records out per second over the last sample interval. */
  readonly rate?: number;
}

export interface GeneratorView {
  readonly enabled: boolean;
  readonly rate: number;
  readonly targetRegion?: string;
  readonly pairsSent: number;
  /** Trade sides sent (a pair is two sides, an unmatched one only one). */
  readonly messagesSent: number;
  readonly confirmations: Readonly<Record<string, number>>;
  readonly latency?: { readonly p50: number; readonly p99: number; readonly samples: number };
}

/**
 * Offered vs confirmed, falling behind or not and the stage that limits: the shared judgement
 * (src/platform/flow-health.ts), plus the records waiting in the services' inputs in total.
 */
export interface FlowHealthView extends FlowHealth {
  readonly backlogTotal: number;
}

export interface FlowView {
  readonly apps: readonly AppControls[];
  readonly otherControls: readonly { readonly name: string; readonly state: OnOff }[];
  readonly controlsError?: string;
  readonly stages: readonly StageFlow[];
  /** Per app, business records per status in the writer's core database. */
  readonly business: Readonly<Record<string, Readonly<Record<string, number>> | { readonly error: string }>>;
  readonly businessAt?: number;
  readonly generator?: GeneratorView | { readonly error: string };
  /** Absent until the first look at the flow. */
  readonly health?: FlowHealthView;
}

export interface HealthView {
  readonly components: readonly {
    readonly name: string;
    readonly region?: string;
    readonly up: boolean;
    readonly detail?: string;
    readonly restarts?: number;
  }[];
  readonly replication: readonly {
    readonly kind: string;
    readonly resource: string;
    readonly from: string;
    readonly to: string;
    readonly lagMs?: number;
    readonly verdict: 'HEALTHY' | 'DELAYED' | 'UNHEALTHY' | 'UNKNOWN';
    readonly detail?: string;
  }[];
  readonly thresholds: { readonly delayedMs: number };
  readonly arcEndpoints: readonly { readonly url: string; readonly up: boolean }[];
}

export interface StepView {
  readonly id: string;
  readonly title: string;
  readonly status: string;
  readonly durationMs?: number;
  readonly startedAt?: string;
  readonly detail?: string;
  readonly error?: string;
  readonly refused?: boolean;
}

export interface RunView {
  readonly runId: string;
  readonly shortId: string;
  readonly runbook: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly status: string;
  readonly message?: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly steps: readonly StepView[];
  readonly finally: readonly StepView[];
  readonly markers: readonly { readonly name: string; readonly at: string }[];
  /** Figures of a finished run (from its report). */
  readonly rtoMs?: number;
  readonly unavailabilityMs?: number;
  readonly rpoAfterReplay?: number;
  /** Link to the run's report (markdown), served by the dashboard. */
  readonly report?: string;
}

export interface GameDayView {
  readonly id: string;
  readonly html?: string;
  readonly json?: string;
  readonly at?: string;
}

export interface DrillsView {
  readonly running: readonly RunView[];
  readonly recent: readonly RunView[];
  readonly gamedays: readonly GameDayView[];
  /** The game day action is wired (false until the game day library is connected). */
  readonly gamedayAvailable: boolean;
  /** Scenarios a game day can run, by name: the workspace's own, ./runbooks/gamedays, the built-ins. */
  readonly scenarios: readonly string[];
  /** Fault kinds this target can inject, with what each needs. */
  readonly faultKinds: readonly { readonly kind: string; readonly needs: readonly string[]; readonly does: string }[];
  /** Faults injected and not yet undone (by the page, a game day, or a crashed one). */
  readonly activeFaults: readonly {
    readonly id: string;
    readonly runId: string;
    readonly summary: string;
    readonly injectedAt: string;
  }[];
}

export interface ReconcileView {
  /** The last reconcile saved in the workspace, whoever ran it. */
  readonly last?: {
    readonly at: string;
    /** What ran it: "tsr reconcile", "dashboard", "runbook run …", "game day …". */
    readonly by: string;
    readonly window: string;
    readonly replayed: boolean;
    readonly hops: readonly {
      readonly name: string;
      readonly upstream: number;
      readonly downstream: number;
      readonly missing: number;
      readonly held: number;
      readonly extra: number;
      readonly checked: boolean;
    }[];
    readonly totals: { readonly compared: number; readonly missing: number; readonly extra: number };
    readonly notes: readonly string[];
  };
}

export type ActionStatus = 'running' | 'succeeded' | 'failed' | 'refused';

/** An action started from the page: live progress, then how it ended (a refusal names the rule). */
export interface ActionView {
  readonly id: string;
  readonly name: string;
  readonly label: string;
  readonly status: ActionStatus;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly progress: readonly string[];
  readonly error?: { readonly message: string; readonly fix?: string; readonly exitCode?: number };
  /** A run the action started (rotate, failover): its live steps are in the Drills view. */
  readonly runId?: string;
}

/** One point per second of the last 15 minutes, for the charts. */
export interface Sample {
  readonly t: number;
  readonly offered: number | null;
  readonly confirmed: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly lagMs: number | null;
  readonly backlog: number | null;
}

export interface ChartMarker {
  readonly t: number;
  readonly label: string;
  readonly kind: 'fault' | 'step' | 'action';
}

export interface DashboardSections {
  readonly meta: Meta;
  readonly flow: FlowView;
  readonly health: HealthView;
  readonly drills: DrillsView;
  readonly reconcile: ReconcileView;
  readonly actions: readonly ActionView[];
  readonly markers: readonly ChartMarker[];
}

export type SectionName = keyof DashboardSections;

/** Every action the page can start, with what its body carries. */
export interface ActionRequests {
  'generator.start': { rate?: number };
  'generator.stop': Record<string, never>;
  'generator.rate': { rate: number };
  /** waitReplication: like `tsr rotate --wait-replication` (the page asks for 2m). */
  rotate: { app: string; to: string; confirm: string; waitReplication?: string };
  failover: { app: string; to: string; confirm: string };
  'region.down': { region: string; confirm: string };
  'region.up': { region: string; confirm: string };
  'routing.set': { control: string; state: OnOff; confirm: string };
  reconcile: { since: string };
  replay: { since: string; confirm: string };
  gameday: { scenario?: string; confirm: string };
  /** A fault of the game-day library, held until undone; what it needs besides its kind (FAULT_SHAPES). */
  'fault.inject': {
    kind: string;
    app?: string;
    stage?: string;
    region?: string;
    delayMs?: number;
    endpoints?: 'all-but-one' | 'all';
    confirm: string;
  };
  'fault.undo': { id: string; runId: string };
}

export type ActionName = keyof ActionRequests;
