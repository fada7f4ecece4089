/**
 * The verdict's sources on AWS (docs/gamedays.md#on-aws): the generator's ledger table, each app's writer cluster
 * through the RDS Data API, and the safe stores of every region. The Data API runs statements on a cluster's writer
 * only (a global database's secondaries have none until promoted), so the replicas are listed as not readable, with
 * the reason: their divergence shows as unchecked rather than being skipped silently.
 */
import { APPS, type AppName } from '../config/apps.js';
import type { AwsPlatform, CoreDatabaseAccess } from '../platform/aws/aws-platform.js';
import { dataApiCopy } from './data-api-copy.js';
import type { VerdictSources } from './sources.js';

/** Why a replica cannot be read through the Data API. */
export function replicaUnreadable(region: string, writer: string): string {
  return `the RDS Data API reads a cluster's writer only: the cluster in ${region} is a secondary of the global database (writer in ${writer})`;
}

/** The sources of a deployed AWS environment, with each app's writer as it is now (it moves during a drill). */
export async function awsSources(platform: AwsPlatform): Promise<VerdictSources> {
  // Every app: the verdict reads both cores, whatever the configuration lists.
  const access = new Map<AppName, CoreDatabaseAccess>();
  for (const app of APPS) access.set(app, await platform.coreDatabaseAccess(app));
  const regions = platform.config.regions;
  return {
    workspace: platform.config.workspace,
    ledger: platform.ledger(),
    databases: platform.names.databases,
    copies(app) {
      const writer = access.get(app);
      if (!writer) throw new Error(`${app} is not one of this environment's apps`);
      return {
        writer: dataApiCopy(writer.region, writer),
        replicas: regions
          .filter((r) => r !== writer.region)
          .map((r) => dataApiCopy(r, undefined, replicaUnreadable(r, writer.region))),
      };
    },
    safeStores: {
      tables: platform.names.tables.filter((t) => t.global).map((t) => t.name),
      regions: regions.map((region) => ({ region })),
      client: (region) => platform.safeStoreClient(region),
    },
  };
}
