import type { Construct } from 'constructs';
import { Fn, TerraformLocal, TerraformOutput, type TerraformRemoteState, TerraformStack } from 'cdktf';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition/index.js';
import type { AppName } from '../../../config/apps.js';
import type { ResourceNames, TsrConfig } from '../../../config/model.js';
import { Alarms } from '../constructs/alarms.js';
import { Broker } from '../constructs/broker.js';
import { EndpointRecords } from '../constructs/endpoint-records.js';
import { FaultExperiments } from '../constructs/fault-experiments.js';
import { generatorLedgerTable } from '../../../clients/generator-ledger.js';
import { Network, ZONES } from '../constructs/network.js';
import { RegionPeering } from '../constructs/region-peering.js';
import { RegionalDatabases } from '../constructs/regional-databases.js';
import { RegionalKey } from '../constructs/regional-key.js';
import { RegionalTable } from '../constructs/regional-table.js';
import { secretArnIn } from '../constructs/replicated-secret.js';
import type { PermissionContext } from '../constructs/service-permissions.js';
import { Services } from '../constructs/services.js';
import { Streams } from '../constructs/streams.js';
import { BROKER_USER, DATABASE_MASTER_USER, vpcCidr, type AwsNames } from '../naming.js';
import { GLOBAL_OUTPUTS } from './global-stack.js';
import { regionalServiceSpecs } from './service-specs.js';
import { configureStack, remoteStackState } from './provider.js';

export interface RegionalStackProps {
  readonly config: TsrConfig;
  readonly names: ResourceNames;
  readonly aws: AwsNames;
  readonly region: string;
  /** Services image; default: this region's ECR repository, tag `latest`. */
  readonly image?: string;
}

/** Placeholder shown in a plan made before the global stack exists (apply always runs the global stack first). */
const PENDING = 'pending-global-stack-apply';

/** Output names of a regional stack that other regional stacks and `tsr` read back. */
export const REGIONAL_OUTPUTS = {
  brokerEndpoints: 'broker_endpoints',
  databaseEndpoints: 'database_endpoints',
  ecsClusterArn: 'ecs_cluster_arn',
  repositoryUrl: 'repository_url',
  vpcId: 'vpc_id',
  privateRouteTableIds: 'private_route_table_ids',
  fisExperimentTemplates: 'fis_experiment_templates',
  dnsZoneId: 'dns_zone_id',
} as const;

/**
 * Broker endpoints of a region whose stack is not applied yet: `.invalid` never resolves, so a task started before
 * that region exists fails visibly for it until `tsr deploy` re-applies this stack with the real endpoints.
 */
export function pendingBrokerEndpoint(region: string): string {
  return `mqtts://pending-apply.${region}.invalid:8883`;
}

/**
 * One region: VPC, broker, streams, leases table, the regional Aurora clusters joined to the global clusters, ECS
 * services for every stage of each app plus the generator, and alarms. Reads the global stack's outputs and every
 * other region's (broker endpoints; VPC and route tables of the regions applied earlier, which it peers with) from
 * their state, with placeholders so a plan works before they are applied.
 */
export class RegionalStack extends TerraformStack {
  readonly region: string;

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    super(scope, id);
    const { config, names, aws, region } = props;
    const primary = config.regions[0];
    const isPrimary = region === primary;
    const index = config.regions.indexOf(region);
    this.region = region;
    configureStack(this, id, region, config);

    const { global, others } = this.otherStacks(props);
    const fromGlobalMap = (output: string, key: string) => Fn.lookup(global.get(output), key, '');
    const identity = new DataAwsCallerIdentity(this, 'identity');
    const partition = new DataAwsPartition(this, 'partition');

    const key = new RegionalKey(this, 'key', {
      alias: aws.kmsAliasRegional,
      description: `tsr ${config.environment}: streams, broker, databases and leases in ${region}`,
    });
    const network = new Network(this, 'network', {
      region,
      name: `tsr-${config.environment}`,
      cidr: vpcCidr(index),
      peerCidrs: config.regions.map((_, i) => vpcCidr(i)),
    });
    this.peerWithEarlierRegions(props, network, others);
    new Streams(this, 'streams', {
      streams: names.streams,
      shardCount: config.aws.shardsPerStream,
      kmsKeyId: key.arn,
    });
    for (const table of names.tables.filter((t) => !t.global)) {
      new RegionalTable(this, `table-${table.purpose}`, { table, kmsKeyArn: key.arn });
    }
    const broker = new Broker(this, 'broker', {
      name: aws.brokerName,
      instanceType: config.aws.brokerInstanceType,
      subnetIds: network.privateSubnetIds,
      securityGroupId: network.brokerSecurityGroupId,
      kmsKeyArn: key.arn,
      username: BROKER_USER,
      password: global.getString(GLOBAL_OUTPUTS.brokerPassword),
    });
    const databases = new RegionalDatabases(this, 'databases', {
      name: `tsr-${config.environment}-databases`,
      subnetIds: network.privateSubnetIds,
      securityGroupId: network.databaseSecurityGroupId,
      kmsKeyArn: key.arn,
      instanceClass: config.aws.auroraInstanceClass,
      databases: config.apps.map((app) => ({
        identifier: aws.regionalCluster(app, region),
        globalClusterIdentifier: aws.globalCluster(app),
        databaseName: names.databases[app],
        master: isPrimary
          ? { username: DATABASE_MASTER_USER, password: fromGlobalMap(GLOBAL_OUTPUTS.databasePasswords, app) }
          : undefined,
      })),
    });

