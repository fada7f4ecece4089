import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AppName } from '../config/apps.js';
import { deriveNames, type ResourceNames, type TsrConfig } from '../config/model.js';
import type {
  DatabaseTransition,
  DrillCapabilities,
  QueueDepth,
  ServiceChange,
  ServiceRef,
  StreamBacklog,
} from './capabilities.js';
import { LocalDrills } from './local-drills.js';
import { ExitCode, UserError } from '../errors.js';
import { fetchReplicationLag } from '../infra/local/replication/dynamo-link.js';
import { portAnswers } from '../infra/local/ports.js';
import { isAlive, type LocalState, type ProcessRecord } from '../infra/local/state.js';
import { parseServiceId } from '../infra/local/service-fleet.js';
import { localDashboardUrl } from './dashboard-url.js';
import type { GeneratorDriver } from './generator-types.js';
import { fileLedger, type LedgerSource } from './ledger-source.js';
import { localGenerator } from './local-generator.js';
import { requestJson } from './json-request.js';
import { listServices } from './local-services.js';
import { diskStatus } from './footprint.js';
import { ArcRoutingControls } from '../clients/arc-routing-controls.js';
import { LOCAL_CREDENTIALS, LOCAL_SIGNER } from '../clients/aws-clients.js';
import type {
  ComponentHealth,
  DiskStatus,
  Platform,
  PlatformStatus,
  RegionEndpoints,
  ReplicationLag,
  RoutingControls,
  StageStatus,
} from './platform.js';

/** How often status walks the workspace for its disk use (a few thousand files: milliseconds of lstat each time). */
const DISK_LOOK_MS = 10_000;

/** The local target: everything read from the state file the supervisor keeps, and from the engines themselves. */
export class LocalPlatform implements Platform, DrillCapabilities {
  readonly target = 'local' as const;
  readonly names: ResourceNames;
  private controls?: ArcRoutingControls;
  private disk?: { at: number; value: DiskStatus };
  private readonly answered = new Set<string>();
  readonly drills: LocalDrills;

  constructor(
    readonly config: TsrConfig,
    readonly state: LocalState,
  ) {
    this.names = deriveNames(config);
    this.drills = new LocalDrills(config.workspace, this.names, config.environment);
  }

  databaseWriter(app: AppName): Promise<string | undefined> {
    return this.drills.databaseWriter(app);
  }

  switchoverDatabase(app: AppName, toRegion: string): Promise<DatabaseTransition> {
    return this.drills.moveDatabase(app, toRegion, 'switchover');
  }

  failoverDatabase(app: AppName, toRegion: string): Promise<DatabaseTransition> {
    return this.drills.moveDatabase(app, toRegion, 'failover');
  }

  restartService(service: ServiceRef): Promise<ServiceChange> {
    return this.drills.restartService(service);
  }

  async scaleService(): Promise<ServiceChange> {
    throw new UserError(
      'the local target runs one process per service per region; it cannot scale',
      'scale on the aws target',
      ExitCode.usage,
    );
  }

  brokerQueueDepth(app: AppName, region: string): Promise<QueueDepth> {
    return this.drills.brokerQueueDepth(app, region);
  }

  streamBacklog(app: AppName, region: string, options?: { readonly limit?: number }): Promise<StreamBacklog[]> {
    return this.drills.streamBacklog(app, region, options);
  }

  safeStoreClient(region: string): DynamoDBClient {
    return this.drills.safeStoreClient(region);
  }

  generator(): GeneratorDriver {
    return localGenerator(this.state, () => this.routingControls());
  }

  /** The ledger files the generator process writes in the workspace. */
  ledger(): LedgerSource {
    return fileLedger(this.config.workspace);
  }

  endpoints(region: string): RegionEndpoints {
    const endpoints = this.state.endpoints.regions[region];
    if (!endpoints) {
      throw new UserError(
        `region ${region} is not part of the local deployment (${this.state.regions.join(', ')})`,
        'use one of the deployed regions, or redeploy with --regions',
      );
    }
    return endpoints;
  }

  routingControls(): RoutingControls {
    this.controls ??= new ArcRoutingControls({
      endpoints: [...this.state.endpoints.arc],
      region: this.state.regions[0],
      names: this.names,
      credentials: LOCAL_CREDENTIALS,
      signer: LOCAL_SIGNER,
    });
    return this.controls;
  }

  /**
   * Whether `port` answers, probed until it has once for this process: a live process keeps its listening socket (a
   * hung one still accepts connections, so probing it again every second would tell nothing more); a restart is a new
   * pid and is probed again.
   */
  private async answers(pid: number | undefined, port: number): Promise<boolean> {
    const key = `${pid ?? '?'}:${port}`;
    if (this.answered.has(key)) return true;
    const up = await portAnswers(port);
    if (up) {
      if (this.answered.size >= 1_000) this.answered.clear(); // restarts add keys; keep it bounded
      this.answered.add(key);
    }
    return up;
  }

