import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FisClient } from '@aws-sdk/client-fis';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeDBClustersCommand,
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  RDSClient,
  SwitchoverGlobalClusterCommand,
  type GlobalClusterMember,
} from '@aws-sdk/client-rds';
import { RDSDataClient } from '@aws-sdk/client-rds-data';
import { APP_SHORT, STAGES, type AppName } from '../../config/apps.js';
import { deriveNames, type ResourceNames, type TsrConfig } from '../../config/model.js';
import { ExitCode, UserError } from '../../errors.js';
import {
  DEFAULT_OUT_DIR,
  deploymentRecordPath,
  parseArcEndpoints,
  readDeploymentRecord,
  withDeployedArns,
  type AwsDeploymentRecord,
} from '../../infra/aws/deployment-record.js';
import { awsNames, DATABASE_MASTER_USER, type AwsNames } from '../../infra/aws/naming.js';
import { ArcRoutingControls, type ArcEndpointWithRegion } from '../../clients/arc-routing-controls.js';
import { BROKER_PENDING_METRIC } from '../../clients/broker-metrics.js';
import { inboundClientId } from '../../config/model.js';
import type {
  DatabaseTransition,
  DatabaseTransitionMode,
  DatabaseTransitionOptions,
  DrillCapabilities,
  QueueDepth,
  ServiceChange,
  ServiceRef,
  StreamBacklog,
} from '../capabilities.js';
import type {
  ComponentHealth,
  Platform,
  PlatformStatus,
  RegionEndpoints,
  ReplicationLag,
  RoutingControls,
} from '../platform.js';
import { isCredentialError, toUserError } from './aws-errors.js';
import { ArcEndpointFault } from './arc-endpoint-fault.js';
import { AwsFaults } from './aws-faults.js';
import { AwsGenerator } from './aws-generator.js';
import { GeneratorLedgerTable, generatorLedgerTable } from '../../clients/generator-ledger.js';
import { tableLedger, type LedgerSource } from '../ledger-source.js';
import { latestDatapoints, latestValues, type MetricQuery } from './metrics.js';
import { appStreamBacklogs } from '../stream-backlog.js';

/** An app's core database as the RDS Data API reaches it: the writer cluster and the secret it opens. */
export interface CoreDatabaseAccess {
  readonly region: string;
  readonly cluster: string;
  readonly resourceArn: string;
  /** The master secret's replica in the writer's region. */
  readonly secretArn: string;
  /** The operator policy granting the Data API calls (a global stack output), when recorded. */
  readonly policyArn?: string;
  readonly client: RDSDataClient;
}

export interface AwsPlatformOptions {
  /** Out dir of `tsr synth`/`deploy` (default cdktf.out): the deployment record is read next to it. */
  readonly outDir?: string;
  /** The deployment record, instead of reading it from disk. */
  readonly record?: AwsDeploymentRecord;
  /** TSR_ARC_ENDPOINTS (`region=url,…`) overrides the recorded ARC endpoints. */
  readonly env?: NodeJS.ProcessEnv;
  /** SDK attempts per call before a throttling error is reported (default 5). */
  readonly maxAttempts?: number;
  /** Replication lag above this is unhealthy (default 5 s). */
  readonly lagThresholdMs?: number;
  /** A broker backlog datapoint older than this is no measure (default 30 s; the gateway publishes every 5 s). */
  readonly brokerFreshMs?: number;
  /** How often a moving database writer is looked for (default 10 s; Aurora takes minutes). */
  readonly writerPollMs?: number;
}

type Clients = {
  rds: RDSClient;
  rdsData: RDSDataClient;
  ecs: ECSClient;
  cloudwatch: CloudWatchClient;
  dynamodb: DynamoDBClient;
  kinesis: KinesisClient;
  fis: FisClient;
};

function regionOfArn(arn: string | undefined): string | undefined {
  return arn?.split(':')[3] || undefined;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new UserError('interrupted', undefined, ExitCode.interrupted));
      },
      { once: true },
    );
  });

/**
 * The AWS target: routing controls through the ARC cluster endpoints, Aurora global database switchover/failover,
 * ECS service control, and broker/stream/replication measurements from CloudWatch. Same shapes as the local target.
 */
