import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetRoutingControlStateCommand, Route53RecoveryClusterClient } from '@aws-sdk/client-route53-recovery-cluster';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import mqtt from 'mqtt';
import pg from 'pg';
import { deriveNames } from '../../src/config/model.js';
import { loadConfig } from '../../src/config/load.js';
import { isAlive, type LocalState } from '../../src/infra/local/state.js';
import { findWorkspaceProcesses } from '../../src/infra/local/processes.js';
import { dynamoClient, kinesisClient, LOCAL_CREDENTIALS } from '../../src/clients/aws-clients.js';
import type { PlatformStatus } from '../../src/platform/platform.js';
import { sampleFootprint } from '../../src/platform/footprint.js';
import { runJson, runTsr, tempWorkspace, type ResultOf } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import type RoutingControlGet from '../../src/commands/routing-control/get.js';
import type { LocalDeployOutput as DeployOutput } from '../../src/lib/targets.js';

/**
 * The whole local platform, deployed and destroyed through the CLI as a user would, checked with real clients
 * (AWS SDK, pg, mqtt) against the real engines.
 */
describe('local platform: deploy, status, routing controls, replication, destroy', () => {
  const workspace = tempWorkspace();
  const flags = ['--workspace', workspace];
  const config = loadConfig({ workspace }, {});
  const names = deriveNames(config);
  let state: LocalState;

  beforeAll(async () => {
    const { result, json } = await runJson<DeployOutput>(['deploy', ...flags]);
    // With what deploy said when it failed: the cause is in its stderr.
    expect({ code: result.code, stderr: result.stderr.slice(-3000) }).toMatchObject({ code: 0 });
    expect(json.outcome).toBe('started');
    state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8'));
  }, 180_000);

  afterAll(async () => {
    await runTsr(['destroy', '--purge', '--confirm', 'dev', ...flags]);
  }, 60_000);

  it('binds every engine to 127.0.0.1 and reports them all up', async () => {
    const { result, json } = await runJson<PlatformStatus & { healthy: boolean }>(['status', ...flags]);
    expect(result.code).toBe(0);
    expect(json.healthy).toBe(true);
    const kinds = json.components.map((c) => `${c.name}@${c.region ?? ''}`);
    for (const region of config.regions) {
      for (const kind of ['kinesis', 'dynamodb', 'broker', 'postgres']) expect(kinds).toContain(`${kind}@${region}`);
    }
    expect(kinds).toContain('arc@');
    for (const endpoint of Object.values(state.endpoints.regions)) {
      expect(endpoint.kinesis).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(endpoint.postgres.host).toBe('127.0.0.1');
    }
    expect(JSON.stringify(state)).not.toContain(
      readFileSync(path.join(workspace, 'secrets', 'postgres-password'), 'utf8'),
    );
  });

  it('reports routing controls with the primary ON and measured replication lag', async () => {
    const { json } = await runJson<PlatformStatus>(['status', ...flags]);
    if ('error' in json.routingControls) throw new Error(json.routingControls.error);
    const controls = Object.fromEntries(json.routingControls.map((c) => [c.name, c.state]));
    expect(controls['trade-dns-us-east-1']).toBe('On');
    expect(controls['trade-dns-us-west-2']).toBe('Off');
    expect(controls['settlement-app-us-east-1']).toBe('On');
    const tables = json.replication.filter((r) => r.kind === 'table');
    const databases = json.replication.filter((r) => r.kind === 'database');
    expect(tables.length).toBeGreaterThan(0);
    expect(databases.map((d) => d.resource).sort()).toEqual(Object.values(names.databases).sort());
    for (const lag of [...tables, ...databases]) {
      expect(lag.healthy).toBe(true);
      expect(typeof lag.lagMs).toBe('number');
    }
  });

  it("shows the workspace's disk use per region and engine, and each component's memory", async () => {
    const { json } = await runJson<PlatformStatus>(['status', ...flags]);
    const disk = json.disk;
    if (!disk) throw new Error('status --json has no disk');
    expect(disk.workspace).toBe(path.resolve(workspace));
    for (const region of config.regions) {
      for (const part of ['dynamodb', 'kinesis', 'postgres']) {
        expect(disk.parts.find((p) => p.region === region && p.part === part)?.bytes).toBeGreaterThan(0);
      }
    }
    expect(disk.usedBytes).toBeGreaterThanOrEqual(disk.parts.reduce((sum, p) => sum + p.bytes, 0));
    expect(disk.freeBytes).toBeGreaterThan(0);
    expect(typeof disk.low).toBe('boolean');
    const { stdout } = await runTsr(['status', ...flags]);
    expect(stdout).toMatch(/^Disk: workspace [\d.,]+ [MG]B \(us-east-1: dynamodb /m);

    const footprint = sampleFootprint({ target: 'local', config: { workspace } });
    const memory = (component: string) => footprint.memory.find((m) => m.component === component);
    expect(memory('dynamodb@us-east-1')?.anonymousBytes).toBeGreaterThan(0);
    // PostgreSQL counts its backends with the postmaster.
    expect(memory('postgres@us-east-1')?.processes).toBeGreaterThan(1);
    expect(memory('generator')?.pssBytes).toBeGreaterThan(0);
    expect(footprint.totals.pssBytes).toBeGreaterThan(footprint.totals.fileBytes);
  });

  it('runs its Node engines and services with a small young generation and two malloc arenas (each collecting in full itself), and PostgreSQL with a bounded WAL', async () => {
    // All three keep a long game day's memory and disk flat: dropping any fails here.
    const read = (file: string, pid?: number) => (pid ? readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0') : []);
    const pids = [
      ...['dynamodb@us-east-1', 'kinesis@us-west-2'].map((id) => state.processes.find((p) => p.id === id)?.pid),
      ...['trade/core@us-east-1', 'settlement/ingestion@us-west-2'].map(
        (id) => state.services.find((s) => s.id === id)?.pid,
      ),
    ];
    for (const pid of pids) {
      expect(read('cmdline', pid)).toEqual(
        expect.arrayContaining(['--max-semi-space-size=2', '--heap-growing-percent=25']),
      );
      expect(read('environ', pid)).toContain('MALLOC_ARENA_MAX=2');
    }
    // Every long-running Node process also collects in full itself, idle or after a little growth (without it a
    // slow allocator climbs for most of an hour): engines, services and the supervisor expose `gc`…
    for (const pid of [...pids, state.supervisor.pid]) expect(read('cmdline', pid)).toContain('--expose-gc');
    // …and use it: a standby service, only polling, collects within a few of the collector's 10 s intervals.
    const standby = state.services.find((s) => s.id === 'settlement/ingestion@us-west-2');
    const collections = await eventually(
      async () => {
        const metrics = (await (await fetch(`${standby?.metrics}/metrics`)).json()) as {
          counters: Record<string, number>;
        };
        return metrics.counters.idleCollections > 0 && metrics.counters.idleCollections;
      },
      { timeoutMs: 60_000, intervalMs: 1_000, what: 'a full collection in an idle standby service' },
    );
    expect(collections).toBeGreaterThan(0);
    const password = readFileSync(path.join(workspace, 'secrets', 'postgres-password'), 'utf8').trim();
    const client = new pg.Client({
      host: '127.0.0.1',
      port: state.endpoints.regions['us-east-1'].postgres.port,
      user: 'postgres',
      password,
      database: 'postgres',
    });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT name, setting, unit FROM pg_settings WHERE name IN ('min_wal_size', 'max_wal_size', 'wal_compression')
         ORDER BY name`,
      );
      expect(rows).toEqual([
        { name: 'max_wal_size', setting: '64', unit: 'MB' },
        { name: 'min_wal_size', setting: '32', unit: 'MB' },
        { name: 'wal_compression', setting: expect.stringMatching(/^(on|pglz)$/), unit: null },
      ]);
    } finally {
      await client.end();
    }
  });

  it('starts its services from a bundle of ASCII only, which V8 keeps one byte a character', async () => {
    const pid = state.services.find((s) => s.id === 'trade/core@us-east-1')?.pid;
    const bundle = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .find((arg) => arg.endsWith('main.bundle.mjs'));
    expect(bundle).toBeDefined();
    const source = readFileSync(bundle as string, 'utf8');
    expect(source.length).toBeGreaterThan(1_000_000);
    expect(source.match(/[\u0080-\uffff]/g) ?? []).toEqual([]);
  });

  it('creates every stream in every region', async () => {
    for (const region of config.regions) {
      const client = kinesisClient({ region, endpoint: state.endpoints.regions[region].kinesis });
      const { StreamNames } = await client.send(new ListStreamsCommand({}));
      client.destroy();
      expect(StreamNames?.sort()).toEqual(names.streams.map((s) => s.name).sort());
    }
  });

  it('replicates a DynamoDB write in the primary to the secondary', async () => {
    const [primary, secondary] = config.regions;
    const table = names.tables.find((t) => t.purpose === 'safe-store')?.name as string;
    const writer = dynamoClient({ region: primary, endpoint: state.endpoints.regions[primary].dynamodb });
    const reader = dynamoClient({ region: secondary, endpoint: state.endpoints.regions[secondary].dynamodb });
    const id = `replication-check-${Date.now()}`;
    await writer.send(
      new PutItemCommand({
        TableName: table,
        Item: { id: { S: id }, timeBucket: { S: '2026-11-26T12:00' }, acceptedAt: { N: '1' } },
      }),
    );
    const item = await eventually(
      async () => (await reader.send(new GetItemCommand({ TableName: table, Key: { id: { S: id } } }))).Item,
      { timeoutMs: 10_000, what: 'replicated item' },
    );
    expect(item.id.S).toBe(id);
    writer.destroy();
    reader.destroy();
  });

  it('replicates a row committed in the primary PostgreSQL to the secondary', async () => {
    const password = readFileSync(path.join(workspace, 'secrets', 'postgres-password'), 'utf8').trim();
    const connect = async (region: string) => {
      const client = new pg.Client({
        host: '127.0.0.1',
        port: state.endpoints.regions[region].postgres.port,
        user: 'postgres',
        password,
        database: names.databases.trade,
      });
      await client.connect();
      return client;
    };
    const [primary, secondary] = await Promise.all(config.regions.map(connect));
    try {
      // DDL is not replicated: the table exists on both sides, as migrations will make it.
      for (const client of [primary, secondary])
        await client.query('CREATE TABLE IF NOT EXISTS replication_probe (id text PRIMARY KEY)');
      await secondary.query(`ALTER SUBSCRIPTION tsr_${names.databases.trade}_to_us_west_2 REFRESH PUBLICATION`);
      const id = `row-${Date.now()}`;
      await primary.query('INSERT INTO replication_probe (id) VALUES ($1)', [id]);
      const rows = await eventually(
        async () => {
          const { rows } = await secondary.query('SELECT id FROM replication_probe WHERE id = $1', [id]);
          return rows.length ? rows : undefined;
        },
        { timeoutMs: 10_000, what: 'replicated row' },
      );
      expect(rows[0].id).toBe(id);
    } finally {
      await Promise.all([primary.end(), secondary.end()]);
    }
  });

  it('runs an MQTT broker per region', async () => {
    const client = await mqtt.connectAsync(state.endpoints.regions[config.regions[1]].broker, {
      clientId: 'probe',
      reconnectPeriod: 0,
    });
    const received = new Promise<string>((resolve) =>
      client.on('message', (_t, payload) => resolve(payload.toString())),
    );
    await client.subscribeAsync('tm/in/trades', { qos: 1 });
    await client.publishAsync('tm/in/trades', 'hello', { qos: 1 });
    expect(await received).toBe('hello');
    await client.endAsync();
  });

  it('changes routing controls through the CLI and any AWS client sees the change', async () => {
    const set = await runTsr(['routing-control', 'set', 'trade-dns-us-west-2=On', 'trade-dns-us-east-1=Off', ...flags]);
    expect(set.code).toBe(0);
    const client = new Route53RecoveryClusterClient({
      region: 'us-west-2',
      endpoint: state.endpoints.arc[1],
      credentials: LOCAL_CREDENTIALS,
    });
    const arn = names.routingControls.find((c) => c.name === 'trade-dns-us-west-2')?.arn;
    const { RoutingControlState } = await client.send(new GetRoutingControlStateCommand({ RoutingControlArn: arn }));
    client.destroy();
    expect(RoutingControlState).toBe('On');
    const get = await runJson<ResultOf<typeof RoutingControlGet>>([
      'routing-control',
      'get',
      'trade-dns-us-east-1',
      ...flags,
    ]);
    expect(get.json.state).toBe('Off');
  });

  it('refuses a change that breaks a safety rule, and changes nothing', async () => {
    const refused = await runTsr(['routing-control', 'set', 'trade-dns-us-west-2=Off', ...flags]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('trade-at-least-one-dns');
    const gated = await runTsr(['routing-control', 'set', 'trade-app-us-west-2=On', ...flags]);
    expect(gated.code).toBe(5);
    expect(gated.stderr).toContain('trade-gate-queue-and-app');
    const { json } = await runJson<ResultOf<typeof RoutingControlGet>>([
      'routing-control',
      'get',
      'trade-dns-us-west-2',
      ...flags,
    ]);
    expect(json.state).toBe('On');
  });

  it('treats a second deploy as harmless', async () => {
    const { result, json } = await runJson<DeployOutput>(['deploy', ...flags]);
    // With what deploy said when it failed: the cause is in its stderr.
    expect({ code: result.code, stderr: result.stderr.slice(-3000) }).toMatchObject({ code: 0 });
    expect(json.outcome).toBe('already-running');
  });

  it('destroys everything, leaving no process and no port, and deploys again afterwards', async () => {
    const pids = [state.supervisor.pid, ...state.processes.flatMap((p) => [p.pid, ...(p.childPids ?? [])])].filter(
      (p): p is number => !!p,
    );
    const destroyed = await runJson<{ stopped: number; portsStillOpen: number[] }>(['destroy', '--yes', ...flags]);
    expect(destroyed.result.code).toBe(0);
    expect(destroyed.json.portsStillOpen).toEqual([]);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(findWorkspaceProcesses(workspace)).toEqual([]);
    const status = await runTsr(['status', ...flags]);
    expect(status.code).toBe(3);
    expect(status.stderr).toContain('not deployed');

    const again = await runJson<DeployOutput>(['deploy', ...flags]);
    expect(again.json.outcome).toBe('started');
    // Data survived (no --purge): the routing control state set above is still there.
    const { json } = await runJson<ResultOf<typeof RoutingControlGet>>([
      'routing-control',
      'get',
      'trade-dns-us-west-2',
      ...flags,
    ]);
    expect(json.state).toBe('On');
  }, 120_000);
});