  /** Each ARC cluster endpoint: whether its process runs and answers on the endpoint's port. */
  async arcEndpointHealth(): Promise<{ url: string; up: boolean }[]> {
    const arc = this.state.processes.find((p) => p.kind === 'arc');
    return Promise.all(
      this.state.endpoints.arc.map(async (url) => {
        const port = Number(new URL(url).port);
        const up = !!arc && isAlive(arc.pid) && arc.ports.includes(port) && (await this.answers(arc.pid, port));
        return { url, up };
      }),
    );
  }

  private async componentHealth(process: ProcessRecord): Promise<ComponentHealth> {
    const base = { name: process.kind, region: process.region, endpoint: process.endpoint, pid: process.pid };
    if (!isAlive(process.pid))
      return {
        ...base,
        up: false,
        detail: process.detail ?? `process ${process.pid ?? '?'} is not running; log: ${process.log}`,
      };
    // A process whose own child died (PostgreSQL under its engine process) keeps its pid: its port is cached as
    // answering, so the child is looked at directly.
    const deadChild = process.childPids?.find((pid) => !isAlive(pid));
    if (deadChild !== undefined)
      return { ...base, up: false, detail: `its process ${deadChild} is not running; log: ${process.log}` };
    const answers = await Promise.all(process.ports.map((port) => this.answers(process.pid, port)));
    const silent = process.ports.filter((_, i) => !answers[i]);
    if (silent.length)
      return {
        ...base,
        up: false,
        detail: `running but not answering on port ${silent.join(', ')}; log: ${process.log}`,
      };
    return { ...base, up: true };
  }

  async replicationLag(): Promise<ReplicationLag[]> {
    const tables: Promise<ReplicationLag[]> = this.state.endpoints.replicationLink
      ? fetchReplicationLag(this.state.endpoints.replicationLink).catch((error: Error) => [
          {
            kind: 'table',
            resource: '*',
            from: '*',
            to: '*',
            healthy: false,
            detail: `replication link does not answer: ${error.message}`,
          },
        ])
      : Promise.resolve([]);
    const databases = requestJson<ReplicationLag[]>(
      `${this.state.endpoints.supervisor}/replication/databases`,
      undefined,
      3_000,
    ).catch((error: Error) => [
      {
        kind: 'database',
        resource: '*',
        from: '*',
        to: '*',
        healthy: false,
        detail: `control process does not answer: ${error.message}`,
      } as ReplicationLag,
    ]);
    return [...(await tables), ...(await databases)];
  }

  /** Per app, region and stage: records in and out, rejections and backlog, from the services themselves. */
  private async stageStatus(): Promise<StageStatus[]> {
    if (!this.state.services?.length) return [];
    const services = await listServices(this.state).catch(() => []);
    return services.flatMap((service) => {
      const { app, stage, region } = parseServiceId(service.id);
      if (!app || !region) return [];
      const counters = service.metricsSnapshot?.counters ?? {};
      const gauges = service.metricsSnapshot?.gauges ?? {};
      return [
        {
          app,
          region,
          stage,
          up: service.up,
          in: counters.in,
          out: counters.out,
          rejected: counters.rejected,
          backlog: gauges.backlog,
          lagMs: gauges.lagMs,
          restarts: service.restarts,
        },
      ];
    });
  }

  async status(): Promise<PlatformStatus> {
    const supervisor: ComponentHealth = {
      name: 'supervisor',
      up: isAlive(this.state.supervisor.pid),
      pid: this.state.supervisor.pid,
      endpoint: this.state.endpoints.supervisor,
    };
    const [components, routing, replication, stages] = await Promise.all([
      Promise.all(this.state.processes.map((p) => this.componentHealth(p))),
      this.routingControls()
        .list()
        .catch((error: Error) => ({ error: error.message })),
      this.replicationLag(),
      this.stageStatus(),
    ]);
    return {
      target: 'local',
      environment: this.state.environment,
      regions: this.state.regions,
      primary: this.state.regions[0],
      components: [supervisor, ...components],
      routingControls: routing,
      replication,
      writers: this.state.writers,
      stages,
      disk: this.diskNow(),
      dashboard: localDashboardUrl(this.state),
    };
  }

  /** The workspace's disk use, walked at most every DISK_LOOK_MS: the dashboard and monitors ask status every second. */
  private diskNow(): DiskStatus {
    if (!this.disk || Date.now() - this.disk.at >= DISK_LOOK_MS)
      this.disk = { at: Date.now(), value: diskStatus(this.state.workspace, this.state.regions) };
    return this.disk.value;
  }

  async close(): Promise<void> {
    await this.controls?.close?.();
  }
}

/** A platform whose control process is gone cannot be driven; say so with the way out. */
export function assertSupervisorAlive(state: LocalState): void {
  if (!isAlive(state.supervisor.pid)) {
    throw new UserError(
      `the local platform is not running: its control process (pid ${state.supervisor.pid}) is gone`,
      'run `tsr destroy --yes` to clean up, then `tsr deploy`',
      ExitCode.notDeployed,
    );
  }
}
