import type { AppName } from '../config/apps.js';
import type { ResourceNames, Target, TsrConfig } from '../config/model.js';

/** How a client reaches one region's data plane. Local: 127.0.0.1 ports; AWS: regional service endpoints. */
export interface RegionEndpoints {
  readonly region: string;
  /** Kinesis endpoint URL, or undefined for the AWS default. */
  readonly kinesis?: string;
  /** DynamoDB endpoint URL, or undefined for the AWS default. */
  readonly dynamodb?: string;
  /** MQTT broker URL (mqtt:// locally, mqtts:// on Amazon MQ). */
  readonly broker: string;
  /** Local target only: the broker's admin API (health, per-session backlog). */
  readonly brokerAdmin?: string;
  /** PostgreSQL host and port of this region's cluster (credentials are never part of endpoints). */
  readonly postgres: { readonly host: string; readonly port: number; readonly user: string };
}

export type RoutingState = 'On' | 'Off';

export interface RoutingControlState {
  readonly name: string;
  readonly arn: string;
  readonly state: RoutingState;
}

export interface RoutingControlUpdate {
  /** Routing control name (e.g. trade-dns-us-east-1) or ARN. */
  readonly control: string;
  readonly state: RoutingState;
}

/** Routing controls through the ARC cluster data plane, trying every cluster endpoint. */
export interface RoutingControls {
  list(): Promise<RoutingControlState[]>;
  get(control: string): Promise<RoutingControlState>;
  /** Applies all updates atomically; throws SafetyRuleViolation (a UserError) when a safety rule refuses it. */
  set(updates: readonly RoutingControlUpdate[], overrideRules?: readonly string[]): Promise<void>;
}

export interface ReplicationLag {
  readonly kind: 'table' | 'database';
  /** Table name or database name. */
  readonly resource: string;
  readonly from: string;
  readonly to: string;
  /** Age of the oldest change not yet applied at `to` (0 when caught up); undefined when it cannot be measured. */
  readonly lagMs?: number;
  /** Changes waiting to be applied, where the engine can tell. */
  readonly pending?: number;
  readonly healthy: boolean;
  readonly detail?: string;
}

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
}

/**
 * What commands and runbooks need from a target. The local and AWS implementations answer the same questions
 * with the same shapes, so runbooks and reconciliation run unchanged on either.
 */
export interface Platform {
  readonly target: Target;
  readonly config: TsrConfig;
  readonly names: ResourceNames;
  endpoints(region: string): RegionEndpoints;
  routingControls(): RoutingControls;
  status(): Promise<PlatformStatus>;
  replicationLag(): Promise<ReplicationLag[]>;
  /** Releases clients and sockets so a command can exit. */
  close(): Promise<void>;
}
