import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';

export interface ShardBacklog {
  readonly shardId: string;
  /** Records after the consumer's checkpoint, counted up to `limit`. */
  readonly pending: number;
  /** True when there were at least `limit` (the count is a lower bound). */
  readonly atLeast: boolean;
  /** Age of the oldest unprocessed record. */
  readonly oldestAgeMs?: number;
}

/**
 * Records a stream's consumers have not checkpointed yet, read from the stream itself after each shard's checkpoint
 * in the leases table: a real count, so "idle" means nothing is waiting, not that nobody reported.
 */
export async function streamBacklog(
  kinesis: KinesisClient,
  dynamo: DynamoDBClient,
  leaseTable: string,
  streamName: string,
  limit = 1_000,
): Promise<ShardBacklog[]> {
  const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  return Promise.all(
    Shards.map(async ({ ShardId }) => {
      const shardId = ShardId as string;
      const { Item } = await dynamo.send(
        new GetItemCommand({
          TableName: leaseTable,
          Key: { leaseKey: { S: `${streamName}|${shardId}` } },
          ConsistentRead: true,
        }),
      );
      const checkpoint = Item?.checkpoint?.S;
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ...(checkpoint && checkpoint !== 'SHARD_END'
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: checkpoint }
            : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      );
      if (checkpoint === 'SHARD_END') return { shardId, pending: 0, atLeast: false };
      const { Records = [] } = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: limit }));
      const oldest = Records[0]?.ApproximateArrivalTimestamp;
      return {
        shardId,
        pending: Records.length,
        atLeast: Records.length >= limit,
        oldestAgeMs: oldest ? Date.now() - oldest.getTime() : undefined,
      };
    }),
  );
}
