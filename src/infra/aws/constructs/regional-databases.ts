import { Construct } from 'constructs';
import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group/index.js';
import { RdsCluster } from '@cdktf/provider-aws/lib/rds-cluster/index.js';
import { RdsClusterInstance } from '@cdktf/provider-aws/lib/rds-cluster-instance/index.js';
import { AURORA_ENGINE, AURORA_ENGINE_VERSION } from './global-database.js';

export interface RegionalDatabaseSpec {
  /** Regional cluster identifier. */
  readonly identifier: string;
  /** The global cluster this one joins. */
  readonly globalClusterIdentifier: string;
  readonly databaseName: string;
  /** Master credentials: only the first writer (primary region) creates them; secondaries inherit. */
  readonly master?: { readonly username: string; readonly password: string };
}

export interface RegionalDatabasesProps {
  readonly name: string;
  readonly databases: readonly RegionalDatabaseSpec[];
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
  readonly kmsKeyArn: string;
  readonly instanceClass: string;
  /** Instances per cluster (writer + readers); every region keeps two so a switchover lands on a HA cluster. */
  readonly instances?: number;
}

/**
 * This region's Aurora PostgreSQL clusters, each a member of its app's global cluster. Which one is the writer
 * changes at runtime (switchover/failover), so Terraform ignores the attributes that change with the role.
 */
export class RegionalDatabases extends Construct {
  /** Cluster writer endpoint and ARN by cluster identifier. */
  readonly clusters: Readonly<
    Record<string, { readonly arn: string; readonly endpoint: string; readonly port: number }>
  >;

  constructor(scope: Construct, id: string, props: RegionalDatabasesProps) {
    super(scope, id);
    const subnets = new DbSubnetGroup(this, 'subnets', {
      name: props.name,
      subnetIds: [...props.subnetIds],
      description: 'tsr Aurora clusters: private subnets',
    });
    const clusters: Record<string, { arn: string; endpoint: string; port: number }> = {};
    for (const spec of props.databases) {
      const cluster = new RdsCluster(this, spec.identifier, {
        clusterIdentifier: spec.identifier,
        globalClusterIdentifier: spec.globalClusterIdentifier,
        engine: AURORA_ENGINE,
        engineVersion: AURORA_ENGINE_VERSION,
        databaseName: spec.master ? spec.databaseName : undefined,
        masterUsername: spec.master?.username,
        masterPassword: spec.master?.password,
        dbSubnetGroupName: subnets.name,
        vpcSecurityGroupIds: [props.securityGroupId],
        storageEncrypted: true,
        kmsKeyId: props.kmsKeyArn,
        port: 5432,
        backupRetentionPeriod: 7,
        copyTagsToSnapshot: true,
        enabledCloudwatchLogsExports: ['postgresql'],
        // The RDS Data API: how the verdict reads the core databases from outside the VPC (docs/gamedays.md#on-aws).
        // On every member, since the writer moves; it answers on the writer only.
        enableHttpEndpoint: true,
        skipFinalSnapshot: false,
        // Unique per cluster lifetime (the creation time, kept by ignore_changes below): a fixed id exists after the
        // first destroy and blocks the next one.
        finalSnapshotIdentifier: `${spec.identifier}-final-\${formatdate("YYYYMMDDhhmmss", timestamp())}`,
        lifecycle: {
          ignoreChanges: [
            'replication_source_identifier',
            'global_cluster_identifier',
            'master_password',
            'database_name',
            'final_snapshot_identifier',
          ],
        },
      });
      const count = props.instances ?? 2;
      for (let i = 0; i < count; i++) {
        new RdsClusterInstance(this, `${spec.identifier}-${i}`, {
          identifier: `${spec.identifier}-${i}`,
          clusterIdentifier: cluster.id,
          engine: AURORA_ENGINE,
          engineVersion: AURORA_ENGINE_VERSION,
          instanceClass: props.instanceClass,
          dbSubnetGroupName: subnets.name,
          publiclyAccessible: false,
          autoMinorVersionUpgrade: true,
        });
      }
      clusters[spec.identifier] = { arn: cluster.arn, endpoint: cluster.endpoint, port: 5432 };
    }
    this.clusters = clusters;
  }
}
