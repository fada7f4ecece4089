import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AppName, StageName } from '../config/apps.js';
import type { Target } from '../config/model.js';
import type { ReplicationLag } from './platform.js';
import { type FaultKind, TARGET_FAULTS } from './faults.js';

/** A service of one region: a stage of an app, or the generator (no stage). */
export interface ServiceRef {
  readonly app: AppName | 'generator';
  readonly stage?: StageName;
  readonly region: string;
}

export interface ServiceChange {
  readonly service: string;
  readonly region: string;
  readonly action: 'restart' | 'scale';
  readonly desiredCount?: number;
  /** Target-specific id of the change (ECS deployment id), when there is one. */
  readonly deploymentId?: string;
}

export type DatabaseTransitionMode = 'switchover' | 'failover';

export interface DatabaseTransition {
  readonly app: AppName;
  readonly mode: DatabaseTransitionMode;
  /** Region that held the writer before. */
  readonly from?: string;
  readonly to: string;
  /** True once the writer is confirmed in `to` (only when the caller asked to wait). */
  readonly completed: boolean;
  readonly durationMs: number;
}

export interface DatabaseTransitionOptions {
  /** Wait until the writer is in the target region (default true). */
  readonly wait?: boolean;
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
}

/** Messages the broker holds for an app's inbound gateway session(s). `depth` is undefined when not measurable. */
export interface QueueDepth {
  readonly app: AppName;
  readonly region: string;
  readonly queues: readonly { readonly queue: string; readonly depth?: number }[];
  /** Sum over queues; undefined when any queue could not be measured (never "no data means zero"). */
  readonly depth?: number;
  readonly measuredAt: string;
  readonly detail?: string;
}

/** How far the consumers of an app's streams are behind. `iteratorAgeMs` undefined when not measurable. */
export interface StreamBacklog {
  readonly app: AppName;
  readonly region: string;
  readonly stream: string;
  readonly stage: StageName;
  readonly iteratorAgeMs?: number;
  /** Records waiting, where the target can tell. */
  readonly pending?: number;
  /** True when `pending` is a lower bound (records are counted up to a limit per shard). */
  readonly atLeast?: boolean;
  readonly measuredAt: string;
  readonly detail?: string;
}

/**
 * What runbooks and drills need beyond `Platform`: moving database writers, controlling services, and measuring
 * drain and catch-up. Every measurement says so when it has no data instead of reporting zero.
 */
export interface DrillCapabilities {
  /** Region holding the writer of an app's core database, or undefined when none is (mid-failover). */
  databaseWriter(app: AppName): Promise<string | undefined>;
  /** Planned move of the writer (no data loss): Aurora SwitchoverGlobalCluster; local: reverse replication. */
  switchoverDatabase(app: AppName, toRegion: string, options?: DatabaseTransitionOptions): Promise<DatabaseTransition>;
  /** Forced move (the source is impaired; the last replicated state wins): Aurora FailoverGlobalCluster. */
  failoverDatabase(app: AppName, toRegion: string, options?: DatabaseTransitionOptions): Promise<DatabaseTransition>;
  restartService(service: ServiceRef): Promise<ServiceChange>;
  scaleService(service: ServiceRef, desiredCount: number): Promise<ServiceChange>;
  brokerQueueDepth(app: AppName, region: string): Promise<QueueDepth>;
  /** `limit`: records counted per shard at most, where the target counts them (more is reported `atLeast`). */
  streamBacklog(app: AppName, region: string, options?: { readonly limit?: number }): Promise<StreamBacklog[]>;
  /** Tables (DynamoDB ReplicationLatency or the local link) and databases (AuroraGlobalDBRPOLag or the WAL lag). */
  replicationLag(): Promise<ReplicationLag[]>;
  /** A DynamoDB client for the safe stores of a region. */
  safeStoreClient(region: string): DynamoDBClient;
}

/** The game-day fault kinds, named the same on every target (src/platform/faults.ts). */
export type FaultKindName = FaultKind;

/** The faults each target's platform can inject: TARGET_FAULTS of src/platform/faults.ts, the one list. */
export const SUPPORTED_FAULTS: Readonly<Record<Target, readonly FaultKindName[]>> = TARGET_FAULTS;

/** The kinds among `kinds` that `target` cannot inject (empty: all supported). */
export function unsupportedFaults(target: Target, kinds: readonly string[]): string[] {
  const supported = new Set<string>(SUPPORTED_FAULTS[target]);
  return [...new Set(kinds.filter((kind) => !supported.has(kind)))];
}
