import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { APPS, type AppName } from '../../config/apps.js';
import { deriveNames, type TsrConfig } from '../../config/model.js';
import { describeError } from '../../errors.js';
import type { RegionEndpoints, ReplicationLag } from '../../clients/types.js';
import { type EngineSpec, pinPorts } from './engines/start-engine.js';
import { EngineStartError, killQuietly, type RunningEngine, spawnEngine, stopEngine } from './engine-process.js';
import { consecutivePorts, dealPorts, type PortMap, type PortNeed, preferredPorts } from './ports.js';
import { bindPort, closeServer, sendJson } from './http-server.js';
import { applyCoreSchema } from './core-schema.js';
import { parseServiceId, ServiceFleet } from './service-fleet.js';
import { RegionRelays } from './region-relays.js';
import { type FaultHost, handleFaultRoute } from './local-faults.js';
import { SupervisedService } from './service-process.js';
import { ensureDashboardToken } from './dashboard-token.js';
import {
  HeartbeatLag,
  type PgServer,
  POSTGRES_USER,
  setupReplicatedDatabase,
  withClient,
} from './postgres-replication.js';
import { failoverWriter, rejoinAsReplica, switchoverWriter } from './database-roles.js';
import { createStreams, createTables } from './provision.js';
import { forgetLostRegion } from './replication/dynamo-link.js';
import { type DeploymentStatus, type LocalState, type ProcessRecord, workspacePaths, writeState } from './state.js';

/** The dashboard's own entry point: a process above the platform layer, so started by path, never imported. */
const DASHBOARD_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dashboard', 'main.js');

export interface DeployPlan {
  readonly config: TsrConfig;
}

interface ManagedEngine {
  readonly id: string;
  /** Pinned to the ports the engine bound once it first started. */
  spec: EngineSpec;
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
  /** Regions stopped on purpose (`tsr chaos region-down`). */
  private readonly downRegions = new Set<string>();
  /** Engines a game-day fault stopped or crashed on purpose: their exit is not reported as unexpected. */
  private readonly faultStopped = new Set<string>();
  private password = '';
  private fleet?: ServiceFleet;
  private relays?: RegionRelays;
  private dashboard?: SupervisedService;
  private readonly control = createServer((req, res) => void this.handle(req, res));

  constructor(
    private readonly workspace: string,
    plan: DeployPlan,
  ) {
    this.config = plan.config;
    this.names = deriveNames(this.config);
    this.paths = workspacePaths(workspace);
    const primary = this.config.regions[0];
    const initial = Object.fromEntries(APPS.map((app) => [app, primary])) as Record<AppName, string>;
    this.writers = { ...initial, ...this.savedWriters() };
  }

  private get portsFile(): string {
    return path.join(this.paths.data, 'ports.json');
  }

