import { Construct } from 'constructs';
import { RdsGlobalCluster } from '@cdktf/provider-aws/lib/rds-global-cluster/index.js';

export const AURORA_ENGINE = 'aurora-postgresql';
export const AURORA_ENGINE_VERSION = '16.6';

export interface GlobalDatabaseProps {
  readonly identifier: string;
  /** The app's core database name, from deriveNames().databases. */
  readonly databaseName: string;
  readonly deletionProtection?: boolean;
}

/**
 * An Aurora PostgreSQL global cluster for one app's core database. Regional clusters join it from the regional
 * stacks: the primary region's cluster is the first writer, the others are secondaries that can take over by
 * switchover (no loss) or failover (forced).
 */
export class GlobalDatabase extends Construct {
  readonly identifier: string;
  readonly arn: string;

  constructor(scope: Construct, id: string, props: GlobalDatabaseProps) {
    super(scope, id);
    const cluster = new RdsGlobalCluster(this, 'cluster', {
      globalClusterIdentifier: props.identifier,
      engine: AURORA_ENGINE,
      engineVersion: AURORA_ENGINE_VERSION,
      databaseName: props.databaseName,
      storageEncrypted: true,
      deletionProtection: props.deletionProtection ?? false,
      forceDestroy: false,
    });
    this.identifier = props.identifier;
    this.arn = cluster.arn;
  }
}