    const brokerSecret = secretArnIn(global.getString(GLOBAL_OUTPUTS.brokerSecretArn), primary, region);
    const databaseSecret = (app: AppName) =>
      secretArnIn(fromGlobalMap(GLOBAL_OUTPUTS.databaseSecretArns, app), primary, region);
    const globalKeyArn = fromGlobalMap(GLOBAL_OUTPUTS.globalKeyArns, region);
    const permissionContext: PermissionContext = {
      names,
      region,
      account: identity.accountId,
      partition: partition.partition,
      controlPanelArn: global.getString(GLOBAL_OUTPUTS.controlPanelArn),
      regionalKeyArn: key.arn,
      globalKeyArn,
      generatorLedger: generatorLedgerTable(config.environment),
    };
    // Every region's broker, `region=mqtts://host:8883` per broker instance (active first), in config order: senders
    // publish to another region's broker when its dns control is ON; outbound gateways to the other app's region.
    const brokerUrls = new TerraformLocal(
      this,
      'broker_urls_by_region',
      Fn.join(
        ',',
        Fn.compact(
          config.regions.map((r) => {
            const endpoints =
              r === region ? broker.mqttsEndpoints : others.get(r)?.getString(REGIONAL_OUTPUTS.brokerEndpoints);
            return Fn.replace(endpoints ?? '', 'mqtts://', `${r}=mqtts://`);
          }),
        ),
      ),
    );
    const specs = regionalServiceSpecs({
      config,
      names,
      aws,
      region,
      brokerUrls: brokerUrls.asString,
      arcEndpoints: global.getString(GLOBAL_OUTPUTS.arcClusterEndpoints),
      controlPanelArn: global.getString(GLOBAL_OUTPUTS.controlPanelArn),
      brokerSecret,
      databaseSecret,
      database: (app) => databases.clusters[aws.regionalCluster(app, region)],
      permissionContext,
    });
    const services = new Services(this, 'services', {
      region,
      clusterName: aws.ecsCluster,
      repositoryName: aws.ecrRepository,
      image: props.image,
      logGroupName: aws.logGroup,
      subnetIds: network.privateSubnetIds,
      securityGroupId: network.servicesSecurityGroupId,
      secretsKeyArn: globalKeyArn,
      services: specs,
      roleName: (service, purpose) => aws.serviceRole(service, region, purpose),
    });

    new Alarms(this, 'alarms', {
      prefix: `tsr-${config.environment}`,
      region,
      streams: names.streams.map((s) => s.name),
      tables: names.tables.filter((t) => t.global).map((t) => t.name),
      otherRegions: config.regions.filter((r) => r !== region),
      databaseClusters: config.apps.map((app) => aws.regionalCluster(app, region)),
    });

    const endpoints = new EndpointRecords(this, 'endpoint-records', {
      region,
      zoneName: aws.dnsZone,
      vpcId: network.vpcId,
      zone: isPrimary
        ? { create: true }
        : { create: false, id: others.get(primary)?.getString(REGIONAL_OUTPUTS.dnsZoneId) ?? '' },
      apps: config.apps,
      brokerEndpoints: broker.mqttsEndpoints,
      brokerInstances: 2,
      healthCheckId: (app) => fromGlobalMap(GLOBAL_OUTPUTS.dnsHealthCheckIds, `${app}-dns-${region}`),
    });

