/**
 * Plain shapes shared by the CLI side and the services (which ship alone in the container image): how a region is
 * reached, routing controls, replication lag, and pure reads of them. No I/O, no imports from either side.
 */

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

/** The first of `regions` whose `<app>-dns-<region>` control is On: where the app's senders publish. */
export function dnsRegion(
  controls: readonly RoutingControlState[],
  app: string,
  regions: readonly string[],
): string | undefined {
  return regions.find((r) => controls.some((c) => c.name === `${app}-dns-${r}` && c.state === 'On'));
}