export class AwsPlatform implements Platform, DrillCapabilities {
  readonly target = 'aws' as const;
  /** The brokers are private to each region's VPC: canary and replay go through the gateways' stores and streams. */
  readonly brokersReachable = false;
  readonly names: ResourceNames;
  readonly record?: AwsDeploymentRecord;
  private readonly aws: AwsNames;
  private readonly clients = new Map<string, Clients>();
  private controls?: ArcRoutingControls;
  private readonly maxAttempts: number;
  private readonly lagThresholdMs: number;
  private readonly brokerFreshMs: number;
  private readonly writerPollMs: number;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly config: TsrConfig,
    options: AwsPlatformOptions = {},
  ) {
    this.aws = awsNames(config);
    this.env = options.env ?? process.env;
    this.record =
      options.record ??
      readDeploymentRecord(deploymentRecordPath(options.outDir ?? DEFAULT_OUT_DIR, config.environment));
    this.names = withDeployedArns(deriveNames(config), this.record);
    this.maxAttempts = options.maxAttempts ?? 5;
    this.lagThresholdMs = options.lagThresholdMs ?? 5_000;
    this.brokerFreshMs = options.brokerFreshMs ?? 30_000;
    this.writerPollMs = options.writerPollMs ?? 10_000;
  }

  private client<K extends keyof Clients>(region: string, kind: K): Clients[K] {
    let set = this.clients.get(region);
    if (!set) {
      const common = { region, maxAttempts: this.maxAttempts };
      set = {
        rds: new RDSClient(common),
        rdsData: new RDSDataClient(common),
        ecs: new ECSClient(common),
        cloudwatch: new CloudWatchClient(common),
        dynamodb: new DynamoDBClient(common),
        kinesis: new KinesisClient(common),
        fis: new FisClient(common),
      };
      this.clients.set(region, set);
    }
    return set[kind];
  }

  private requireRegion(region: string): void {
    if (!this.config.regions.includes(region)) {
      throw new UserError(
        `region ${region} is not one of this environment's regions (${this.config.regions.join(', ')})`,
        'use one of the configured regions',
        ExitCode.usage,
      );
    }
  }

  endpoints(region: string): RegionEndpoints {
    this.requireRegion(region);
    const deployed = this.record?.regional?.[region];
    const firstApp = this.config.apps[0];
    const cluster = this.aws.regionalCluster(firstApp, region);
    return {
      region,
      broker: deployed?.brokerUrls[0] ?? '',
      postgres: { host: deployed?.databaseEndpoints[cluster] ?? '', port: 5432, user: DATABASE_MASTER_USER },
    };
  }

  /** The ARC cluster endpoints, in the configured order: TSR_ARC_ENDPOINTS, else those the deployment recorded. */
  private arcEndpoints(): ArcEndpointWithRegion[] {
    const override = this.env.TSR_ARC_ENDPOINTS;
    const endpoints = override ? parseArcEndpoints(override) : (this.record?.global?.arcEndpoints ?? []);
    if (endpoints.length === 0) {
      throw new UserError(
        `no ARC cluster endpoints are known for environment "${this.config.environment}"`,
        'deploy with `tsr deploy --target aws` (it records them), or set TSR_ARC_ENDPOINTS=region=url,…',
        ExitCode.notDeployed,
      );
    }
    // Each cluster endpoint is signed for its own region; one without a region falls back to the primary.
    return endpoints.map((e) => ({ url: e.url, region: e.region || this.config.regions[0] }));
  }

  routingControls(): RoutingControls {
    if (!this.controls) {
      const fault = new ArcEndpointFault(this.config.workspace);
      this.controls = new ArcRoutingControls({
        endpoints: this.arcEndpoints(),
        names: this.names,
        // The game-day fault arc-endpoints-down, read at every call: another process may inject or undo it.
        heldDown: () => fault.heldDown(),
      });
    }
    return this.controls;
  }

  // ---- databases -------------------------------------------------------------------------------------------

  private async globalMembers(app: AppName, preferRegion?: string): Promise<GlobalClusterMember[]> {
    const identifier = this.aws.globalCluster(app);
    const regions = preferRegion
      ? [preferRegion, ...this.config.regions.filter((r) => r !== preferRegion)]
      : [...this.config.regions];
    let lastError: unknown;
    // Ask each region in turn: in a regional outage the others still answer.
    for (const region of regions) {
      try {
        const answer = await this.client(region, 'rds').send(
          new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: identifier }),
        );
        const cluster = answer.GlobalClusters?.[0];
        if (!cluster)
          throw Object.assign(new Error(`global cluster ${identifier} not found`), {
            name: 'GlobalClusterNotFoundFault',
          });
        return cluster.GlobalClusterMembers ?? [];
      } catch (error) {
        const mapped = toUserError(error, `reading global database ${identifier}`);
        if (mapped instanceof UserError) throw mapped;
        lastError = error;
      }
    }
    throw lastError;
  }

  async databaseWriter(app: AppName): Promise<string | undefined> {
    const members = await this.globalMembers(app);
    return regionOfArn(members.find((m) => m.IsWriter)?.DBClusterArn);
  }

  /**
   * How the verdict reads an app's core database (docs/gamedays.md#on-aws): the writer's cluster through the RDS Data
   * API, which runs statements on a cluster's writer only, with the master secret's copy in the writer's region.
   * Refuses, saying how to fix it, a cluster deployed without the Data API.
   */
  async coreDatabaseAccess(app: AppName): Promise<CoreDatabaseAccess> {
    const members = await this.globalMembers(app);
    const resourceArn = members.find((m) => m.IsWriter)?.DBClusterArn;
    const region = regionOfArn(resourceArn);
    if (!resourceArn || !region) {
      throw new UserError(
        `the ${app} global database ${this.aws.globalCluster(app)} has no writer now (a failover in progress?)`,
        'wait until `tsr status --target aws` shows a writer, then run the verdict again',
        ExitCode.unhealthy,
      );
    }
    const cluster = this.aws.regionalCluster(app, region);
    let enabled: boolean | undefined;
    try {
      const answer = await this.client(region, 'rds').send(
        new DescribeDBClustersCommand({ DBClusterIdentifier: cluster }),
      );
      enabled = answer.DBClusters?.[0]?.HttpEndpointEnabled;
    } catch (error) {
      throw toUserError(error, `describing ${cluster} in ${region}`);
    }
    if (!enabled) {
      throw new UserError(
        `the RDS Data API is not enabled on ${cluster} in ${region}: the verdict reads the core databases through it`,
        'run `tsr deploy --target aws` with this version of tsr (its stacks enable the Data API on every core ' +
          `database cluster), or enable it alone: aws rds enable-http-endpoint --resource-arn ${resourceArn} --region ${region}`,
        ExitCode.notDeployed,
      );
    }
    const secret = this.record?.global?.databaseSecretArns?.[app];
    if (!secret) {
      throw new UserError(
        `the deployment record of "${this.config.environment}" does not name the ${app} database secret the Data API needs`,
        'run `tsr deploy --target aws` again: it records the global stack outputs, the secret ARNs among them',
        ExitCode.notDeployed,
      );
    }
    const primary = regionOfArn(secret) ?? this.config.regions[0];
    return {
      region,
      cluster,
      resourceArn,
      secretArn: secret.replace(`:${primary}:`, `:${region}:`),
      policyArn: this.record?.global?.verdictReaderPolicyArn,
      client: this.client(region, 'rdsData'),
    };
  }

  switchoverDatabase(app: AppName, toRegion: string, options?: DatabaseTransitionOptions): Promise<DatabaseTransition> {
    return this.moveWriter(app, toRegion, 'switchover', options);
  }

  failoverDatabase(app: AppName, toRegion: string, options?: DatabaseTransitionOptions): Promise<DatabaseTransition> {
    return this.moveWriter(app, toRegion, 'failover', options);
  }

  private async moveWriter(
    app: AppName,
    toRegion: string,
    mode: DatabaseTransitionMode,
    options: DatabaseTransitionOptions = {},
  ): Promise<DatabaseTransition> {
    this.requireRegion(toRegion);
    const started = Date.now();
    const identifier = this.aws.globalCluster(app);
    const members = await this.globalMembers(app, toRegion);
    const from = regionOfArn(members.find((m) => m.IsWriter)?.DBClusterArn);
    const target = members.find((m) => regionOfArn(m.DBClusterArn) === toRegion);
    if (!target?.DBClusterArn) {
      throw new UserError(
        `the ${app} global database ${identifier} has no cluster in ${toRegion}`,
        `deploy ${toRegion} (\`tsr deploy --target aws\`) and wait until its cluster has joined`,
        ExitCode.notDeployed,
      );
    }
    if (from === toRegion) {
      return { app, mode, from, to: toRegion, completed: true, durationMs: Date.now() - started };
    }
    const action = `${mode === 'switchover' ? 'switching over' : 'failing over'} ${identifier} to ${toRegion}`;
    try {
      // Called in the target region: in a failover the source region may not answer.
      const rds = this.client(toRegion, 'rds');
      if (mode === 'switchover') {
        await rds.send(
          new SwitchoverGlobalClusterCommand({
            GlobalClusterIdentifier: identifier,
            TargetDbClusterIdentifier: target.DBClusterArn,
          }),
        );
      } else {
        await rds.send(
          new FailoverGlobalClusterCommand({
            GlobalClusterIdentifier: identifier,
            TargetDbClusterIdentifier: target.DBClusterArn,
            AllowDataLoss: true,
          }),
        );
      }
    } catch (error) {
      throw toUserError(error, action);
    }
    if (options.wait === false)
      return { app, mode, from, to: toRegion, completed: false, durationMs: Date.now() - started };
    const deadline = started + (options.timeoutMs ?? 15 * 60_000);
    while (Date.now() < deadline) {
      await sleep(options.pollMs ?? this.writerPollMs, options.signal);
      const now = await this.globalMembers(app, toRegion);
      if (regionOfArn(now.find((m) => m.IsWriter)?.DBClusterArn) === toRegion) {
        return { app, mode, from, to: toRegion, completed: true, durationMs: Date.now() - started };
      }
    }
    throw new UserError(
      `${action}: the writer is not in ${toRegion} after ${Math.round((Date.now() - started) / 1000)} s`,
      'check the global database in the RDS console; the operation may still complete',
      ExitCode.unhealthy,
    );
  }

  // ---- services --------------------------------------------------------------------------------------------

  private serviceName(ref: ServiceRef): string {
    this.requireRegion(ref.region);
    if (ref.app !== 'generator' && (!ref.stage || !STAGES.includes(ref.stage))) {
      throw new UserError(`${ref.app} needs a stage (${STAGES.join(', ')})`, undefined, ExitCode.usage);
    }
    return this.aws.service(ref.app, ref.stage);
  }

  async restartService(ref: ServiceRef): Promise<ServiceChange> {
    const service = this.serviceName(ref);
    try {
      const answer = await this.client(ref.region, 'ecs').send(
        new UpdateServiceCommand({ cluster: this.aws.ecsCluster, service, forceNewDeployment: true }),
      );
      const deployment = answer.service?.deployments?.find((d) => d.status === 'PRIMARY');
      return { service, region: ref.region, action: 'restart', deploymentId: deployment?.id };
    } catch (error) {
      throw toUserError(error, `restarting ${service} in ${ref.region}`);
    }
  }

  async scaleService(ref: ServiceRef, desiredCount: number): Promise<ServiceChange> {
    const service = this.serviceName(ref);
    if (!Number.isInteger(desiredCount) || desiredCount < 0) {
      throw new UserError(`task count must be a whole number ≥ 0, got ${desiredCount}`, undefined, ExitCode.usage);
    }
    try {
      await this.client(ref.region, 'ecs').send(
        new UpdateServiceCommand({ cluster: this.aws.ecsCluster, service, desiredCount }),
      );
      return { service, region: ref.region, action: 'scale', desiredCount };
    } catch (error) {
      throw toUserError(error, `scaling ${service} in ${ref.region}`);
    }
  }

  // ---- measurements ----------------------------------------------------------------------------------------

  private async metrics(region: string, queries: MetricQuery[], action: string) {
    try {
      return await latestValues(this.client(region, 'cloudwatch'), queries);
    } catch (error) {
      throw toUserError(error, action);
    }
  }

  /**
   * Messages the broker holds for the app's inbound session in the region. ActiveMQ keeps an MQTT session's QoS 1
   * subscriptions as durable topic subscriptions, which no Amazon MQ CloudWatch metric counts (QueueSize is for
   * queues only); the inbound gateway reads their pending count from the broker's Jolokia API inside the VPC and
   * publishes it as TSR/BrokerPending (services/messaging/broker-backlog.ts). The newest datapoint counts only if it
   * is at most `brokerFreshMs` old: a stopped gateway (a region down) leaves the backlog unknown, never zero.
   */
  /** As metrics(), but a region that does not answer gives no values and says why (credential errors still throw). */
  private async regionalMetrics(
    region: string,
    queries: MetricQuery[],
    action: string,
  ): Promise<{ values: Map<string, number | undefined>; error?: string }> {
    try {
      return { values: await latestValues(this.client(region, 'cloudwatch'), queries) };
    } catch (error) {
      const mapped = toUserError(error, action);
      if (isCredentialError(error)) throw mapped;
      return { values: new Map(), error: `${region} did not answer: ${mapped.message}` };
    }
  }

  async brokerQueueDepth(app: AppName, region: string): Promise<QueueDepth> {
    this.requireRegion(region);
    const session = inboundClientId(app, region);
    const [environment, appDim, regionDim] = BROKER_PENDING_METRIC.dimensions;
    let points;
    try {
      points = await latestDatapoints(
        this.client(region, 'cloudwatch'),
        [
          {
            id: 'pending',
            namespace: BROKER_PENDING_METRIC.namespace,
            metricName: BROKER_PENDING_METRIC.name,
            dimensions: { [environment]: this.config.environment, [appDim]: app, [regionDim]: region },
          },
        ],
        { windowMs: 2 * 60_000, periodSeconds: 1 },
      );
    } catch (error) {
      throw toUserError(error, `reading the broker backlog of ${session} in ${region}`);
    }
    const point = points.get('pending');
    const now = Date.now();
    const fresh = point && now - point.at.getTime() <= this.brokerFreshMs;
    return {
      app,
      region,
      queues: [{ queue: session, depth: fresh ? point.value : undefined }],
      depth: fresh ? point.value : undefined,
      measuredAt: (fresh ? point.at : new Date(now)).toISOString(),
      detail: fresh
        ? undefined
        : point
          ? `the newest ${BROKER_PENDING_METRIC.name} of ${session} is ${Math.round((now - point.at.getTime()) / 1000)} s old: is the ${app} inbound gateway running in ${region}?`
          : `no ${BROKER_PENDING_METRIC.name} datapoint of ${session} in the last 2 minutes: is the ${app} inbound gateway running in ${region}?`,
    };
  }

  /**
   * Records waiting after each consumer's checkpoint, per stream of the app in the region: every shard's checkpoint
   * in the leases table, then the stream itself after it (GetRecords, following empty pages while Kinesis says the
   * shard is behind its newest record). CloudWatch's iterator age says only how old a read was, not whether
   * anything waits, and has no datapoints when nothing reads.
   */
  async streamBacklog(app: AppName, region: string): Promise<StreamBacklog[]> {
    this.requireRegion(region);
    return appStreamBacklogs(this.client(region, 'kinesis'), this.client(region, 'dynamodb'), this.names, app, region);
  }

  async replicationLag(): Promise<ReplicationLag[]> {
    const lags: ReplicationLag[] = [];
    const tables = this.names.tables.filter((t) => t.global);
    const noData = 'no datapoints in the last 5 minutes';
    for (const from of this.config.regions) {
      const pairs = tables.flatMap((table) =>
        this.config.regions
          .filter((to) => to !== from)
          .map((to) => ({ table: table.name, to, id: `${table.name}|${to}` })),
      );
      // A region that does not answer (an outage) leaves its paths unmeasured, not the whole status unreadable.
      const values = await this.regionalMetrics(
        from,
        pairs.map((p) => ({
          id: p.id,
          namespace: 'AWS/DynamoDB',
          metricName: 'ReplicationLatency',
          dimensions: { TableName: p.table, ReceivingRegion: p.to },
        })),
        `reading table replication latency in ${from}`,
      );
      for (const p of pairs) {
        const lagMs = values.values.get(p.id);
        lags.push({
          kind: 'table',
          resource: p.table,
          from,
          to: p.to,
          lagMs,
          healthy: lagMs !== undefined && lagMs <= this.lagThresholdMs,
          detail: lagMs === undefined ? (values.error ?? noData) : undefined,
        });
      }
    }
    for (const app of this.config.apps) {
      const writer = (await this.databaseWriter(app)) ?? this.config.regions[0];
      for (const region of this.config.regions.filter((r) => r !== writer)) {
        const cluster = this.aws.regionalCluster(app, region);
        const values = await this.regionalMetrics(
          region,
          [
            {
              id: 'rpo',
              namespace: 'AWS/RDS',
              metricName: 'AuroraGlobalDBRPOLag',
              dimensions: { DBClusterIdentifier: cluster },
            },
          ],
          `reading the RPO lag of ${cluster}`,
        );
        const lagMs = values.values.get('rpo');
        lags.push({
          kind: 'database',
          resource: this.names.databases[app],
          from: writer,
          to: region,
          lagMs,
          healthy: lagMs !== undefined && lagMs <= this.lagThresholdMs,
          detail: lagMs === undefined ? (values.error ?? noData) : undefined,
        });
      }
    }
    return lags;
  }

  /** Game-day faults through the AWS APIs (SUPPORTED_FAULTS.aws lists the kinds). */
  faults(): AwsFaults {
    return new AwsFaults(this.config, {
      ecs: (region) => this.client(region, 'ecs'),
      rds: (region) => this.client(region, 'rds'),
      fis: (region) => this.client(region, 'fis'),
      arcEndpoints: () => this.arcEndpoints().map((e) => e.url),
    });
  }

  /** The generator as an ECS service, driven through its control, its desired count and the ledger table. */
  generator(): AwsGenerator {
    return new AwsGenerator({
      config: this.config,
      ecs: (region) => this.client(region, 'ecs'),
      controls: () => this.routingControls(),
      table: this.ledgerTable(this.config.regions[0]),
    });
  }

  private ledgerTable(region: string): GeneratorLedgerTable {
    this.requireRegion(region);
    return new GeneratorLedgerTable(this.client(region, 'dynamodb'), generatorLedgerTable(this.config.environment));
  }

  /** The generator's ledger, read from the global table's replica in `region` (default: the primary). */
  ledger(region = this.config.regions[0]): LedgerSource {
    return tableLedger(this.ledgerTable(region));
  }

  safeStoreClient(region: string): DynamoDBClient {
    this.requireRegion(region);
    return this.client(region, 'dynamodb');
  }

  async status(): Promise<PlatformStatus> {
    const components: ComponentHealth[] = [];
    for (const region of this.config.regions) {
      const services = [
        ...this.config.apps.flatMap((app) => STAGES.map((stage) => this.aws.service(app, stage))),
        ...(this.config.apps.includes('trade') ? [this.aws.service('generator')] : []),
      ];
      for (let i = 0; i < services.length; i += 10) {
        const batch = services.slice(i, i + 10);
        try {
          const answer = await this.client(region, 'ecs').send(
            new DescribeServicesCommand({ cluster: this.aws.ecsCluster, services: batch }),
          );
          for (const s of answer.services ?? []) {
            const desired = s.desiredCount ?? 0;
            const running = s.runningCount ?? 0;
            components.push({
              name: s.serviceName ?? '?',
              region,
              up: s.status === 'ACTIVE' && running >= desired,
              detail: `${running}/${desired} tasks`,
            });
          }
          for (const f of answer.failures ?? []) {
            components.push({ name: f.arn?.split('/').pop() ?? '?', region, up: false, detail: f.reason });
          }
        } catch (error) {
          const mapped = toUserError(error, `describing services in ${region}`);
          // Without credentials every call fails alike: say it once, with the fix, instead of once per row.
          if (isCredentialError(error)) throw mapped;
          for (const name of batch) components.push({ name, region, up: false, detail: mapped.message });
        }
      }
    }
    let routingControls: PlatformStatus['routingControls'];
    try {
      routingControls = await this.routingControls().list();
    } catch (error) {
      routingControls = { error: (error as Error).message };
    }
    const writers: Partial<Record<AppName, string>> = {};
    for (const app of this.config.apps) {
      try {
        const writer = await this.databaseWriter(app);
        if (writer) writers[app] = writer;
      } catch (error) {
        components.push({ name: `${APP_SHORT[app]}-core-database`, up: false, detail: (error as Error).message });
      }
    }
    let replication: ReplicationLag[] = [];
    try {
      replication = await this.replicationLag();
    } catch (error) {
      components.push({ name: 'replication metrics', up: false, detail: (error as Error).message });
    }
    return {
      target: 'aws',
      environment: this.config.environment,
      regions: this.config.regions,
      primary: this.config.regions[0],
      components,
      routingControls,
      replication,
      writers,
    };
  }

  async close(): Promise<void> {
    await this.controls?.close();
    for (const set of this.clients.values()) {
      set.rds.destroy();
      set.rdsData.destroy();
      set.ecs.destroy();
      set.cloudwatch.destroy();
      set.dynamodb.destroy();
      set.kinesis.destroy();
      set.fis.destroy();
    }
    this.clients.clear();
  }
}

export { withDeployedArns };
