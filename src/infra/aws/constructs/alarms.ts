import { Construct } from 'constructs';
import { CloudwatchMetricAlarm } from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm/index.js';

export interface AlarmsProps {
  readonly prefix: string;
  readonly region: string;
  /** Streams of this region: alarm when the oldest unread record gets old (consumers fall behind). */
  readonly streams: readonly string[];
  /** Global tables: alarm on replication latency from this region to each other region. */
  readonly tables: readonly string[];
  readonly otherRegions: readonly string[];
  /** This region's Aurora cluster identifiers: alarm on the global database RPO lag. */
  readonly databaseClusters: readonly string[];
  readonly thresholds?: {
    readonly iteratorAgeMs?: number;
    readonly replicationLatencyMs?: number;
    readonly rpoLagMs?: number;
  };
  /** Optional SNS topic ARNs notified on alarm. */
  readonly actions?: readonly string[];
}

/** CloudWatch alarms on backlog (Kinesis iterator age), table replication latency and Aurora global RPO lag. */
export class Alarms extends Construct {
  readonly alarmNames: readonly string[];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const names: string[] = [];
    const alarm = (
      key: string,
      name: string,
      metric: { namespace: string; metricName: string; dimensions: Record<string, string> },
      threshold: number,
      description: string,
    ) => {
      new CloudwatchMetricAlarm(this, key, {
        alarmName: name,
        alarmDescription: description,
        namespace: metric.namespace,
        metricName: metric.metricName,
        dimensions: metric.dimensions,
        statistic: 'Maximum',
        period: 60,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        threshold,
        comparisonOperator: 'GreaterThanThreshold',
        // No data means nothing to measure (idle stream, the writer region of a database), not a breach.
        treatMissingData: 'notBreaching',
        alarmActions: props.actions ? [...props.actions] : undefined,
        okActions: props.actions ? [...props.actions] : undefined,
      });
      names.push(name);
    };
    const t = props.thresholds ?? {};
    for (const stream of props.streams) {
      alarm(
        `backlog-${stream}`,
        `${stream}-backlog`,
        {
          namespace: 'AWS/Kinesis',
          metricName: 'GetRecords.IteratorAgeMilliseconds',
          dimensions: { StreamName: stream },
        },
        t.iteratorAgeMs ?? 60_000,
        `Consumers of ${stream} in ${props.region} are falling behind`,
      );
    }
    for (const table of props.tables) {
      for (const receiving of props.otherRegions) {
        alarm(
          `replication-${table}-${receiving}`,
          `${table}-replication-to-${receiving}`,
          {
            namespace: 'AWS/DynamoDB',
            metricName: 'ReplicationLatency',
            dimensions: { TableName: table, ReceivingRegion: receiving },
          },
          t.replicationLatencyMs ?? 5_000,
          `Replication of ${table} from ${props.region} to ${receiving} is slow`,
        );
      }
    }
    for (const cluster of props.databaseClusters) {
      alarm(
        `rpo-${cluster}`,
        `${cluster}-rpo-lag`,
        { namespace: 'AWS/RDS', metricName: 'AuroraGlobalDBRPOLag', dimensions: { DBClusterIdentifier: cluster } },
        t.rpoLagMs ?? 5_000,
        `Aurora global database RPO lag of ${cluster} is high`,
      );
    }
    this.alarmNames = names;
  }
}
