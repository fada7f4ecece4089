import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';

import type { AppName } from '../config/apps.js';
import type { ResourceNames } from '../config/model.js';
import type { StreamBacklog } from './capabilities.js';

export interface ShardBacklog {
  readonly shardId: string;
  /** Records after the consumer's checkpoint, counted up to `limit`. */
  readonly pending: number;
  /** True when there were at least `limit` (the count is a lower bound). */
  readonly atLeast: boolean;
  /** Age of the oldest unprocessed record. */
  readonly oldestAgeMs?: number;
}

/** Empty GetRecords pages followed on a shard that is still behind its newest record. */
const MAX_EMPTY_PAGES = 5;

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
      // Kinesis may answer an empty page while records lie further on (MillisBehindLatest > 0): follow the shard
      // until a page has records or it says we are at its newest record; a shard still behind after that many
      // empty pages counts as waiting (never as idle).
      let iterator = ShardIterator;
      for (let page = 0; page < MAX_EMPTY_PAGES; page++) {
        const answer = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
        const records = answer.Records ?? [];
        if (records.length) {
          const oldest = records[0].ApproximateArrivalTimestamp;
          return {
            shardId,
            pending: records.length,
            atLeast: records.length >= limit,
            oldestAgeMs: oldest ? Date.now() - oldest.getTime() : undefined,
          };
        }
        // At its newest record, or a closed shard read to its end (no next iterator): nothing waits.
        if (!answer.MillisBehindLatest || !answer.NextShardIterator) return { shardId, pending: 0, atLeast: false };
        iterator = answer.NextShardIterator;
      }
      return { shardId, pending: 1, atLeast: true };
    }),
  );
}

/** Records waiting after each stream consumer's checkpoint, per stage stream of an app in a region. */
export async function appStreamBacklogs(
  kinesis: KinesisClient,
  dynamo: DynamoDBClient,
  names: ResourceNames,
  app: AppName,
  region: string,
  limit?: number,
): Promise<StreamBacklog[]> {
  const leases = names.tables.find((t) => t.purpose === 'leases')?.name as string;
  return Promise.all(
    names.streams
      .filter((s) => s.app === app)
      .map(async ({ stage, name: stream }) => {
        const measuredAt = new Date().toISOString();
        try {
          const shards = await streamBacklog(kinesis, dynamo, leases, stream, limit);
          const ages = shards.map((s) => s.oldestAgeMs ?? 0);
          return {
            app,
            region,
            stream,
            stage,
            pending: shards.reduce((n, s) => n + s.pending, 0),
            ...(shards.some((s) => s.atLeast) ? { atLeast: true } : {}),
            iteratorAgeMs: Math.max(0, ...ages),
            measuredAt,
          };
        } catch (error) {
          return { app, region, stream, stage, measuredAt, detail: `cannot measure: ${(error as Error).message}` };
        }
      }),
  );
}
