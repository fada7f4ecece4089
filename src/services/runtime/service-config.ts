/**
 * A service's configuration from its environment (12-factor), validated with zod at start. A missing or invalid
 * variable fails the start with an error naming the variable and what it should hold; secrets (the PostgreSQL
 * password) are never part of an error, a log line or `redacted()`.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { z } from 'zod';
import { APPS, type AppName, STAGES } from '../../config/apps.js';
import { isKnownRegion } from '../../config/regions.js';
import { UserError } from '../../errors.js';

/** Stages a service can run as: the five of each app, plus the generator and reconciliation. */
export const SERVICE_STAGES = [...STAGES, 'generator', 'reconciliation'] as const;
export type ServiceStage = (typeof SERVICE_STAGES)[number];

/** Which optional groups of variables a service needs; by default derived from its stage. */
export interface ServiceRequirements {
  /** TSR_APP (default: every stage but the generator). */
  readonly app?: boolean;
  /** TSR_PG_* (default: core only). */
  readonly postgres?: boolean;
  /** TSR_BROKER_URLS for every region (default: the gateways and the generator). */
  readonly broker?: boolean;
  /** TSR_ARC_ENDPOINTS (default: every stage that obeys a routing control: gateways, core, generator). */
  readonly arc?: boolean;
}

export interface ArcEndpointConfig {
  /** Region to sign calls to this endpoint for; absent for plain `url` entries (sign for TSR_REGION). */
  readonly region?: string;
  readonly url: string;
}

export interface PostgresConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Never log this; `redacted()` leaves it out. */
  readonly password: string;
}

/** Broker login (Amazon MQ requires one; the local broker accepts any). */
export interface BrokerCredentials {
  readonly username: string;
  /** Never log this; `redacted()` leaves it out. */
  readonly password: string;
}

export interface ServiceConfig {
  readonly target: 'local' | 'aws';
  /** TSR_ENV */
  readonly environment: string;
  /** TSR_REGION: where this process runs. */
  readonly region: string;
  /** TSR_REGIONS, in order. */
  readonly regions: readonly string[];
  /** The first of TSR_REGIONS. */
  readonly primaryRegion: string;
  /** TSR_APP; undefined only for a service that needs none (the generator). */
  readonly app?: AppName;
  /** TSR_STAGE */
  readonly stage: ServiceStage;
  /** `<app short>-<stage>` or the stage alone: the logger's and metrics' service name. */
  readonly service: string;
  /** TSR_KINESIS_ENDPOINT; undefined = the AWS regional endpoint. */
  readonly kinesisEndpoint?: string;
  /** TSR_DYNAMODB_ENDPOINT; undefined = the AWS regional endpoint. */
  readonly dynamodbEndpoint?: string;
  /** TSR_BROKER_URLS by region (a region may list an active and a standby URL). */
  readonly brokerUrls: Readonly<Record<string, readonly string[]>>;
  /** TSR_BROKER_USERNAME / TSR_BROKER_PASSWORD; undefined when not set (required on AWS for broker stages). */
  readonly brokerCredentials?: BrokerCredentials;
  /** TSR_ARC_ENDPOINTS, in the given order. */
  readonly arcEndpoints: readonly ArcEndpointConfig[];
  /** TSR_PG_*; undefined when the service needs no database and none was given. */
  readonly postgres?: PostgresConfig;
  /** TSR_METRICS_PORT; undefined = no metrics server. */
  readonly metricsPort?: number;
  /** TSR_WORKER_ID: stable per process slot, e.g. `tm-core-us-east-1-0` (the owner of stream leases). */
  readonly workerId: string;
  /** TSR_PRICE_TOLERANCE as an exact decimal string, e.g. "0.01"; undefined = exact price match. */
  readonly priceTolerance?: string;
  /** TSR_LOG_LEVEL (default info). */
  readonly logLevel: string;
  /** Everything above but secrets, for logging. */
  redacted(): Record<string, unknown>;
}