    const experiments = new FaultExperiments(this, 'fault-experiments', {
      prefix: `tsr-${config.environment}`,
      region,
      account: identity.accountId,
      partition: partition.partition,
      roleName: aws.fisRole(region),
      ecsClusterName: aws.ecsCluster,
      ecsClusterArn: services.clusterArn,
      coreServices: Object.fromEntries(config.apps.map((app) => [app, aws.service(app, 'core')])),
      vpcId: network.vpcId,
      privateSubnetIds: network.privateSubnetIds,
      otherRegions: config.regions.filter((r) => r !== region),
      databaseClusters: Object.fromEntries(
        config.apps.map((app) => {
          const identifier = aws.regionalCluster(app, region);
          return [app, { identifier, arn: databases.clusters[identifier].arn }];
        }),
      ),
    });

    const out = (name: string, value: unknown) => new TerraformOutput(this, name, { value, staticId: true });
    out(REGIONAL_OUTPUTS.brokerEndpoints, broker.mqttsEndpoints);
    out(
      REGIONAL_OUTPUTS.databaseEndpoints,
      Object.fromEntries(Object.entries(databases.clusters).map(([id, c]) => [id, c.endpoint])),
    );
    out(REGIONAL_OUTPUTS.ecsClusterArn, services.clusterArn);
    out(REGIONAL_OUTPUTS.repositoryUrl, services.repositoryUrl);
    out(REGIONAL_OUTPUTS.vpcId, network.vpcId);
    out(REGIONAL_OUTPUTS.privateRouteTableIds, network.privateRouteTableIds);
    out(REGIONAL_OUTPUTS.fisExperimentTemplates, experiments.templateIds);
    out(REGIONAL_OUTPUTS.dnsZoneId, endpoints.zoneId);
  }

  /** Peers with every region applied earlier (config order); later regions peer with this one from their stack. */
  private peerWithEarlierRegions(
    { config, region }: RegionalStackProps,
    network: Network,
    others: ReadonlyMap<string, TerraformRemoteState>,
  ): void {
    const index = config.regions.indexOf(region);
    for (const earlier of config.regions.slice(0, index)) {
      const state = others.get(earlier);
      if (!state) continue;
      new RegionPeering(this, `peering-${earlier}`, {
        name: `tsr-${config.environment}-${region}-to-${earlier}`,
        requester: {
          region,
          vpcId: network.vpcId,
          cidr: vpcCidr(index),
          routeTableIds: network.privateRouteTableIds,
        },
        accepter: {
          region: earlier,
          vpcId: state.getString(REGIONAL_OUTPUTS.vpcId),
          cidr: vpcCidr(config.regions.indexOf(earlier)),
          routeTableIds: Array.from({ length: ZONES }, (_, i) =>
            Fn.element(state.getList(REGIONAL_OUTPUTS.privateRouteTableIds), i),
          ),
        },
      });
    }
  }

  /**
   * The global stack's outputs and every other region's, read from their state, with placeholders so a plan works
   * before they are applied.
   */
  private otherStacks({ config, names, aws, region }: RegionalStackProps) {
    const primary = config.regions[0];
    const global = remoteStackState(this, 'global', aws.globalStack, config, {
      [GLOBAL_OUTPUTS.arcClusterEndpoints]: '',
      [GLOBAL_OUTPUTS.controlPanelArn]: names.controlPanelArn,
      [GLOBAL_OUTPUTS.brokerSecretArn]: `arn:aws:secretsmanager:${primary}:000000000000:secret:${aws.brokerSecret}`,
      [GLOBAL_OUTPUTS.brokerPassword]: PENDING,
      [GLOBAL_OUTPUTS.databaseSecretArns]: Object.fromEntries(
        config.apps.map((app) => [
          app,
          `arn:aws:secretsmanager:${primary}:000000000000:secret:${aws.databaseSecret(app)}`,
        ]),
      ),
      [GLOBAL_OUTPUTS.databasePasswords]: Object.fromEntries(config.apps.map((app) => [app, PENDING])),
      [GLOBAL_OUTPUTS.globalKeyArns]: Object.fromEntries(
        config.regions.map((r) => [r, `arn:aws:kms:${r}:000000000000:alias/${PENDING}`]),
      ),
    });
    const others = new Map(
      config.regions
        .filter((r) => r !== region)
        .map((r) => [
          r,
          remoteStackState(this, `region-${r}`, aws.regionalStack(r), config, {
            [REGIONAL_OUTPUTS.brokerEndpoints]: pendingBrokerEndpoint(r),
            [REGIONAL_OUTPUTS.vpcId]: `vpc-pending-${r}`,
            [REGIONAL_OUTPUTS.dnsZoneId]: 'Z-pending-primary-stack',
            [REGIONAL_OUTPUTS.privateRouteTableIds]: Array.from({ length: ZONES }, (_, i) => `rtb-pending-${r}-${i}`),
          }),
        ]),
    );
    return { global, others };
  }
}
