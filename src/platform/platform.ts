import type { AppName } from '../config/apps.js';
import type { ResourceNames, Target, TsrConfig } from '../config/model.js';

// The plain shapes both sides share (services and local engines too) live in the client library.
export type {
  RegionEndpoints,
  ReplicationLag,
  RoutingControls,
  RoutingControlState,
  RoutingControlUpdate,
  RoutingState,
} from '../clients/types.js';
import type { RegionEndpoints, ReplicationLag, RoutingControls, RoutingControlState } from '../clients/types.js';
import type { GeneratorDriver } from './generator-types.js';
import type { LedgerSource } from './ledger-source.js';

export interface ComponentHealth {
  readonly name: string;
  readonly region?: string;
  readonly up: boolean;
  readonly endpoint?: string;
  readonly pid?: number;
  readonly detail?: string;
}

/** One stage of one app in one region, as its service reports it. */
export interface StageStatus {
  readonly app: AppName;
  readonly region: string;
  readonly stage: string;
  readonly up: boolean;
  readonly in?: number;
  readonly out?: number;
  readonly rejected?: number;
  /** Records waiting for this stage: broker session backlog (gateways) or records behind in its stream. */
  readonly backlog?: number;
  /** Stream-fed stages: how long the last record read had waited in its stream (ms), as the stage reports it. */
  readonly lagMs?: number;
  readonly restarts?: number;
}

export interface PlatformStatus {
  readonly target: Target;
  readonly environment: string;
  readonly regions: readonly string[];
  readonly primary: string;
  readonly components: readonly ComponentHealth[];
  readonly routingControls: readonly RoutingControlState[] | { readonly error: string };
  readonly replication: readonly ReplicationLag[];
  /** Region holding the database writer, per app. */
  readonly writers: Readonly<Partial<Record<AppName, string>>>;
  /** Per app, region and stage counters (where the target can tell). */
  readonly stages?: readonly StageStatus[];
  /** What the local workspace holds on disk and what is left free (local target only). */
  readonly disk?: DiskStatus;
  /** Local target: the dashboard's URL, with its token (`tsr dashboard` prints it too). */
  readonly dashboard?: string;
}

/** The workspace's disk use by part (engine per region, logs...) and the free space left on its filesystem. */
export interface DiskStatus {
  readonly workspace: string;
  readonly usedBytes: number;
  readonly freeBytes: number;
  readonly totalBytes: number;
  readonly parts: readonly { readonly part: string; readonly region?: string; readonly bytes: number }[];
  /** Free space is below lowBytes: long runs (about 1 GB an hour at 10 pairs/s) may fill it. */
  readonly low: boolean;
  readonly lowBytes: number;
  readonly warning?: string;
}

/**
 * What commands and runbooks need from a target. The local and AWS implementations answer the same questions
 * with the same shapes, so runbooks and reconciliation run unchanged on either.
 */
export interface Platform {
  readonly target: Target;
  readonly config: TsrConfig;
  readonly names: ResourceNames;
  /**
   * False where tsr cannot reach the brokers (AWS: private to the VPC): drills then accept a message at the inbound
   * gateway's safe store and stream, as the gateway would (reconcile/inbound-inject.ts). Default: reachable.
   */
  readonly brokersReachable?: boolean;
  endpoints(region: string): RegionEndpoints;
  routingControls(): RoutingControls;
  status(): Promise<PlatformStatus>;
  replicationLag(): Promise<ReplicationLag[]>;
  /** The load generator (trade pairs), where the target runs one. */
  generator?(): GeneratorDriver;
  /**
   * Where the generator's ledger and confirmation log are read (local: workspace files; AWS: a global table, read
   * in `region`, e.g. the region that survived, default the primary).
   */
  ledger?(region?: string): LedgerSource;
  /** Releases clients and sockets so a command can exit. */
  close(): Promise<void>;
}
