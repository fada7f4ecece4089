import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { APPS, type AppName } from '../../config/apps.js';
import { deriveNames, type TsrConfig } from '../../config/model.js';
import { describeError } from '../../errors.js';
import type { RegionEndpoints, ReplicationLag } from '../../platform/platform.js';
import type { EngineSpec } from './engines/start-engine.js';
import { EngineStartError, type RunningEngine, spawnEngine, stopEngine } from './engine-process.js';
import { allocatePorts } from './ports.js';
import { applyCoreSchema } from './core-schema.js';
import { ServiceFleet } from './service-fleet.js';
import { HeartbeatLag, type PgServer, POSTGRES_USER, setupReplicatedDatabase } from './postgres-replication.js';
import { createStreams, createTables } from './provision.js';
import { type DeploymentStatus, type LocalState, type ProcessRecord, workspacePaths, writeState } from './state.js';

export interface DeployPlan {
  readonly config: TsrConfig;
}

interface ManagedEngine {
  readonly id: string;
  readonly spec: EngineSpec;
  readonly log: string;
  running?: RunningEngine;
  up: boolean;
  detail?: string;
}

/** The password of the local PostgreSQL servers: generated once, kept out of the state file and logs. */
export function ensurePostgresPassword(workspace: string): { file: string; password: string } {
  const { secrets } = workspacePaths(workspace);
  mkdirSync(secrets, { recursive: true, mode: 0o700 });
  const file = path.join(secrets, 'postgres-password');
  if (!existsSync(file)) writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  return { file, password: readFileSync(file, 'utf8').trim() };
}

/**
 * The detached control process of a local deployment: starts every engine as its own process, creates streams,
 * tables and replicated databases, keeps the state file current, measures PostgreSQL replication lag, and stops
 * everything on SIGTERM or `POST /stop`.
 */
export class Supervisor {
  private readonly config: TsrConfig;
  private readonly names;
  private readonly paths;
  private readonly engines: ManagedEngine[] = [];
  private readonly heartbeats = new Map<AppName, HeartbeatLag>();
  private readonly startedAt = new Date().toISOString();
  private readyAt?: string;
  private status: DeploymentStatus = 'starting';
  private phase = 'allocating ports';
  private error?: LocalState['error'];
  private controlPort = 0;
  private regionEndpoints: Record<string, RegionEndpoints> = {};
  private arcEndpoints: string[] = [];
  private linkEndpoint?: string;
  private writers: Record<AppName, string>;
  private stopping?: Promise<void>;
  private readonly inFlight: Promise<unknown>[] = [];
  private fleet?: ServiceFleet;
  private readonly control = createServer((req, res) => void this.handle(req, res));

  constructor(
    private readonly workspace: string,
    plan: DeployPlan,
  ) {
    this.config = plan.config;
    this.names = deriveNames(this.config);
    this.paths = workspacePaths(workspace);
    const primary = this.config.regions[0];
    this.writers = Object.fromEntries(APPS.map((app) => [app, primary])) as Record<AppName, string>;
  }