  /** The ports of the last run by part id (an older file, or an unreadable one, is no preference). */
  private savedPorts(): unknown {
    try {
      return existsSync(this.portsFile) ? JSON.parse(readFileSync(this.portsFile, 'utf8')) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every part that binds ports, in the order a `local.basePort` range lays them out. */
  private portNeeds(): PortNeed[] {
    return [
      ...this.config.regions.flatMap((region) => [
        { id: `kinesis@${region}`, count: 1 },
        { id: `dynamodb@${region}`, count: 1 },
        { id: `broker@${region}`, count: 2 }, // MQTT, admin
        { id: `postgres@${region}`, count: 1 },
      ]),
      { id: 'arc', count: this.config.local.arcEndpoints },
      { id: 'dynamo-link', count: 1 },
      { id: 'control', count: 1 },
      { id: 'services', count: ServiceFleet.portsNeeded(this.config) },
      { id: 'dashboard', count: 1 },
      { id: 'relays', count: RegionRelays.routesBetween(this.config.regions).length },
    ];
  }

  /**
   * With `local.basePort`, exactly the consecutive range (checked free now; a clash names the port). Otherwise each
   * part tries its port of the last run and binds any free one when that is taken or unknown, reporting what it got.
   */
  private async planPorts(): Promise<PortMap> {
    const needs = this.portNeeds();
    const { basePort } = this.config.local;
    if (basePort === undefined) return preferredPorts(needs, this.savedPorts());
    const total = needs.reduce((sum, need) => sum + need.count, 0);
    return dealPorts(needs, await consecutivePorts(basePort, total));
  }

  /** The ports actually bound, as the next deploy will prefer them. */
  private savePorts(): void {
    const bound: Record<string, readonly number[]> = { control: [this.controlPort] };
    const dashboardPort = this.dashboardPort();
    if (dashboardPort) bound.dashboard = [dashboardPort];
    if (this.relays) bound.relays = this.relays.boundPorts();
    for (const engine of this.engines) if (engine.running) bound[engine.id] = engine.running.ports;
    writeFileSync(this.portsFile, JSON.stringify(bound));
  }

  /** Endpoints from the ports the engines reported. */
  private recordEndpoints(): void {
    const portsOf = (id: string) => this.engines.find((e) => e.id === id)?.running?.ports ?? [];
    for (const region of this.config.regions) {
      const [kinesis] = portsOf(`kinesis@${region}`);
      const [dynamodb] = portsOf(`dynamodb@${region}`);
      const [broker, brokerAdmin] = portsOf(`broker@${region}`);
      const [postgres] = portsOf(`postgres@${region}`);
      this.regionEndpoints[region] = {
        region,
        kinesis: `http://127.0.0.1:${kinesis}`,
        dynamodb: `http://127.0.0.1:${dynamodb}`,
        broker: `mqtt://127.0.0.1:${broker}`,
        brokerAdmin: `http://127.0.0.1:${brokerAdmin}`,
        postgres: { host: '127.0.0.1', port: postgres, user: POSTGRES_USER },
      };
    }
    this.arcEndpoints = portsOf('arc').map((p) => `http://127.0.0.1:${p}`);
  }

  /** Where each app's writer was when the platform last ran: its data lives on, so its topology must too. */
  private savedWriters(): Partial<Record<AppName, string>> {
    const file = path.join(this.paths.data, 'writers.json');
    if (!existsSync(file)) return {};
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<Record<AppName, string>>;
    return Object.fromEntries(
      Object.entries(saved).filter(([, region]) => region && this.config.regions.includes(region)),
    );
  }

  async run(): Promise<void> {
    for (const dir of [this.paths.logs, this.paths.data]) mkdirSync(dir, { recursive: true });
    const { file: passwordFile, password } = ensurePostgresPassword(this.workspace);
    this.password = password;
    const { regions } = this.config;
    const ports = await this.planPorts();
    const anyPortIfTaken = this.config.local.basePort === undefined;
    this.controlPort = await bindPort(this.control, ports.control[0], anyPortIfTaken);
    this.save();
    // The dashboard watches the deployment from its first moment (it shows the phase while engines start).
    await this.startDashboard(ports.dashboard[0], anyPortIfTaken);

    for (const region of regions) {
      const data = path.join(this.paths.data, region);
      const port = (kind: string) => ports[`${kind}@${region}`];
      this.add(`kinesis@${region}`, {
        kind: 'kinesis',
        region,
        port: port('kinesis')[0],
        dataDir: path.join(data, 'kinesis'),
        anyPortIfTaken,
      });
      this.add(`dynamodb@${region}`, {
        kind: 'dynamodb',
        region,
        port: port('dynamodb')[0],
        dataDir: path.join(data, 'dynamodb'),
        peers: regions.filter((other) => other !== region),
        anyPortIfTaken,
      });
      const [broker, brokerAdmin] = port('broker');
      this.add(`broker@${region}`, { kind: 'broker', region, port: broker, adminPort: brokerAdmin, anyPortIfTaken });
      this.add(`postgres@${region}`, {
        kind: 'postgres',
        region,
        port: port('postgres')[0],
        dataDir: path.join(data, 'postgres'),
        passwordFile,
        anyPortIfTaken,
      });
    }
    this.add('arc', {
      kind: 'arc',
      ports: [...ports.arc],
      statePath: this.paths.arcState,
      config: this.config,
      anyPortIfTaken,
    });

    this.phase = 'starting engines';
    this.save();
    await Promise.all(this.engines.map((engine) => this.start(engine)));
    this.recordEndpoints();

    const globalTables = this.names.tables.filter((t) => t.global).map((t) => t.name);
    const link = this.add('dynamo-link', {
      kind: 'dynamo-link',
      port: ports['dynamo-link'][0],
      regions: regions.map((region) => ({ region, endpoint: this.regionEndpoints[region].dynamodb as string })),
      tables: globalTables,
      delayMs: this.config.local.replicationDelayMs,
      anyPortIfTaken,
    });
    this.phase = 'creating streams and tables';
    this.save();
    await Promise.all([
      this.start(link),
      ...regions.flatMap((region) => [
        createStreams(region, this.regionEndpoints[region].kinesis as string, this.names),
        createTables(region, this.regionEndpoints[region].dynamodb as string, this.names),
      ]),
    ]);
    this.linkEndpoint = link.running?.endpoint;

    this.phase = 'setting up PostgreSQL replication';
    this.save();
    for (const app of this.config.apps) {
      const writer = this.pgServer(this.writers[app]);
      const readers = regions.filter((r) => r !== this.writers[app]).map((r) => this.pgServer(r));
      await setupReplicatedDatabase(writer, readers, this.names.databases[app], password);
      await this.startHeartbeat(app);
    }

    this.phase = 'applying core database schemas';
    this.save();
    for (const app of this.config.apps) {
      const readers = regions.filter((r) => r !== this.writers[app]).map((r) => this.pgServer(r));
      await applyCoreSchema(app, this.names.databases[app], this.pgServer(this.writers[app]), readers, password);
    }

    this.phase = 'starting services';
    const relays = new RegionRelays(RegionRelays.routesBetween(regions), (region) => {
      const broker = this.regionEndpoints[region]?.broker;
      return broker ? { host: '127.0.0.1', port: Number(new URL(broker).port) } : undefined;
    });
    await relays.start(ports.relays, anyPortIfTaken);
    this.relays = relays;
    // Services bind port 0 and report what they got, unless local.basePort fixed theirs.
    const servicePorts = anyPortIfTaken ? ports.services.map(() => 0) : [...ports.services];
    this.savePorts();
    this.fleet = new ServiceFleet(
      this.config,
      { regions: this.regionEndpoints, arc: this.arcEndpoints, crossRegion: (from, to) => relays.url(from, to) },
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
      await Promise.all([this.fleet?.stop(), this.dashboard?.stop(2_000)]);
      await Promise.all([...this.heartbeats.values()].map((h) => h.stop()));
      await this.relays?.stop();
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
      await closeServer(this.control);
    })();
    return this.stopping;
  }

  /**
   * The dashboard process, supervised like a service (restarted if it dies). With any port allowed it asks for the
   * port of the last run and takes any free one if that is taken (the dashboard reports what it bound).
   */
  private async startDashboard(port: number, anyPortIfTaken: boolean): Promise<void> {
    const { file } = ensureDashboardToken(this.workspace);
    this.dashboard = new SupervisedService(
      {
        id: 'dashboard',
        main: DASHBOARD_MAIN,
        env: {
          TSR_WORKSPACE: this.workspace,
          TSR_DASHBOARD_TOKEN_FILE: file,
          TSR_DASHBOARD_PORT: String(port),
          TSR_DASHBOARD_ANY_PORT: anyPortIfTaken ? '1' : '0',
        },
        log: path.join(this.paths.logs, 'dashboard.log'),
        metricsPort: 0, // the dashboard reports the port it bound
      },
      () => this.save(),
    );
    this.dashboard.start();
    await this.dashboard.whenReady(30_000);
  }

  private dashboardPort(): number | undefined {
    const snapshot = this.dashboard?.snapshot();
    const port = snapshot ? Number(new URL(snapshot.metrics).port) : 0;
    return port > 0 ? port : undefined;
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
    engine.spec = pinPorts(engine.spec, engine.running.ports);
    engine.up = true;
    engine.detail = undefined;
    engine.running.child.once('exit', (code, signal) => {
      const region = 'region' in engine.spec ? engine.spec.region : undefined;
      if (this.stopping || (region && this.downRegions.has(region)) || this.faultStopped.has(engine.id)) return;
      engine.up = false;
      engine.detail = `exited unexpectedly (${signal ?? `code ${code}`}); see ${engine.log}`;
      if (this.status === 'ready') this.status = 'degraded';
      this.save();
    });
    this.save();
  }

  private async startHeartbeat(app: AppName): Promise<void> {
    await this.heartbeats.get(app)?.stop();
    const heartbeat = new HeartbeatLag(this.pgServer(this.writers[app]), this.names.databases[app], this.password);
    await heartbeat.start();
    this.heartbeats.set(app, heartbeat);
  }

  private regionEngines(region: string): ManagedEngine[] {
    return this.engines.filter((e) => 'region' in e.spec && e.spec.region === region);
  }

  /** Chaos: every engine and service of a region stops at once, like losing the region. */
  async regionDown(region: string): Promise<void> {
    this.requireRegion(region);
    this.downRegions.add(region);
    for (const app of this.config.apps) if (this.writers[app] === region) await this.heartbeats.get(app)?.stop();
    await this.fleet?.stopRegion(region);
    await Promise.all(
      this.regionEngines(region).map(async (engine) => {
        if (engine.running) await stopEngine(engine.running, 2_000);
        engine.up = false;
        engine.detail = 'stopped by `tsr chaos region-down`';
      }),
    );
    // What the region wrote and the link had not applied elsewhere goes down with it (on AWS it would still be in
    // the region's own stream); the link pulls it again from the region's feed once the region is back.
    if (this.linkEndpoint) {
      await forgetLostRegion(this.linkEndpoint, region).catch((error: Error) =>
        console.error(`[tsr] replication link did not forget ${region}'s unapplied changes: ${error.message}`),
      );
    }
    this.status = 'degraded';
    this.save();
  }

  /**
   * The region comes back: its engines restart on the same ports and data, and its services start. A database that
   * lost its writer role while the region was down rejoins as a replica of the current writer. Everything that does
   * not wait for another part runs at once (the region is ready to fail back to sooner): the apps' databases side by
   * side, and the services meanwhile — but each app's core only once its database has rejoined (it migrates at start).
   */
  async regionUp(region: string): Promise<void> {
    this.requireRegion(region);
    await Promise.all(this.regionEngines(region).map((engine) => this.start(engine)));
    this.downRegions.delete(region);
    const isCore = (id: string) => parseServiceId(id).stage === 'core';
    await Promise.all([
      this.fleet?.startRegion(region, (id) => !isCore(id)),
      ...this.config.apps.map(async (app) => {
        const writer = this.writers[app];
        if (writer === region) await this.startHeartbeat(app);
        else if (await this.wasWriter(app, region)) {
          await rejoinAsReplica({
            database: this.names.databases[app],
            server: this.pgServer(region),
            writer: this.pgServer(writer),
            password: this.password,
          });
        }
        await this.fleet?.startRegion(region, (id) => isCore(id) && parseServiceId(id).app === app);
      }),
    ]);
    if (this.engines.every((e) => e.up)) this.status = 'ready';
    this.save();
  }

  /** A database with no subscription of its own was a writer; if another region writes now, it is stale. */
  private async wasWriter(app: AppName, region: string): Promise<boolean> {
    return withClient(this.pgServer(region), this.password, this.names.databases[app], async (client) => {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid WHERE d.datname = current_database()`,
      );
      return rows[0].n === 0;
    });
  }

  async moveWriter(
    app: AppName,
    to: string,
    mode: 'switchover' | 'failover',
  ): Promise<{ from: string; to: string; durationMs: number }> {
    this.requireRegion(to);
    if (!this.config.apps.includes(app)) throw new Error(`unknown app ${app}`);
    const from = this.writers[app];
    const started = Date.now();
    if (from === to) return { from, to, durationMs: 0 };
    if (this.downRegions.has(to)) throw new Error(`${to} is down; bring it up first (tsr chaos region-up ${to})`);
    const database = this.names.databases[app];
    const live = this.config.regions
      .filter((r) => r !== from && r !== to && !this.downRegions.has(r))
      .map((r) => this.pgServer(r));
    await this.heartbeats.get(app)?.stop();
    if (mode === 'switchover') {
      if (this.downRegions.has(from))
        throw new Error(`the writer's region ${from} is down: a switchover needs it; use a failover`);
      await switchoverWriter({
        database,
        from: this.pgServer(from),
        to: this.pgServer(to),
        others: live,
        password: this.password,
      });
    } else {
      await failoverWriter({ database, to: this.pgServer(to), others: live, password: this.password });
    }
    this.writers = { ...this.writers, [app]: to };
    await this.startHeartbeat(app);
    this.save();
    return { from, to, durationMs: Date.now() - started };
  }

  private engineById(id: string): ManagedEngine {
    const engine = this.engines.find((e) => e.id === id);
    if (!engine) throw new Error(`no engine ${id} (${this.engines.map((e) => e.id).join(', ')})`);
    return engine;
  }

  /** What the game-day fault routes may do to this deployment (local-faults.ts). */
  private faultHost(): FaultHost {
    const halt = async (id: string, crash: boolean) => {
      const engine = this.engineById(id);
      this.faultStopped.add(id);
      if (engine.running && crash) {
        const { child, childPids } = engine.running;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        for (const pid of childPids) killQuietly(pid, 'SIGKILL');
        child.kill('SIGKILL');
        await exited;
      } else if (engine.running) await stopEngine(engine.running, 2_000);
      engine.running = undefined;
      engine.up = false;
      engine.detail = crash ? 'crashed by a game-day fault' : 'stopped by a game-day fault';
      this.status = 'degraded';
      this.save();
    };
    return {
      fleet: () => this.fleet,
      relays: () => this.relays,
      save: () => this.save(),
      stopEngine: (id) => halt(id, false),
      killEngine: (id) => halt(id, true),
      startEngine: async (id, ports) => {
        const engine = this.engineById(id);
        if (engine.running) await halt(id, false);
        const full = engine.spec;
        if (ports && 'ports' in full) engine.spec = { ...full, ports: [...ports] };
        try {
          await this.start(engine);
        } finally {
          if (ports) engine.spec = full;
        }
        this.faultStopped.delete(id);
        if (engine.spec.kind === 'postgres') {
          for (const app of this.config.apps)
            if (this.writers[app] === engine.spec.region) await this.startHeartbeat(app);
        }
        if (this.engines.every((e) => e.up) && this.downRegions.size === 0) this.status = 'ready';
        this.save();
      },
      enginePorts: (id) => {
        const spec = this.engineById(id).spec;
        return 'ports' in spec ? spec.ports : [spec.port];
      },
      apps: () => this.config.apps,
      databaseName: (app) => this.names.databases[app],
      writer: (app) => this.writers[app],
      liveRegions: () => this.config.regions.filter((r) => !this.downRegions.has(r)),
      pgServer: (region) => this.pgServer(region),
      password: () => this.password,
    };
  }

  private requireRegion(region: string): void {
    if (!this.config.regions.includes(region))
      throw new Error(`region ${region} is not deployed (${this.config.regions.join(', ')})`);
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
    const reply = (status: number, body: unknown) => sendJson(res, status, body);
    try {
      if (req.method === 'GET' && req.url === '/health') return reply(200, { status: this.status, phase: this.phase });
      if (req.method === 'GET' && req.url === '/replication/databases') return reply(200, await this.databaseLag());
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (req.method === 'GET' && url.pathname === '/services') return reply(200, this.fleet?.snapshot() ?? []);
      if (req.method === 'POST' && url.pathname === '/services/restart') {
        if (!this.fleet) return reply(409, { error: 'services are not started yet' });
        return reply(200, { restarted: await this.fleet.restart(url.searchParams.get('filter') ?? '') });
      }
      const region = url.searchParams.get('region') ?? '';
      if (req.method === 'POST' && url.pathname === '/regions/down')
        return reply(200, await this.regionDown(region).then(() => ({ region, down: true })));
      if (req.method === 'POST' && url.pathname === '/regions/up')
        return reply(200, await this.regionUp(region).then(() => ({ region, down: false })));
      if (req.method === 'POST' && (url.pathname === '/database/switchover' || url.pathname === '/database/failover')) {
        const mode = url.pathname.endsWith('switchover') ? 'switchover' : 'failover';
        return reply(200, {
          mode,
          ...(await this.moveWriter(url.searchParams.get('app') as AppName, url.searchParams.get('to') ?? '', mode)),
        });
      }
      if (req.method === 'POST' && url.pathname.startsWith('/faults/'))
        return reply(200, await handleFaultRoute(this.faultHost(), url.pathname, url.searchParams));
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
      // Pinned to the bound ports once started; before that a 0 (any free port) says nothing yet.
      ports: ('ports' in e.spec
        ? e.spec.ports
        : 'adminPort' in e.spec
          ? [e.spec.port, e.spec.adminPort]
          : [e.spec.port]
      ).filter((port) => port > 0),
      endpoint: e.running?.endpoint,
      log: e.log,
      up: e.up,
      detail: e.detail,
    }));
  }

  private save(): void {
    if (existsSync(this.paths.data))
      writeFileSync(path.join(this.paths.data, 'writers.json'), JSON.stringify(this.writers));
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
      downRegions: [...this.downRegions],
      partitioned: this.relays?.partitioned || undefined,
      services: this.fleet?.snapshot() ?? [],
      endpoints: {
        regions: this.regionEndpoints,
        arc: this.arcEndpoints,
        replicationLink: this.linkEndpoint,
        supervisor: `http://127.0.0.1:${this.controlPort}`,
        dashboard: this.dashboardPort() ? `http://127.0.0.1:${this.dashboardPort()}` : undefined,
        crossRegion: this.relays?.urls(),
      },
      writers: this.writers,
      startedAt: this.startedAt,
      readyAt: this.readyAt,
      updatedAt: new Date().toISOString(),
    });
  }
}
