/**
 * How the local Kinesis engine keeps records, and stream retention on it (real kinesalite, LevelDB on disk, real sockets, the real SDK client):
 * a sweep deletes records older than the stream's retention and keeps the rest. The clock is moved forward in this
 * process (kinesalite runs in it) instead of waiting a day.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { jest } from '@jest/globals';
import { kinesisClient } from '../../src/clients/aws-clients.js';
import { createActiveStream } from '../../src/infra/local/provision.js';
import { startKinesisEngine } from '../../src/infra/local/engines/kinesis-engine.js';
import { sweepExpiredRecords } from '../../src/infra/local/engines/kinesis-retention.js';
import type { StartedEngine } from '../../src/infra/local/engines/server-util.js';
import { openRawLevel } from '../helpers/raw-level.js';
import { streamRecord } from '../helpers/typical-records.js';

const STREAM = 'retention-test';
const DAY_MS = 24 * 60 * 60 * 1000;

/** Every record of a one-shard stream, oldest first, as text. */
async function readStream(kinesis: KinesisClient, stream: string): Promise<string[]> {
  const { ShardIterator } = await kinesis.send(
    new GetShardIteratorCommand({
      StreamName: stream,
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    }),
  );
  const page = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 1_000 }));
  return (page.Records ?? []).map((r) => Buffer.from(r.Data as Uint8Array).toString());
}

describe('Kinesis records on the local engine’s disk', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tsr-kinesis-stored-'));
  let engine: StartedEngine | undefined;
  let kinesis: KinesisClient | undefined;

  const start = async (): Promise<KinesisClient> => {
    engine = await startKinesisEngine({ port: 0, dataDir });
    kinesis = kinesisClient({ region: 'us-east-1', endpoint: engine.endpoint });
    return kinesis;
  };
  const stop = async () => {
    kinesis?.destroy();
    await engine?.close();
    engine = undefined;
  };

  afterAll(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps records deflated, and still reads records stored as JSON', async () => {
    const first = await start();
    await createActiveStream(first, STREAM, 1);
    const texts = Array.from({ length: 100 }, (_, n) => Buffer.from(streamRecord(n).Data, 'base64').toString());
    for (const [n, text] of texts.entries()) {
      await first.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: `k${n}`, Data: Buffer.from(text) }));
    }
    await stop();

    // On disk: every record starts with the record layout's version byte, in under a quarter of kinesalite's JSON.
    const raw = openRawLevel(dataDir);
    await raw.open();
    let records = 0;
    let storedBytes = 0;
    let legacyKey: string | undefined;
    for await (const [key, value] of raw.iterator()) {
      if (!key.startsWith(`!stream-${STREAM}!`)) continue;
      records++;
      expect(value[0]).toBe(0x01);
      storedBytes += value.length;
      legacyKey ??= key;
    }
    const jsonBytes = texts.reduce((sum, text) => sum + Buffer.from(text).toString('base64').length + 70, 0);
    expect(records).toBe(100);
    expect(storedBytes).toBeLessThan(jsonBytes / 4);

    // A workspace written before: the first record stored as kinesalite's JSON reads back as it was.
    const legacy = {
      PartitionKey: 'k0',
      Data: Buffer.from(texts[0]).toString('base64'),
      ApproximateArrivalTimestamp: 1,
    };
    await raw.put(legacyKey as string, Buffer.from(JSON.stringify(legacy)));
    await raw.close();
    expect(await readStream(await start(), STREAM)).toEqual(texts);
  });
});

describe('the local Kinesis engine’s LevelDB', () => {
  it('opens with a small block cache (the 8 MiB default filled slowly over an hour)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tsr-kinesis-cache-'));
    const engine = await startKinesisEngine({ port: 0, dataDir }); // loads kinesalite through its loader
    await engine.close();
    // kinesalite's db module creates its LevelDB through `require('leveldown')`: what that gives opens with the cache.
    const leveldown = createRequire(createRequire(import.meta.url).resolve('kinesalite/db'))('leveldown') as (
      location: string,
    ) => { _open(options: object, callback: (error?: Error) => void): void };
    const prototype = Object.getPrototypeOf(leveldown(dataDir)) as { _open: (...args: unknown[]) => void };
    const opened = jest.spyOn(prototype, '_open');
    try {
      const again = await startKinesisEngine({ port: 0, dataDir });
      await again.close();
      expect(opened).toHaveBeenCalledWith(expect.objectContaining({ cacheSize: 2 * 2 ** 20 }), expect.any(Function));
    } finally {
      opened.mockRestore();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Kinesis retention on the local engine', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tsr-kinesis-retention-'));
  let engine: StartedEngine;
  let kinesis: KinesisClient;

  const put = (text: string) =>
    kinesis.send(new PutRecordCommand({ StreamName: STREAM, PartitionKey: 'k', Data: Buffer.from(text) }));
  const stored = async (): Promise<string[]> => readStream(kinesis, STREAM);

  beforeAll(async () => {
    engine = await startKinesisEngine({ port: 0, dataDir });
    kinesis = kinesisClient({ region: 'us-east-1', endpoint: engine.endpoint });
    await createActiveStream(kinesis, STREAM, 1);
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
