import { DescribeGlobalClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import type { TsrConfig } from '../../config/model.js';
import { awsNames } from './naming.js';

/**
 * The region holding each app's database writer, read from the Aurora global clusters (the primary region asked
 * first, then the others: in an outage the others still answer). An app whose global cluster does not exist (never
 * applied, or already destroyed) or has no writer just now is left out.
 */
export async function databaseWriterRegions(config: TsrConfig): Promise<Map<string, string>> {
  const aws = awsNames(config);
  const writers = new Map<string, string>();
  for (const app of config.apps) {
    const identifier = aws.globalCluster(app);
    for (const region of config.regions) {
      const rds = new RDSClient({ region, maxAttempts: 3 });
      try {
        const answer = await rds.send(new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: identifier }));
        const writer = answer.GlobalClusters?.[0]?.GlobalClusterMembers?.find((m) => m.IsWriter)?.DBClusterArn;
        const writerRegion = writer?.split(':')[3];
        if (writerRegion) writers.set(app, writerRegion);
        break;
      } catch (error) {
        if ((error as Error).name === 'GlobalClusterNotFoundFault') break;
        // Another region may answer.
      } finally {
        rds.destroy();
      }
    }
  }
  return writers;
}