/** What each variable should hold, used in every error message. */
export const SERVICE_VARIABLES = {
  TSR_TARGET: 'local or aws (default: local when TSR_KINESIS_ENDPOINT is set, otherwise aws)',
  TSR_ENV: 'the environment name, e.g. dev (a letter, then up to 15 of a-z, 0-9 and -)',
  TSR_REGION: 'the region this process runs in, e.g. us-east-1 (one of TSR_REGIONS)',
  TSR_REGIONS: 'the comma-separated regions, primary first, e.g. us-east-1,us-west-2',
  TSR_APP: `the application: ${APPS.join(' or ')}`,
  TSR_STAGE: `the stage this process runs: one of ${SERVICE_STAGES.join(', ')}`,
  TSR_KINESIS_ENDPOINT: 'the Kinesis endpoint URL, e.g. http://127.0.0.1:4567 (unset: AWS)',
  TSR_DYNAMODB_ENDPOINT: 'the DynamoDB endpoint URL, e.g. http://127.0.0.1:4568 (unset: AWS)',
  TSR_BROKER_URLS: "every region's broker as region=url pairs, e.g. us-east-1=mqtt://127.0.0.1:1883,us-west-2=…",
  TSR_BROKER_USERNAME: 'the broker user name (Amazon MQ; ECS injects it from Secrets Manager)',
  TSR_BROKER_PASSWORD: 'the broker password (Amazon MQ; ECS injects it from Secrets Manager)',
  TSR_ARC_ENDPOINTS: 'the ARC cluster endpoints as region=url pairs or plain URLs, comma-separated',
  TSR_PG_HOST: 'the PostgreSQL host, e.g. 127.0.0.1',
  TSR_PG_PORT: 'the PostgreSQL port, an integer 1-65535',
  TSR_PG_USER: 'the PostgreSQL user name',
  TSR_PG_PASSWORD: 'the PostgreSQL password (or TSR_PG_PASSWORD_FILE: a file holding it)',
  TSR_PG_PASSWORD_FILE: 'a readable file holding the PostgreSQL password',
  TSR_METRICS_PORT: 'the port of the metrics server on 127.0.0.1, an integer 0-65535 (unset: no server)',
  TSR_WORKER_ID: 'a stable id of this process slot, e.g. tm-core-us-east-1-0 (letters, digits, . _ : -)',
  TSR_PRICE_TOLERANCE: 'a non-negative decimal, e.g. 0.01 (unset: prices must match exactly)',
  TSR_LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
} as const;

type VariableName = keyof typeof SERVICE_VARIABLES;

const optionalText = z
  .string()
  .transform((v) => v.trim())
  .optional()
  .transform((v) => (v === '' ? undefined : v));

function isUrl(value: string, schemes: readonly string[]): boolean {
  try {
    return schemes.includes(new URL(value).protocol.replace(/:$/, ''));
  } catch {
    return false;
  }
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `region=url` or `url` entries; returns undefined for an entry that does not parse. */
function parsePairs(value: string): { region?: string; url: string }[] {
  return splitList(value).map((entry) => {
    const at = entry.indexOf('=');
    if (at > 0 && !entry.slice(0, at).includes('/')) {
      return { region: entry.slice(0, at).trim(), url: entry.slice(at + 1).trim() };
    }
    return { url: entry };
  });
}

const BROKER_SCHEMES = ['mqtt', 'mqtts', 'ws', 'wss', 'tcp', 'ssl', 'tls'];

const envSchema = z.object({
  TSR_TARGET: optionalText.pipe(z.enum(['local', 'aws']).optional()),
  TSR_ENV: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/),
  TSR_REGION: z.string().refine(isKnownRegion),
  TSR_REGIONS: z
    .string()
    .transform(splitList)
    .refine((list) => list.length >= 1 && list.every(isKnownRegion) && new Set(list).size === list.length),
  TSR_APP: optionalText.pipe(z.enum(APPS).optional()),
  TSR_STAGE: z.enum(SERVICE_STAGES),
  TSR_KINESIS_ENDPOINT: optionalText.pipe(
    z
      .string()
      .refine((v) => isUrl(v, ['http', 'https']))
      .optional(),
  ),
  TSR_DYNAMODB_ENDPOINT: optionalText.pipe(
    z
      .string()
      .refine((v) => isUrl(v, ['http', 'https']))
      .optional(),
  ),
  TSR_BROKER_URLS: optionalText.pipe(
    z
      .string()
      .transform(parsePairs)
      .refine((pairs) => pairs.every((p) => p.region !== undefined && isUrl(p.url, BROKER_SCHEMES)))
      .optional(),
  ),
  TSR_BROKER_USERNAME: optionalText,
  // Never trimmed: a password may end in a space.
  TSR_BROKER_PASSWORD: z.string().optional(),
  TSR_ARC_ENDPOINTS: optionalText.pipe(
    z
      .string()
      .transform(parsePairs)
      .refine((pairs) => pairs.length > 0 && pairs.every((p) => isUrl(p.url, ['http', 'https'])))
      .optional(),
  ),
  TSR_PG_HOST: optionalText,
  TSR_PG_PORT: optionalText.pipe(
    z
      .string()
      .regex(/^\d{1,5}$/)
      .transform(Number)
      .refine((n) => n >= 1 && n <= 65535)
      .optional(),
  ),
  TSR_PG_USER: optionalText,
  // Never trimmed: a password may end in a space.
  TSR_PG_PASSWORD: z.string().optional(),
  TSR_PG_PASSWORD_FILE: optionalText,
  TSR_METRICS_PORT: optionalText.pipe(
    z
      .string()
      .regex(/^\d{1,5}$/)
      .transform(Number)
      .refine((n) => n <= 65535)
      .optional(),
  ),
  TSR_WORKER_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/),
  TSR_PRICE_TOLERANCE: optionalText.pipe(
    z
      .string()
      .regex(/^\d+(\.\d+)?$/)
      .optional(),
  ),
  TSR_LOG_LEVEL: optionalText.pipe(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
});