  async run(): Promise<void> {
    for (const dir of [this.paths.logs, this.paths.data]) mkdirSync(dir, { recursive: true });
    const { file: passwordFile, password } = ensurePostgresPassword(this.workspace);
    const { regions } = this.config;
    const perRegion = 5; // kinesis, dynamodb, broker, broker admin, postgres
    const servicePortCount = ServiceFleet.portsNeeded(this.config);
    const ports = await allocatePorts(
      regions.length * perRegion + this.config.local.arcEndpoints + 2 + servicePortCount,
      this.config.local.basePort,
    );
    const servicePorts = ports.splice(ports.length - servicePortCount);
    this.controlPort = ports.pop() as number;
    await new Promise<void>((resolve, reject) => {
      this.control.once('error', reject);
      this.control.listen(this.controlPort, '127.0.0.1', () => resolve());
    });
    this.save();

    const linkPort = ports.pop() as number;
    const arcPorts = ports.splice(regions.length * perRegion);
    regions.forEach((region, i) => {
      const [kinesis, dynamodb, broker, brokerAdmin, postgres] = ports.slice(i * perRegion, (i + 1) * perRegion);
      const data = path.join(this.paths.data, region);
      this.add(`kinesis@${region}`, { kind: 'kinesis', region, port: kinesis, dataDir: path.join(data, 'kinesis') });
      this.add(`dynamodb@${region}`, {
        kind: 'dynamodb',
        region,
        port: dynamodb,
        dataDir: path.join(data, 'dynamodb'),
      });
      this.add(`broker@${region}`, { kind: 'broker', region, port: broker, adminPort: brokerAdmin });
      this.add(`postgres@${region}`, {
        kind: 'postgres',
        region,
        port: postgres,
        dataDir: path.join(data, 'postgres'),
        passwordFile,
      });
      this.regionEndpoints[region] = {
        region,
        kinesis: `http://127.0.0.1:${kinesis}`,
        dynamodb: `http://127.0.0.1:${dynamodb}`,
        broker: `mqtt://127.0.0.1:${broker}`,
        brokerAdmin: `http://127.0.0.1:${brokerAdmin}`,
        postgres: { host: '127.0.0.1', port: postgres, user: POSTGRES_USER },
      };
    });
    this.add('arc', { kind: 'arc', ports: arcPorts, statePath: this.paths.arcState, config: this.config });
    this.arcEndpoints = arcPorts.map((p) => `http://127.0.0.1:${p}`);

    this.phase = 'starting engines';
    this.save();
    await Promise.all(this.engines.map((engine) => this.start(engine)));

    const globalTables = this.names.tables.filter((t) => t.global).map((t) => t.name);
    const link = this.add('dynamo-link', {
      kind: 'dynamo-link',
      port: linkPort,
      regions: regions.map((region) => ({ region, endpoint: this.regionEndpoints[region].dynamodb as string })),
      tables: globalTables,
      delayMs: this.config.local.replicationDelayMs,
    });
    this.linkEndpoint = `http://127.0.0.1:${linkPort}`;
    this.phase = 'creating streams and tables';
    this.save();
    await Promise.all([
      this.start(link),
      ...regions.flatMap((region) => [
        createStreams(region, this.regionEndpoints[region].kinesis as string, this.names),
        createTables(region, this.regionEndpoints[region].dynamodb as string, this.names),
      ]),
    ]);

    this.phase = 'setting up PostgreSQL replication';
    this.save();
    for (const app of this.config.apps) {
      const writer = this.pgServer(this.writers[app]);
      const readers = regions.filter((r) => r !== this.writers[app]).map((r) => this.pgServer(r));
      await setupReplicatedDatabase(writer, readers, this.names.databases[app], password);
      const heartbeat = new HeartbeatLag(writer, this.names.databases[app], password);
      await heartbeat.start();
      this.heartbeats.set(app, heartbeat);
    }

    this.phase = 'applying core database schemas';
    this.save();
    for (const app of this.config.apps) {
      const readers = regions.filter((r) => r !== this.writers[app]).map((r) => this.pgServer(r));
      await applyCoreSchema(app, this.names.databases[app], this.pgServer(this.writers[app]), readers, password);
    }

    this.phase = 'starting services';
    this.fleet = new ServiceFleet(
      this.config,
      { regions: this.regionEndpoints, arc: this.arcEndpoints },
      this.workspace,
      passwordFile,
      servicePorts,
      this.paths.logs,
      () => this.save(),
    );
    this.save();
    await this.fleet.start();
    this.status = 'ready';
    this.phase = 'ready';
    this.readyAt = new Date().toISOString();
    this.save();
  }

  /** Records a failure with the log tail of the process that caused it, then stops everything. */
  async fail(error: unknown): Promise<void> {
    // Let engines still starting finish, so none is left behind when we stop.
    await Promise.allSettled(this.inFlight);
    this.status = 'failed';
    this.error =
      error instanceof EngineStartError
        ? { message: error.message, log: error.log, logTail: error.tail }
        : { message: describeError(error) };
    this.save();
    await this.stop(false);
  }

