import { Construct } from 'constructs';
import { KinesisStream } from '@cdktf/provider-aws/lib/kinesis-stream/index.js';
import type { StreamName } from '../../../config/model.js';

export interface StreamsProps {
  /** Every stream of this region, from deriveNames() (one per hop of each app). */
  readonly streams: readonly StreamName[];
  readonly shardCount: number;
  readonly kmsKeyId: string;
  readonly retentionHours?: number;
}

/** The region's Kinesis data streams: provisioned shards from config, server-side encryption with the regional key. */
export class Streams extends Construct {
  /** Stream ARN by stream name. */
  readonly arnByName: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: StreamsProps) {
    super(scope, id);
    const arns: Record<string, string> = {};
    for (const stream of props.streams) {
      const resource = new KinesisStream(this, stream.name, {
        name: stream.name,
        shardCount: props.shardCount,
        streamModeDetails: { streamMode: 'PROVISIONED' },
        retentionPeriod: props.retentionHours ?? 24,
        encryptionType: 'KMS',
        kmsKeyId: props.kmsKeyId,
        shardLevelMetrics: ['IncomingRecords', 'IteratorAgeMilliseconds'],
        tags: { 'tsr:app': stream.app, 'tsr:stage': stream.stage },
      });
      arns[stream.name] = resource.arn;
    }
    this.arnByName = arns;
  }
}