function defaultRequirements(stage: ServiceStage): Required<ServiceRequirements> {
  return {
    app: stage !== 'generator',
    postgres: stage === 'core',
    broker: stage === 'inbound-gateway' || stage === 'outbound-gateway' || stage === 'generator',
    arc: stage === 'inbound-gateway' || stage === 'outbound-gateway' || stage === 'core' || stage === 'generator',
  };
}

class Problems {
  readonly lines: string[] = [];
  add(variable: VariableName, problem: string): void {
    this.lines.push(`${variable}: ${problem}; it should hold ${SERVICE_VARIABLES[variable]}`);
  }
}

/**
 * Reads and validates the service configuration. Throws a UserError listing every missing or invalid variable with
 * what it should hold (never the value of a secret).
 */
export function loadServiceConfig(
  env: NodeJS.ProcessEnv = process.env,
  requirements: ServiceRequirements = {},
): ServiceConfig {
  const problems = new Problems();
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const seen = new Set<string>();
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0]) as VariableName;
      if (seen.has(variable)) continue;
      seen.add(variable);
      const raw = env[variable];
      const missing = raw === undefined || raw.trim() === '';
      const secret = variable === 'TSR_PG_PASSWORD' || variable === 'TSR_BROKER_PASSWORD';
      const shown = secret ? '' : ` (got "${String(raw).slice(0, 80)}")`;
      problems.add(variable, missing ? 'missing' : `invalid${shown}`);
    }
    throw configError(problems);
  }
  const v = parsed.data;
  const needs = { ...defaultRequirements(v.TSR_STAGE), ...requirements };

  if (!v.TSR_REGIONS.includes(v.TSR_REGION)) {
    problems.add('TSR_REGION', `"${v.TSR_REGION}" is not one of TSR_REGIONS (${v.TSR_REGIONS.join(', ')})`);
  }
  if (needs.app && !v.TSR_APP) problems.add('TSR_APP', `missing (stage ${v.TSR_STAGE} belongs to an app)`);

  const brokerUrls: Record<string, string[]> = {};
  for (const pair of v.TSR_BROKER_URLS ?? []) {
    const region = pair.region as string;
    if (!v.TSR_REGIONS.includes(region)) {
      problems.add('TSR_BROKER_URLS', `names region "${region}", which is not one of TSR_REGIONS`);
      continue;
    }
    (brokerUrls[region] ??= []).push(pair.url);
  }
  if (needs.broker) {
    const absent = v.TSR_REGIONS.filter((r) => !brokerUrls[r]);
    if (!v.TSR_BROKER_URLS) problems.add('TSR_BROKER_URLS', `missing (stage ${v.TSR_STAGE} talks to the brokers)`);
    else if (absent.length) problems.add('TSR_BROKER_URLS', `has no broker for ${absent.join(', ')}`);
  }

  const target = v.TSR_TARGET ?? (v.TSR_KINESIS_ENDPOINT ? 'local' : 'aws');
  let brokerCredentials: BrokerCredentials | undefined;
  if (v.TSR_BROKER_USERNAME !== undefined && v.TSR_BROKER_PASSWORD !== undefined) {
    brokerCredentials = { username: v.TSR_BROKER_USERNAME, password: v.TSR_BROKER_PASSWORD };
  } else if (v.TSR_BROKER_USERNAME !== undefined || v.TSR_BROKER_PASSWORD !== undefined) {
    const missing = v.TSR_BROKER_USERNAME === undefined ? 'TSR_BROKER_USERNAME' : 'TSR_BROKER_PASSWORD';
    problems.add(missing, 'missing (the other half of the broker login is set)');
  } else if (needs.broker && target === 'aws') {
    problems.add('TSR_BROKER_USERNAME', `missing (stage ${v.TSR_STAGE} logs in to Amazon MQ)`);
    problems.add('TSR_BROKER_PASSWORD', `missing (stage ${v.TSR_STAGE} logs in to Amazon MQ)`);
  }

  const arcEndpoints = v.TSR_ARC_ENDPOINTS ?? [];
  for (const endpoint of arcEndpoints) {
    if (endpoint.region !== undefined && !isKnownRegion(endpoint.region)) {
      problems.add('TSR_ARC_ENDPOINTS', `names unknown region "${endpoint.region}"`);
    }
  }
  if (needs.arc && arcEndpoints.length === 0) {
    problems.add('TSR_ARC_ENDPOINTS', `missing (stage ${v.TSR_STAGE} obeys a routing control)`);
  }

  let postgres: PostgresConfig | undefined;
  const pgGiven = [v.TSR_PG_HOST, v.TSR_PG_PORT, v.TSR_PG_USER, v.TSR_PG_PASSWORD, v.TSR_PG_PASSWORD_FILE].some(
    (x) => x !== undefined,
  );
  if (needs.postgres || pgGiven) {
    const why = needs.postgres ? `stage ${v.TSR_STAGE} uses PostgreSQL` : 'other TSR_PG_* variables are set';
    if (!v.TSR_PG_HOST) problems.add('TSR_PG_HOST', `missing (${why})`);
    if (v.TSR_PG_PORT === undefined) problems.add('TSR_PG_PORT', `missing (${why})`);
    if (!v.TSR_PG_USER) problems.add('TSR_PG_USER', `missing (${why})`);
    let password = v.TSR_PG_PASSWORD;
    if (password !== undefined && v.TSR_PG_PASSWORD_FILE) {
      problems.add('TSR_PG_PASSWORD_FILE', 'set together with TSR_PG_PASSWORD; set only one of them');
    } else if (password === undefined && v.TSR_PG_PASSWORD_FILE) {
      try {
        password = readFileSync(v.TSR_PG_PASSWORD_FILE, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
        problems.add('TSR_PG_PASSWORD_FILE', `cannot read ${v.TSR_PG_PASSWORD_FILE} (${code})`);
      }
    } else if (password === undefined) {
      problems.add('TSR_PG_PASSWORD', `missing, and TSR_PG_PASSWORD_FILE is not set either (${why})`);
    }
    if (v.TSR_PG_HOST && v.TSR_PG_PORT !== undefined && v.TSR_PG_USER && password !== undefined) {
      postgres = { host: v.TSR_PG_HOST, port: v.TSR_PG_PORT, user: v.TSR_PG_USER, password };
    }
  }
  if (problems.lines.length) throw configError(problems);

  const stage = v.TSR_STAGE;
  const app = v.TSR_APP;
  const service = app ? `${app === 'trade' ? 'tm' : 'st'}-${stage}` : stage;
  const base = {
    target,
    environment: v.TSR_ENV,
    region: v.TSR_REGION,
    regions: v.TSR_REGIONS,
    primaryRegion: v.TSR_REGIONS[0],
    app,
    stage,
    service,
    kinesisEndpoint: v.TSR_KINESIS_ENDPOINT,
    dynamodbEndpoint: v.TSR_DYNAMODB_ENDPOINT,
    brokerUrls,
    arcEndpoints,
    metricsPort: v.TSR_METRICS_PORT,
    workerId: v.TSR_WORKER_ID,
    priceTolerance: v.TSR_PRICE_TOLERANCE,
    logLevel: v.TSR_LOG_LEVEL,
  };
  const config: ServiceConfig = {
    ...base,
    postgres,
    brokerCredentials,
    redacted: () => ({
      ...base,
      postgres: postgres ? { host: postgres.host, port: postgres.port, user: postgres.user } : undefined,
      brokerUser: brokerCredentials?.username,
    }),
  };
  // Keep the password out of JSON.stringify (and so pino) and util.inspect of the config by accident; a spread
  // (`{ ...config.postgres, database }` for the pg client) still carries it.
  if (brokerCredentials) {
    const visible = { username: brokerCredentials.username, password: '[redacted]' };
    Object.defineProperty(brokerCredentials, 'toJSON', { value: () => visible, enumerable: false });
    Object.defineProperty(brokerCredentials, inspect.custom, { value: () => visible, enumerable: false });
  }
  if (postgres) {
    const visible = { host: postgres.host, port: postgres.port, user: postgres.user, password: '[redacted]' };
    Object.defineProperty(postgres, 'toJSON', { value: () => visible, enumerable: false });
    Object.defineProperty(postgres, inspect.custom, { value: () => visible, enumerable: false });
  }
  return config;
}

function configError(problems: Problems): UserError {
  return new UserError(
    `invalid service configuration:\n  ${problems.lines.join('\n  ')}`,
    'set the named environment variables (the deployment sets them for every service: see `tsr services status`)',
  );
}
