/**
 * Stream retention on the local Kinesis engine (real kinesalite, LevelDB on disk, real sockets, the real SDK client):
 * a sweep deletes records older than the stream's retention and keeps the rest. The clock is moved forward in this
 * process (kinesalite runs in it) instead of waiting a day.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { jest } from '@jest/globals';
import { kinesisClient } from '../../src/clients/aws-clients.js';
import { startKinesisEngine } from '../../src/infra/local/engines/kinesis-engine.js';
import { sweepExpiredRecords } from '../../src/infra/local/engines/kinesis-retention.js';
import type { StartedEngine } from '../../src/infra/local/engines/server-util.js';

const STREAM = 'retention-test';
const DAY_MS = 24 * 60 * 60 * 1000;

describe('Kinesis retention on the local engine', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tsr-kinesis-retention-'));
  let engine: StartedEngine;
  let kinesis: KinesisClient;

  const put = (text: string) =>
    kinesis.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', Data: Buffer.from(text) }));
  const stored = async (): Promise<string[]> => {
    const { ShardIterator } = await kinesis.send(
      new GetShardIteratorCommand({
        StreamName: STREAM,
        ShardId: 'shardId-000000000000',
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const page = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 100 }));
    return (page.Records ?? []).map((r) => Buffer.from(r.Data as Uint8Array).toString());
  };

  beforeAll(async () => {
    engine = await startKinesisEngine({ port: 0, dataDir });
    kinesis = kinesisClient({ region: 'us-east-1', endpoint: engine.endpoint });
    await kinesis.send(new CreateStreamCommand({ StreamName: STREAM, ShardCount: 1 }));
  });

  afterAll(async () => {
    kinesis.destroy();
    await engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps records within retention', async () => {
    await put('fresh-1');
    await put('fresh-2');
    const swept = await sweepExpiredRecords(kinesis);
    expect(swept).toEqual({ streams: 1, shards: 1, calls: 1 }); // one read of one record: nothing expired
    expect(await stored()).toEqual(['fresh-1', 'fresh-2']);
  });

  it('deletes records older than the retention period (24 hours by default)', async () => {
    const now = Date.now();
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now + DAY_MS + 60_000);
    try {
      const swept = await sweepExpiredRecords(kinesis);
      expect(swept.calls).toBeGreaterThan(1); // read past the expired records to the shard's end
    } finally {
      clock.mockRestore();
    }
    await put('after-sweep');
    expect(await stored()).toEqual(['after-sweep']);
  });
});
