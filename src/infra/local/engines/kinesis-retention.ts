import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  ListStreamsCommand,
} from '@aws-sdk/client-kinesis';

/** How often a running engine sweeps (well inside Kinesis's 24-hour default retention). */
export const RETENTION_SWEEP_EVERY_MS = 10 * 60_000;
/**
 * Records read per call, growing: kinesalite counts expired records against the limit and deletes them, and returns
 * the rest, so a small first read costs little when nothing expired (the usual case) and later ones clear a backlog.
 * The sequence bounds one shard's sweep (about 41,000 expired records; the next sweep goes on).
 */
const READ_LIMITS = [1, 10, 100, 1_000, 10_000, 10_000, 10_000, 10_000];

export interface SweepResult {
  readonly streams: number;
  readonly shards: number;
  /** GetRecords calls made: at least one per shard; more where expired records were being deleted. */
  readonly calls: number;
}

/**
 * Enforces stream retention on kinesalite. Kinesis drops records older than the stream's retention period; kinesalite
 * deletes an expired record only when a reader reads past it, and our consumers resume from checkpoints, so nothing
 * expired would ever leave the disk of a platform that runs for days. A sweep reads every shard from TRIM_HORIZON
 * until it meets a record still within retention (kinesalite deletes what it passed on the way) — one call of one
 * record per shard when nothing has expired.
 */
export async function sweepExpiredRecords(kinesis: KinesisClient): Promise<SweepResult> {
  let streams = 0;
  let shards = 0;
  let calls = 0;
  let startAfter: string | undefined;
  for (;;) {
    const page = await kinesis.send(new ListStreamsCommand({ ExclusiveStartStreamName: startAfter }));
    for (const stream of page.StreamNames ?? []) {
      streams++;
      const listed = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
      for (const shard of listed.Shards ?? []) {
        shards++;
        calls += await sweepShard(kinesis, stream, shard.ShardId as string);
      }
    }
    if (!page.HasMoreStreams || !page.StreamNames?.length) break;
    startAfter = page.StreamNames.at(-1);
  }
  return { streams, shards, calls };
}

async function sweepShard(kinesis: KinesisClient, stream: string, shardId: string): Promise<number> {
  const { ShardIterator } = await kinesis.send(
    new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  let iterator = ShardIterator;
  let calls = 0;
  for (const limit of READ_LIMITS) {
    if (!iterator) break;
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
    calls++;
    // A record within retention came back: everything before it was expired and is deleted now. An empty page means
    // expired records were deleted or the shard has no more: read on, with a larger limit, up to the bound.
    if ((page.Records?.length ?? 0) > 0) break;
    iterator = page.NextShardIterator;
  }
  return calls;
}
