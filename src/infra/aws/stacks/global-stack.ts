import type { Construct } from 'constructs';
import { TerraformOutput, TerraformStack } from 'cdktf';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity/index.js';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition/index.js';
import type { AppName } from '../../../config/apps.js';
import type { ResourceNames, TsrConfig } from '../../../config/model.js';
import { DnsHealthChecks } from '../constructs/dns-health-checks.js';
import { GlobalDatabase } from '../constructs/global-database.js';
import { GlobalTables } from '../constructs/global-tables.js';
import { GeneratorLedger } from '../constructs/generator-ledger.js';
import { generatorLedgerTable } from '../../../clients/generator-ledger.js';
import { MultiRegionKey } from '../constructs/multi-region-key.js';
import { ReplicatedSecret } from '../constructs/replicated-secret.js';
import { RoutingControls } from '../constructs/routing-controls.js';
import { SafetyRules } from '../constructs/safety-rules.js';
import { VerdictReaderPolicy } from '../constructs/verdict-reader-policy.js';
import { BROKER_USER, DATABASE_MASTER_USER, type AwsNames } from '../naming.js';
import { configureStack } from './provider.js';

/** Output names of the global stack that regional stacks and `tsr` read back. */
export const GLOBAL_OUTPUTS = {
  arcClusterArn: 'arc_cluster_arn',
  arcClusterEndpoints: 'arc_cluster_endpoints',
  controlPanelArn: 'control_panel_arn',
  routingControlArns: 'routing_control_arns',
  safetyRuleArns: 'safety_rule_arns',
  brokerSecretArn: 'broker_secret_arn',
  brokerPassword: 'broker_password',
  databaseSecretArns: 'database_secret_arns',
  databasePasswords: 'database_passwords',
  globalKeyArns: 'global_kms_key_arns',
  dnsHealthCheckIds: 'dns_health_check_ids',
  verdictReaderPolicyArn: 'verdict_reader_policy_arn',
} as const;

export interface GlobalStackProps {
  readonly config: TsrConfig;
  readonly names: ResourceNames;
  readonly aws: AwsNames;
}

/**
 * What exists once for the whole environment: the ARC cluster with its control panel, routing controls, safety
 * rules and dns health checks; the DynamoDB global tables; the Aurora global clusters; the shared credentials.
 */
export class GlobalStack extends TerraformStack {
  readonly routing: RoutingControls;
  readonly tables: GlobalTables;
  readonly databases: Readonly<Record<string, GlobalDatabase>>;

  constructor(scope: Construct, id: string, props: GlobalStackProps) {
    super(scope, id);
    const { config, names, aws } = props;
    const primary = config.regions[0];
    configureStack(this, id, primary, config);

    const key = new MultiRegionKey(this, 'global-key', {
      primaryRegion: primary,
      regions: config.regions,
      alias: aws.kmsAliasGlobal,
      description: `tsr ${config.environment}: global tables and shared secrets`,
    });

    this.routing = new RoutingControls(this, 'routing', {
      clusterName: aws.arcClusterName,
      controlPanelName: names.controlPanelName,
      controls: names.routingControls,
    });
    const rules = new SafetyRules(this, 'safety', {
      controlPanelArn: this.routing.controlPanelArn,
      rules: names.safetyRules,
      controlArns: this.routing.arnByName,
      after: this.routing.last,
    });
    const healthChecks = new DnsHealthChecks(this, 'dns-health', {
      controls: names.routingControls.filter((c) => c.scope === 'dns'),
      controlArns: this.routing.arnByName,
    });

    this.tables = new GlobalTables(this, 'tables', {
      tables: names.tables.filter((t) => t.global),
      primaryRegion: primary,
      regions: config.regions,
      kmsKeyArnByRegion: key.arnByRegion,
    });

    new GeneratorLedger(this, 'generator-ledger', {
      name: generatorLedgerTable(config.environment),
      primaryRegion: primary,
      regions: config.regions,
      kmsKeyArnByRegion: key.arnByRegion,
    });

    const secretProps = { primaryRegion: primary, regions: config.regions, kmsKeyArnByRegion: key.arnByRegion };
    const broker = new ReplicatedSecret(this, 'broker-secret', {
      ...secretProps,
      name: aws.brokerSecret,
      description: 'Amazon MQ user of every service (MQTT over TLS)',
      username: BROKER_USER,
    });
    const databases: Record<string, GlobalDatabase> = {};
    const dbSecrets: Partial<Record<AppName, ReplicatedSecret>> = {};
    for (const app of config.apps) {
      databases[app] = new GlobalDatabase(this, `database-${app}`, {
        identifier: aws.globalCluster(app),
        databaseName: names.databases[app],
      });
      dbSecrets[app] = new ReplicatedSecret(this, `database-secret-${app}`, {
        ...secretProps,
        name: aws.databaseSecret(app),
        description: `Aurora master user of ${names.databases[app]}`,
        username: DATABASE_MASTER_USER,
      });
    }
    this.databases = databases;
    const verdictReader = new VerdictReaderPolicy(this, 'verdict-reader', {
      name: aws.verdictReaderPolicy,
      account: new DataAwsCallerIdentity(this, 'identity').accountId,
      partition: new DataAwsPartition(this, 'partition').partition,
      primaryRegion: primary,
      regions: config.regions,
      databases: config.apps.map((app) => ({
        globalCluster: aws.globalCluster(app),
        regionalCluster: (region: string) => aws.regionalCluster(app, region),
      })),
      secretArns: Object.values(dbSecrets).map((s) => s.arn),
      keyArnByRegion: key.arnByRegion,
    });

    const out = (name: string, value: unknown, sensitive = false) =>
      new TerraformOutput(this, name, { value, sensitive, staticId: true });
    out(GLOBAL_OUTPUTS.arcClusterArn, this.routing.clusterArn);
    out(GLOBAL_OUTPUTS.arcClusterEndpoints, this.routing.clusterEndpoints);
    out(GLOBAL_OUTPUTS.controlPanelArn, this.routing.controlPanelArn);
    out(GLOBAL_OUTPUTS.routingControlArns, this.routing.arnByName);
    out(GLOBAL_OUTPUTS.safetyRuleArns, rules.arnByName);
    out(GLOBAL_OUTPUTS.brokerSecretArn, broker.arn);
    out(GLOBAL_OUTPUTS.brokerPassword, broker.password, true);
    out(
      GLOBAL_OUTPUTS.databaseSecretArns,
      Object.fromEntries(Object.entries(dbSecrets).map(([app, s]) => [app, s.arn])),
    );
    out(
      GLOBAL_OUTPUTS.databasePasswords,
      Object.fromEntries(Object.entries(dbSecrets).map(([app, s]) => [app, s.password])),
      true,
    );
    out(GLOBAL_OUTPUTS.globalKeyArns, key.arnByRegion);
    out(GLOBAL_OUTPUTS.dnsHealthCheckIds, healthChecks.idByControl);
    out(GLOBAL_OUTPUTS.verdictReaderPolicyArn, verdictReader.arn);
  }
}
