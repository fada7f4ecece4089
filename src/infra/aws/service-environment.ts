/**
 * The environment contract of a service container on ECS: the same variables a service reads locally, set by the
 * task definition (`environment`) or injected by ECS from Secrets Manager (`secrets`). Services validate them at
 * start and name any that is missing. TSR_WORKER_ID is not here: one task definition serves every task of a
 * service, so each task takes its id from the ECS task metadata at start (services/runtime/worker-id.ts).
 */
export const SERVICE_ENV = {
  target: 'TSR_TARGET',
  environment: 'TSR_ENV',
  region: 'TSR_REGION',
  regions: 'TSR_REGIONS',
  service: 'TSR_SERVICE',
  app: 'TSR_APP',
  stage: 'TSR_STAGE',
  /**
   * Every region's broker as `region=mqtts://host:8883` pairs, comma-separated, regions in config order; a region
   * appears once per broker instance, active first (Amazon MQ active/standby). See parseBrokerUrls().
   */
  brokerUrls: 'TSR_BROKER_URLS',
  /** ARC cluster endpoints as `region=url` pairs, comma-separated: sign each call for the endpoint's region. */
  arcEndpoints: 'TSR_ARC_ENDPOINTS',
  controlPanelArn: 'TSR_CONTROL_PANEL_ARN',
  pgHost: 'TSR_PG_HOST',
  pgPort: 'TSR_PG_PORT',
  pgDatabase: 'TSR_PG_DATABASE',
  /** A writable directory (the generator's ledger). */
  workspace: 'TSR_WORKSPACE',
} as const;

/** Variables ECS injects from Secrets Manager (never plain in the task definition). */
export const SERVICE_SECRET_ENV = {
  brokerUsername: 'TSR_BROKER_USERNAME',
  brokerPassword: 'TSR_BROKER_PASSWORD',
  pgUser: 'TSR_PG_USER',
  pgPassword: 'TSR_PG_PASSWORD',
} as const;

/** Parses TSR_BROKER_URLS into each region's broker URLs (active first). Entries without `region=` are skipped. */
export function parseBrokerUrls(value: string): Record<string, string[]> {
  const byRegion: Record<string, string[]> = {};
  for (const pair of value.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const region = pair.slice(0, at).trim();
    const url = pair.slice(at + 1).trim();
    if (url) (byRegion[region] ??= []).push(url);
  }
  return byRegion;
}
