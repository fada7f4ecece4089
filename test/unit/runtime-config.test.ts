/** Service configuration from the environment, and logs that never carry secrets. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { serviceLogger } from '../../src/services/runtime/logger.js';
import { loadServiceConfig } from '../../src/services/runtime/service-config.js';

const dir = mkdtempSync(join(tmpdir(), 'tsr-runtime-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 's3cr3t-Pa55';

function coreEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = {
    TSR_ENV: 'dev',
    TSR_REGION: 'us-west-2',
    TSR_REGIONS: 'us-east-1, us-west-2',
    TSR_APP: 'trade',
    TSR_STAGE: 'core',
    TSR_KINESIS_ENDPOINT: 'http://127.0.0.1:4567',
    TSR_DYNAMODB_ENDPOINT: 'http://127.0.0.1:4568',
    TSR_ARC_ENDPOINTS: 'http://127.0.0.1:4600,http://127.0.0.1:4601',
    TSR_PG_HOST: '127.0.0.1',
    TSR_PG_PORT: '5433',
    TSR_PG_USER: 'tsr',
    TSR_PG_PASSWORD: SECRET,
    TSR_METRICS_PORT: '9464',
    TSR_WORKER_ID: 'tm-core-us-west-2-0',
    TSR_PRICE_TOLERANCE: '0.01',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
}

function errorOf(env: NodeJS.ProcessEnv): string {
  try {
    loadServiceConfig(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected loadServiceConfig to throw');
}

test('a complete core environment gives a typed configuration', () => {
  const config = loadServiceConfig(coreEnv());
  expect(config).toMatchObject({
    target: 'local',
    environment: 'dev',
    region: 'us-west-2',
    regions: ['us-east-1', 'us-west-2'],
    primaryRegion: 'us-east-1',
    app: 'trade',
    stage: 'core',
    service: 'tm-core',
    kinesisEndpoint: 'http://127.0.0.1:4567',
    dynamodbEndpoint: 'http://127.0.0.1:4568',
    arcEndpoints: [{ url: 'http://127.0.0.1:4600' }, { url: 'http://127.0.0.1:4601' }],
    postgres: { host: '127.0.0.1', port: 5433, user: 'tsr', password: SECRET },
    metricsPort: 9464,
    workerId: 'tm-core-us-west-2-0',
    priceTolerance: '0.01',
    logLevel: 'info',
  });
  // A spread for the pg client keeps the password.
  expect({ ...config.postgres, database: 'x' }.password).toBe(SECRET);
});

test('the password never shows in redacted(), JSON or inspect', () => {
  const config = loadServiceConfig(coreEnv());
  for (const text of [JSON.stringify(config.redacted()), JSON.stringify(config), inspect(config, { depth: 5 })]) {
    expect(text).not.toContain(SECRET);
  }
  expect(config.redacted()).toMatchObject({ postgres: { host: '127.0.0.1', port: 5433, user: 'tsr' } });
});

test.each([
  ['TSR_ENV', { TSR_ENV: undefined }, /TSR_ENV: missing; it should hold the environment name/],
  ['TSR_REGION', { TSR_REGION: undefined }, /TSR_REGION: missing; it should hold the region this process runs in/],
  ['TSR_REGIONS', { TSR_REGIONS: 'us-east-1,mars-1' }, /TSR_REGIONS: invalid \(got "us-east-1,mars-1"\)/],
  ['TSR_STAGE', { TSR_STAGE: 'matching' }, /TSR_STAGE: invalid .*one of inbound-gateway, ingestion, core/],
  [
    'TSR_APP',
    { TSR_APP: 'payments' },
    /TSR_APP: invalid \(got "payments"\); it should hold the application: trade or settlement/,
  ],
  ['TSR_APP', { TSR_APP: undefined }, /TSR_APP: missing \(stage core belongs to an app\)/],
  [
    'TSR_WORKER_ID',
    { TSR_WORKER_ID: undefined },
    /TSR_WORKER_ID: missing; it should hold a stable id of this process slot/,
  ],
  ['TSR_WORKER_ID', { TSR_WORKER_ID: 'has space' }, /TSR_WORKER_ID: invalid/],
  ['TSR_KINESIS_ENDPOINT', { TSR_KINESIS_ENDPOINT: 'localhost:4567' }, /TSR_KINESIS_ENDPOINT: invalid .*endpoint URL/],
  ['TSR_PG_PORT', { TSR_PG_PORT: '70000' }, /TSR_PG_PORT: invalid .*an integer 1-65535/],
  ['TSR_PG_HOST', { TSR_PG_HOST: undefined }, /TSR_PG_HOST: missing \(stage core uses PostgreSQL\)/],
  ['TSR_PG_PASSWORD', { TSR_PG_PASSWORD: undefined }, /TSR_PG_PASSWORD: missing, and TSR_PG_PASSWORD_FILE is not set/],
  ['TSR_METRICS_PORT', { TSR_METRICS_PORT: 'ninety' }, /TSR_METRICS_PORT: invalid/],
  ['TSR_PRICE_TOLERANCE', { TSR_PRICE_TOLERANCE: '-1' }, /TSR_PRICE_TOLERANCE: invalid .*non-negative decimal/],
  [
    'TSR_ARC_ENDPOINTS',
    { TSR_ARC_ENDPOINTS: undefined },
    /TSR_ARC_ENDPOINTS: missing \(stage core obeys a routing control\)/,
  ],
  ['TSR_REGION', { TSR_REGION: 'eu-west-1' }, /TSR_REGION: "eu-west-1" is not one of TSR_REGIONS/],
])('%s: a bad value is named with what it should hold (%#)', (_name, overrides, expected) => {
  expect(errorOf(coreEnv(overrides))).toMatch(expected);
});

test('every problem is listed at once, and a bad password is never echoed', () => {
  const message = errorOf(
    coreEnv({ TSR_ENV: undefined, TSR_REGION: undefined, TSR_PG_PASSWORD: SECRET, TSR_PG_PORT: 'x' }),
  );
  expect(message).toMatch(/TSR_ENV: missing/);
  expect(message).toMatch(/TSR_REGION: missing/);
  expect(message).toMatch(/TSR_PG_PORT: invalid/);
  expect(message).not.toContain(SECRET);
});

test('the password may come from a file; both set, or an unreadable file, are named', () => {
  const file = join(dir, 'pg-password');
  writeFileSync(file, `${SECRET}\n`);
  const config = loadServiceConfig(coreEnv({ TSR_PG_PASSWORD: undefined, TSR_PG_PASSWORD_FILE: file }));
  expect(config.postgres?.password).toBe(SECRET);
  expect(errorOf(coreEnv({ TSR_PG_PASSWORD_FILE: file }))).toMatch(
    /TSR_PG_PASSWORD_FILE: set together with TSR_PG_PASSWORD/,
  );
  expect(errorOf(coreEnv({ TSR_PG_PASSWORD: undefined, TSR_PG_PASSWORD_FILE: join(dir, 'nope') }))).toMatch(
    /TSR_PG_PASSWORD_FILE: cannot read .*ENOENT/,
  );
});

test('gateways and the generator need every region’s broker; the generator needs no app', () => {
  const gateway = coreEnv({
    TSR_STAGE: 'outbound-gateway',
    TSR_PG_HOST: undefined,
    TSR_PG_PORT: undefined,
    TSR_PG_USER: undefined,
    TSR_PG_PASSWORD: undefined,
  });
  expect(errorOf(gateway)).toMatch(/TSR_BROKER_URLS: missing \(stage outbound-gateway talks to the brokers\)/);
  expect(errorOf({ ...gateway, TSR_BROKER_URLS: 'us-east-1=mqtt://127.0.0.1:1883' })).toMatch(
    /TSR_BROKER_URLS: has no broker for us-west-2/,
  );
  expect(errorOf({ ...gateway, TSR_BROKER_URLS: 'mqtt://127.0.0.1:1883' })).toMatch(/TSR_BROKER_URLS: invalid/);
  const config = loadServiceConfig({
    ...gateway,
    TSR_BROKER_URLS:
      'us-east-1=mqtt://127.0.0.1:1883, us-west-2=mqtts://b-1.example:8883,us-west-2=mqtts://b-2.example:8883',
  });
  expect(config.brokerUrls).toEqual({
    'us-east-1': ['mqtt://127.0.0.1:1883'],
    'us-west-2': ['mqtts://b-1.example:8883', 'mqtts://b-2.example:8883'],
  });
  expect(config.postgres).toBeUndefined();
  expect(config.service).toBe('tm-outbound-gateway');

  const onAws = {
    ...gateway,
    TSR_APP: undefined,
    TSR_STAGE: 'generator',
    TSR_BROKER_URLS: 'us-east-1=mqtt://127.0.0.1:1883,us-west-2=mqtt://127.0.0.1:1884',
    TSR_KINESIS_ENDPOINT: undefined,
    TSR_DYNAMODB_ENDPOINT: undefined,
    TSR_ARC_ENDPOINTS: 'us-east-1=https://host-a.example/v1,us-west-2=https://host-b.example/v1',
  };
  // Amazon MQ needs a login: on AWS a broker stage without one is refused at start, naming both variables.
  expect(errorOf(onAws)).toMatch(/TSR_BROKER_USERNAME: missing \(stage generator logs in to Amazon MQ\)/);
  expect(errorOf({ ...onAws, TSR_BROKER_USERNAME: 'tsr' })).toMatch(/TSR_BROKER_PASSWORD: missing/);
  const generator = loadServiceConfig({ ...onAws, TSR_BROKER_USERNAME: 'tsr', TSR_BROKER_PASSWORD: 'hunter2x' });
  expect(generator).toMatchObject({ app: undefined, service: 'generator', target: 'aws' });
  expect(generator.brokerCredentials?.username).toBe('tsr');
  // The password stays out of logs, JSON and errors.
  expect(JSON.stringify(generator)).not.toContain('hunter2x');
  expect(JSON.stringify(generator.redacted())).not.toContain('hunter2x');
  expect(generator.arcEndpoints).toEqual([
    { region: 'us-east-1', url: 'https://host-a.example/v1' },
    { region: 'us-west-2', url: 'https://host-b.example/v1' },
  ]);
});

test('ingestion needs neither PostgreSQL, brokers nor ARC; requirements can be overridden', () => {
  const env = coreEnv({
    TSR_STAGE: 'ingestion',
    TSR_PG_HOST: undefined,
    TSR_PG_PORT: undefined,
    TSR_PG_USER: undefined,
    TSR_PG_PASSWORD: undefined,
    TSR_ARC_ENDPOINTS: undefined,
  });
  expect(loadServiceConfig(env).stage).toBe('ingestion');
  expect(() => loadServiceConfig(env, { arc: true })).toThrow(/TSR_ARC_ENDPOINTS: missing/);
});

test('log lines carry service, region and stage, and never a secret', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = loadServiceConfig(coreEnv());
  const logger = serviceLogger(config, sink);
  logger.info({ config: config.redacted() }, 'starting');
  logger.info({ config }, 'careless');
  logger.warn({ password: SECRET, db: { password: SECRET } }, 'also careless');
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(parsed[0]).toMatchObject({
    level: 'info',
    service: 'tm-core',
    app: 'trade',
    region: 'us-west-2',
    stage: 'core',
    workerId: 'tm-core-us-west-2-0',
    msg: 'starting',
  });
  expect(lines.join('')).not.toContain(SECRET);
});