  stop(markStopping = true): Promise<void> {
    this.stopping ??= (async () => {
      if (markStopping) {
        this.status = 'stopping';
        this.save();
      }
      await this.fleet?.stop();
      await Promise.all([...this.heartbeats.values()].map((h) => h.stop()));
      // The link first, so it does not report every engine as unreachable while they stop.
      const link = this.engines.filter((e) => e.spec.kind === 'dynamo-link');
      const rest = this.engines.filter((e) => e.spec.kind !== 'dynamo-link');
      const began = Date.now();
      for (const group of [link, rest]) {
        await Promise.all(
          group.map(async (e) => {
            if (!e.running) return;
            await stopEngine(e.running);
            console.log(`[tsr] stopped ${e.id} after ${Date.now() - began} ms`);
          }),
        );
      }
      await new Promise<void>((resolve) => this.control.close(() => resolve()));
      this.control.closeAllConnections();
    })();
    return this.stopping;
  }

  private add(id: string, spec: EngineSpec): ManagedEngine {
    const engine: ManagedEngine = {
      id,
      spec,
      log: path.join(this.paths.logs, `${id.replace('@', '-')}.log`),
      up: false,
    };
    this.engines.push(engine);
    return engine;
  }

  private async start(engine: ManagedEngine): Promise<void> {
    const starting = spawnEngine(engine.spec, engine.log);
    this.inFlight.push(starting);
    engine.running = await starting;
    engine.up = true;
    engine.detail = undefined;
    engine.running.child.once('exit', (code, signal) => {
      if (this.stopping) return;
      engine.up = false;
      engine.detail = `exited unexpectedly (${signal ?? `code ${code}`}); see ${engine.log}`;
      if (this.status === 'ready') this.status = 'degraded';
      this.save();
    });
    this.save();
  }

  private pgServer(region: string): PgServer {
    return { region, port: this.regionEndpoints[region].postgres.port };
  }

  private async databaseLag(): Promise<ReplicationLag[]> {
    const results: ReplicationLag[] = [];
    for (const [app, heartbeat] of this.heartbeats) {
      const writer = this.writers[app];
      for (const reader of this.config.regions.filter((r) => r !== writer)) {
        const measured = await heartbeat.measure(this.pgServer(reader));
        results.push({ kind: 'database', resource: this.names.databases[app], from: writer, to: reader, ...measured });
      }
    }
    return results;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method === 'GET' && req.url === '/health') return reply(200, { status: this.status, phase: this.phase });
      if (req.method === 'GET' && req.url === '/replication/databases') return reply(200, await this.databaseLag());
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method === 'GET' && url.pathname === '/services') return reply(200, this.fleet?.snapshot() ?? []);
      if (req.method === 'POST' && url.pathname === '/services/restart') {
        if (!this.fleet) return reply(409, { error: 'services are not started yet' });
        return reply(200, { restarted: await this.fleet.restart(url.searchParams.get('filter') ?? '') });
      }
      if (req.method === 'POST' && req.url === '/stop') {
        reply(202, { stopping: true });
        void this.stop().then(() => process.exit(0));
        return;
      }
      reply(404, { error: 'unknown route' });
    } catch (error) {
      reply(500, { error: describeError(error) });
    }
  }

  private processRecords(): ProcessRecord[] {
    return this.engines.map((e) => ({
      id: e.id,
      kind: e.spec.kind,
      region: 'region' in e.spec ? e.spec.region : undefined,
      pid: e.running?.child.pid,
      childPids: e.running?.childPids,
      ports: 'ports' in e.spec ? e.spec.ports : 'adminPort' in e.spec ? [e.spec.port, e.spec.adminPort] : [e.spec.port],
      endpoint: e.running?.endpoint,
      log: e.log,
      up: e.up,
      detail: e.detail,
    }));
  }

  private save(): void {
    writeState({
      version: 1,
      environment: this.config.environment,
      regions: this.config.regions,
      workspace: this.workspace,
      status: this.status,
      phase: this.phase,
      error: this.error,
      supervisor: {
        pid: process.pid,
        controlPort: this.controlPort,
        log: path.join(this.paths.logs, 'supervisor.log'),
      },
      processes: this.processRecords(),
      services: this.fleet?.snapshot() ?? [],
      endpoints: {
        regions: this.regionEndpoints,
        arc: this.arcEndpoints,
        replicationLink: this.linkEndpoint,
        supervisor: `http://127.0.0.1:${this.controlPort}`,
      },
      writers: this.writers,
      startedAt: this.startedAt,
      readyAt: this.readyAt,
      updatedAt: new Date().toISOString(),
    });
  }
}
