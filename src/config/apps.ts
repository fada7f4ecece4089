/** The two applications and their five stages (docs/domain.md#applications). */
export const APPS = ['trade', 'settlement'] as const;
export type AppName = (typeof APPS)[number];

export const APP_SHORT: Record<AppName, 'tm' | 'st'> = { trade: 'tm', settlement: 'st' };

export const STAGES = ['inbound-gateway', 'ingestion', 'core', 'egress', 'outbound-gateway'] as const;
export type StageName = (typeof STAGES)[number];

/** Stages that read a Kinesis stream: every stage but the first. */
export const STREAM_FED_STAGES = STAGES.slice(1) as readonly Exclude<StageName, 'inbound-gateway'>[];

export const ROUTING_SCOPES = ['dns', 'queue', 'app'] as const;
export type RoutingScope = (typeof ROUTING_SCOPES)[number];

export function isAppName(value: string): value is AppName {
  return (APPS as readonly string[]).includes(value);
}
