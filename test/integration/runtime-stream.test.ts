/**
 * The stream runtime against real engines over sockets: kinesalite for Kinesis, dynalite (through the local DynamoDB
 * engine) for leases and checkpoints. No mocks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { tableSchema } from '../../src/config/table-schema.js';
import { startDynamoEngine, type DynamoEngine } from '../../src/infra/local/engines/dynamo-engine.js';
import { startKinesisEngine } from '../../src/infra/local/engines/kinesis-engine.js';
import { createActiveStream } from '../../src/infra/local/provision.js';
import type { StartedEngine } from '../../src/infra/local/engines/server-util.js';
import { dynamoClient, kinesisClient } from '../../src/clients/aws-clients.js';
import {
  type ConsumedRecord,
  StreamConsumer,
  type StreamConsumerOptions,
} from '../../src/services/runtime/stream-consumer.js';
import {
  InvalidRecordError,
  PutRecordsFailedError,
  StreamProducer,
} from '../../src/services/runtime/stream-producer.js';
import { eventually } from '../helpers/eventually.js';

const REGION = 'us-east-1';
const LEASES = 'rt-leases';
const dir = mkdtempSync(join(tmpdir(), 'tsr-runtime-stream-'));
let kinesisEngine: StartedEngine;
let dynamoEngine: DynamoEngine;
let kinesis: KinesisClient;
let dynamo: DynamoDBClient;
const consumers: StreamConsumer[] = [];

/**
 * Waits until `c` has read every shard again and found nothing new (empty reads): after that, a record delivered
 * twice would already have shown. An observable condition instead of a fixed pause.
 */
async function drainedAgain(c: StreamConsumer): Promise<void> {
  const before = c.metrics().emptyReads;
  await eventually(() => c.metrics().emptyReads >= before + 2, { what: 'an empty read of every shard' });
}

let streamCount = 0;
async function newStream(shards = 2): Promise<string> {
  const name = `rt-stream-${++streamCount}`;
  await createActiveStream(kinesis, name, shards);
  return name;
}

interface Msg {
  key: string;
  n: number;
}

/** Records `count` messages over `keys` partition keys, numbered per key from `from`. */
function messages(keys: number, perKey: number, from = 0): { partitionKey: string; data: Msg }[] {
  const out: { partitionKey: string; data: Msg }[] = [];
  for (let n = from; n < from + perKey; n++) {
    for (let k = 0; k < keys; k++) out.push({ partitionKey: `key-${k}`, data: { key: `key-${k}`, n } });
  }
  return out;
}

/** Collects what handlers saw, per partition key, in delivery order. */
class Sink {
  readonly byKey = new Map<string, number[]>();
  total = 0;
  add(records: ConsumedRecord[]): void {
    for (const record of records) {
      const msg = record.json<Msg>();
      expect(record.partitionKey).toBe(msg.key);
      const list = this.byKey.get(msg.key) ?? [];
      list.push(msg.n);
      this.byKey.set(msg.key, list);
      this.total++;
    }
  }
  /** Distinct (key, n) pairs. */
  distinct(): number {
    let count = 0;
    for (const list of this.byKey.values()) count += new Set(list).size;
    return count;
  }
}

function consumer(
  opts: Partial<StreamConsumerOptions> & Pick<StreamConsumerOptions, 'streamName' | 'workerId' | 'handler'>,
) {
  const c = new StreamConsumer({
    kinesis,
    dynamo,
    leaseTable: LEASES,
    batchSize: 200,
    pollIntervalMs: 20,
    maxIdleMs: 100,
    leaseDurationMs: 1500,
    ...opts,
  });
  consumers.push(c);
  return c;
}

async function lease(stream: string, shardId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.send(
    new GetItemCommand({ TableName: LEASES, Key: { leaseKey: { S: `${stream}|${shardId}` } }, ConsistentRead: true }),
  );
  return Item ? unmarshall(Item) : undefined;
}

beforeAll(async () => {
  kinesisEngine = await startKinesisEngine({ port: 0, dataDir: join(dir, 'kinesis') });
  dynamoEngine = await startDynamoEngine({ port: 0, dataDir: join(dir, 'dynamo'), region: REGION });
  kinesis = kinesisClient({ region: REGION, endpoint: kinesisEngine.endpoint });
  dynamo = dynamoClient({ region: REGION, endpoint: dynamoEngine.endpoint });
  const schema = tableSchema({ name: LEASES, global: false, purpose: 'leases' });
  await dynamo.send(
    new CreateTableCommand({
      TableName: LEASES,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: schema.partitionKey, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: schema.partitionKey, KeyType: 'HASH' }],
    }),
  );
});

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.stop()));
});

afterAll(async () => {
  kinesis?.destroy();
  dynamo?.destroy();
  await kinesisEngine?.close();
  await dynamoEngine?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('5,000 records over 2 shards are consumed exactly once, in order per partition key, across checkpoints', async () => {
  const stream = await newStream(2);
  const producer = new StreamProducer(kinesis, stream);
  const sink = new Sink();
  const shardsSeen = new Set<string>();
  const c = consumer({
    streamName: stream,
    workerId: 'w-all',
    handler: async (records, shardId) => {
      shardsSeen.add(shardId);
      sink.add(records);
    },
  });
  const started = Date.now();
  await producer.put(messages(50, 100));
  const produced = Date.now();
  await c.start();
  // A bound on liveness, not a speed goal (the bench measures speed): generous for a loaded 2-core CI machine.
  await eventually(() => sink.total >= 5000, { timeoutMs: 30_000, what: 'all 5,000 records' });
  const consumed = Date.now();
  // Let a straggler (a duplicate) show itself if there were one.
  await drainedAgain(c);

  expect(sink.total).toBe(5000);
  expect(shardsSeen.size).toBe(2);
  for (let k = 0; k < 50; k++) expect(sink.byKey.get(`key-${k}`)).toEqual(Array.from({ length: 100 }, (_, n) => n));
  // Checkpoints are written behind the reader, and records are counted once a checkpoint covers them.
  await eventually(() => c.metrics().recordsIn >= 5000, { timeoutMs: 10_000, what: 'every batch checkpointed' });
  const m = c.metrics();
  expect(m.recordsIn).toBe(5000);
  expect(m.batches).toBeGreaterThanOrEqual(25); // batchSize 200
  expect(m.reads).toBeGreaterThanOrEqual(m.batches);
  expect(m.shardsOwned).toHaveLength(2);
  for (const shardId of m.shardsOwned) {
    const item = await lease(stream, shardId);
    expect(item?.owner).toBe('w-all');
    expect(item?.checkpoint).toBe(m.shards[shardId].checkpoint);
  }
  expect(producer.stats().records).toBe(5000);
  console.log(
    `stream: produced 5,000 in ${produced - started} ms (${Math.round(5000 / ((produced - started) / 1000))}/s), ` +
      `consumed in ${consumed - produced} ms (${Math.round(5000 / ((consumed - produced) / 1000))}/s)`,
  );
});

test('the producer refuses an oversized record before sending anything', async () => {
  const stream = await newStream(1);
  const producer = new StreamProducer(kinesis, stream);
  const big = 'x'.repeat(1024 * 1024);
  await expect(
    producer.put([
      { partitionKey: 'a', data: { ok: true } },
      { partitionKey: 'b', data: big },
    ]),
  ).rejects.toBeInstanceOf(InvalidRecordError);
  expect(producer.stats().calls).toBe(0);
});

test('stop finishes and checkpoints; a restart resumes from the checkpoint without loss or repeats', async () => {
  const stream = await newStream(2);
  const producer = new StreamProducer(kinesis, stream);
  await producer.put(messages(20, 50)); // 1,000
  const sink = new Sink();
  const handler = async (records: ConsumedRecord[]) => {
    await new Promise((r) => setTimeout(r, 5)); // handler work, so that stop() finds a batch in progress
    sink.add(records);
  };
  const first = consumer({ streamName: stream, workerId: 'w-restart', handler, batchSize: 50 });
  await first.start();
  await eventually(() => sink.total >= 300, { what: 'some records' });
  await first.stop();
  const atStop = sink.total;
  expect(atStop).toBeLessThan(1000);
  // Leases released on stop.
  for (const shardId of Object.keys(first.metrics().shards))
    expect((await lease(stream, shardId))?.owner).toBeUndefined();

  await producer.put(messages(20, 50, 50)); // 1,000 more
  const second = consumer({ streamName: stream, workerId: 'w-restart', handler, batchSize: 50 });
  await second.start();
  await eventually(() => sink.total >= 2000, { what: 'the rest' });
  await drainedAgain(second);
  expect(sink.total).toBe(2000);
  for (let k = 0; k < 20; k++) expect(sink.byKey.get(`key-${k}`)).toEqual(Array.from({ length: 100 }, (_, n) => n));
});

test('after a crash, the same worker id reclaims its leases at once (no wait for expiry)', async () => {
  const stream = await newStream(2);
  const producer = new StreamProducer(kinesis, stream);
  await producer.put(messages(10, 10));
  const sink = new Sink();
  const handler = async (records: ConsumedRecord[]) => sink.add(records);
  const first = consumer({ streamName: stream, workerId: 'w-reclaim', handler, leaseDurationMs: 30_000 });
  await first.start();
  await eventually(() => sink.total >= 100, { what: 'first records' });
  await first.crash();

  await producer.put(messages(10, 10, 10));
  const second = consumer({ streamName: stream, workerId: 'w-reclaim', handler, leaseDurationMs: 30_000 });
  await second.start();
  expect(second.metrics().shardsOwned).toHaveLength(2);
  // Well inside the 30 s lease: the leases were reclaimed, not waited out.
  await eventually(() => sink.distinct() >= 200, { timeoutMs: 3000, what: 'records after restart' });
});

test('a handler that throws gets the same batch again; nothing is skipped', async () => {
  const stream = await newStream(2);
  const producer = new StreamProducer(kinesis, stream);
  await producer.put(messages(10, 30)); // 300
  const sink = new Sink();
  const calls: { shardId: string; first: string; count: number; threw: boolean }[] = [];
  let thrown = false;
  const c = consumer({
    streamName: stream,
    workerId: 'w-throw',
    batchSize: 40,
    handler: async (records, shardId) => {
      const threw = !thrown;
      calls.push({ shardId, first: records[0].sequenceNumber, count: records.length, threw });
      if (threw) {
        thrown = true;
        throw new Error('downstream unavailable');
      }
      sink.add(records);
    },
  });
  await c.start();
  await eventually(() => sink.total >= 300, { what: 'all 300 records' });
  await drainedAgain(c);
  expect(sink.total).toBe(300);
  const failed = calls.find((call) => call.threw)!;
  const retried = calls.filter((call) => call.shardId === failed.shardId && !call.threw)[0];
  expect(retried.first).toBe(failed.first);
  expect(retried.count).toBe(failed.count);
  expect(c.metrics().handlerErrors).toBe(1);
  for (let k = 0; k < 10; k++) expect(sink.byKey.get(`key-${k}`)).toEqual(Array.from({ length: 30 }, (_, n) => n));
});

test('two workers split the shards; when one dies the other takes over its shards after expiry, losing nothing', async () => {
  const stream = await newStream(2);
  const producer = new StreamProducer(kinesis, stream);
  const sinks = { a: new Sink(), b: new Sink() };
  const a = consumer({ streamName: stream, workerId: 'w-a', handler: async (r) => sinks.a.add(r) });
  const b = consumer({ streamName: stream, workerId: 'w-b', handler: async (r) => sinks.b.add(r) });
  await Promise.all([a.start(), b.start()]);
  // Balancing takes a few lease rounds; with 1.5 s leases on a loaded machine (a CI run: both test workers deploying
  // platforms beside this process's engines) a late renewal lets a lease change hands again first.
  await eventually(() => a.metrics().shardsOwned.length === 1 && b.metrics().shardsOwned.length === 1, {
    timeoutMs: 45_000,
    what: 'one shard each',
  });
  expect(a.metrics().shardsOwned).not.toEqual(b.metrics().shardsOwned);

  await producer.put(messages(40, 25)); // 1,000
  await eventually(() => sinks.a.total + sinks.b.total >= 1000, { what: 'the first 1,000' });
  expect(sinks.a.total).toBeGreaterThan(0);
  expect(sinks.b.total).toBeGreaterThan(0);
  expect(sinks.a.total + sinks.b.total).toBe(1000);
  const aShard = a.metrics().shardsOwned[0];

  // From before the crash: a renewed at most one renewal interval before this moment, never after it.
  const crashedAt = Date.now();
  await a.crash(); // no release: its lease must expire
  await producer.put(messages(40, 25, 25)); // 1,000 more
  await eventually(() => b.metrics().shardsOwned.length === 2, { timeoutMs: 6000, what: 'b owning both shards' });
  const takeoverMs = Date.now() - crashedAt;
  expect(takeoverMs).toBeGreaterThanOrEqual(1000); // not before a's lease (1.5 s) ran out
  await eventually(
    () => {
      const seen = new Set<string>();
      for (const sink of [sinks.a, sinks.b])
        for (const [k, list] of sink.byKey) for (const n of list) seen.add(`${k}/${n}`);
      return seen.size === 2000;
    },
    { what: 'all 2,000 records (no loss)' },
  );
  expect((await lease(stream, aShard))?.owner).toBe('w-b');
  // Per key, b saw the second half in order.
  for (let k = 0; k < 40; k++) {
    const late = (sinks.b.byKey.get(`key-${k}`) ?? []).filter((n) => n >= 25);
    expect([...new Set(late)]).toEqual(Array.from({ length: 25 }, (_, i) => 25 + i));
  }
}, 120_000);

test('a worker that lost its lease mid-batch never checkpoints it and drops the shard', async () => {
  const stream = await newStream(1);
  const producer = new StreamProducer(kinesis, stream);
  await producer.put(messages(1, 20));
  let release!: () => void;
  const blocked = new Promise<void>((r) => (release = r));
  let calls = 0;
  const c = consumer({
    streamName: stream,
    workerId: 'w-loser',
    handler: async () => {
      calls++;
      await blocked;
    },
  });
  await c.start();
  await eventually(() => calls === 1, { what: 'the handler to hold a batch' });
  const shardId = c.metrics().shardsOwned[0];
  // Another worker takes the lease (e.g. this one stalled past its expiry).
  await dynamo.send(
    new UpdateItemCommand({
      TableName: LEASES,
      Key: { leaseKey: { S: `${stream}|${shardId}` } },
      UpdateExpression: 'SET #o = :o, leaseExpiresAt = :e, #c = #c + :one',
      ExpressionAttributeNames: { '#o': 'owner', '#c': 'counter' },
      ExpressionAttributeValues: {
        ':o': { S: 'intruder' },
        ':e': { N: String(Date.now() + 60_000) },
        ':one': { N: '1' },
      },
    }),
  );
  release();
  await eventually(() => c.metrics().leasesLost === 1, { what: 'the loss to be noticed' });
  // Nothing to observe: the point is that the consumer does NOT write the lease back during its next renewals.
  await new Promise((r) => setTimeout(r, 600));
  const item = await lease(stream, shardId);
  expect(item?.owner).toBe('intruder');
  expect(item?.checkpoint).toBeUndefined();
  expect(c.metrics().shardsOwned).toEqual([]);
  expect(c.metrics().recordsIn).toBe(0);
  expect(calls).toBe(1);
});

test('a checkpoint that cannot be written is read again from the last one written, and counted as redelivered', async () => {
  const stream = await newStream(1);
  const producer = new StreamProducer(kinesis, stream);
  // The lease table's DynamoDB answers every checkpoint write with an error while `failing` (an outage of the table
  // only, injected in the SDK client): leases are still renewed, progress cannot be recorded.
  const flaky = dynamoClient({ region: REGION, endpoint: dynamoEngine.endpoint });
  let failing = false;
  let refused = 0;
  flaky.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { UpdateExpression?: string };
      if (failing && input.UpdateExpression?.includes('#checkpoint =')) {
        refused++;
        throw Object.assign(new Error('injected: lease table unavailable'), { name: 'InternalServerError' });
      }
      return next(args);
    },
    { step: 'initialize', name: 'failCheckpoints' },
  );
  try {
    const sink = new Sink();
    const c = consumer({
      streamName: stream,
      workerId: 'w-redeliver',
      dynamo: flaky,
      handler: async (r) => sink.add(r),
    });
    await c.start();
    await producer.put(messages(5, 10)); // 50, checkpointed normally
    await eventually(() => c.metrics().recordsIn === 50, { what: 'the first 50 checkpointed' });
    failing = true;
    await producer.put(messages(5, 10, 10)); // 50 more: handled, but their checkpoint fails every attempt
    await eventually(() => sink.total >= 100 && refused >= 5, {
      what: 'the second 50 handled, their checkpoint refused',
    });
    failing = false;
    await eventually(() => c.metrics().recordsIn === 100, { what: 'the second 50 checkpointed after reading again' });
    await drainedAgain(c);
    const m = c.metrics();
    // Nothing lost or skipped; what the handler saw twice is exactly what the consumer counts as redelivered.
    expect(sink.distinct()).toBe(100);
    expect(m.recordsRedelivered).toBeGreaterThan(0);
    expect(sink.total).toBe(100 + m.recordsRedelivered);
    expect(m.recordsIn).toBe(100); // counted once, when checkpointed
    expect((await lease(stream, m.shardsOwned[0]))?.owner).toBe('w-redeliver');
  } finally {
    flaky.destroy();
  }
});

test('while isActive() is false nothing is read, but the leases are kept', async () => {
  const stream = await newStream(2);
  const producer = new StreamProducer(kinesis, stream);
  await producer.put(messages(10, 10));
  let active = false;
  const sink = new Sink();
  const c = consumer({
    streamName: stream,
    workerId: 'w-passive',
    isActive: () => active,
    handler: async (r) => sink.add(r),
    leaseDurationMs: 600,
  });
  await c.start();
  await new Promise((r) => setTimeout(r, 1200)); // twice the lease: renewals keep it
  expect(sink.total).toBe(0);
  expect(c.metrics().shardsOwned).toHaveLength(2);
  for (const shardId of c.metrics().shardsOwned) expect((await lease(stream, shardId))?.owner).toBe('w-passive');
  active = true;
  await eventually(() => sink.total >= 100, { what: 'records after activation' });
  expect(sink.total).toBe(100);
});

/**
 * A real HTTP hop in front of kinesalite that makes PutRecords entries fail the way Kinesis does under throttling:
 * the refused entries are not forwarded, and the answer marks them ProvisionedThroughputExceededException.
 */
async function startThrottlingProxy(target: string) {
  const plan = { failOddCalls: 0, failAll: false };
  const putCalls: { entries: number; failed: number }[] = [];
  const read = (req: IncomingMessage) =>
    new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
    });
  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>((resolve, reject) => {
      const url = new URL(target);
      const headers = { ...req.headers, 'content-length': String(body.length), host: url.host };
      const upstream = httpRequest(
        { host: url.hostname, port: url.port, method: req.method, path: req.url, headers },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () =>
            resolve({
              status: answer.statusCode ?? 502,
              headers: { 'content-type': String(answer.headers['content-type'] ?? 'application/x-amz-json-1.1') },
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await read(req);
      const isPut = String(req.headers['x-amz-target'] ?? '').endsWith('.PutRecords');
      if (!isPut || (plan.failOddCalls === 0 && !plan.failAll)) {
        if (isPut) putCalls.push({ entries: JSON.parse(body.toString()).Records.length, failed: 0 });
        const answer = await forward(req, body);
        res.writeHead(answer.status, answer.headers).end(answer.body);
        return;
      }
      const input = JSON.parse(body.toString()) as { Records: unknown[]; StreamName: string };
      const refused = (i: number) => plan.failAll || i % 2 === 1;
      const kept = input.Records.filter((_, i) => !refused(i));
      if (!plan.failAll) plan.failOddCalls--;
      putCalls.push({ entries: input.Records.length, failed: input.Records.length - kept.length });
      let results: unknown[] = [];
      if (kept.length) {
        const answer = await forward(req, Buffer.from(JSON.stringify({ ...input, Records: kept })));
        results = (JSON.parse(answer.body.toString()) as { Records: unknown[] }).Records;
      }
      let next = 0;
      const merged = input.Records.map((_, i) =>
        refused(i)
          ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' }
          : results[next++],
      );
      const text = JSON.stringify({ FailedRecordCount: input.Records.length - kept.length, Records: merged });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(text);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    plan,
    putCalls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

test('the producer retries only the entries Kinesis refused, and gives up after bounded attempts naming how many', async () => {
  const stream = await newStream(2);
  const proxy = await startThrottlingProxy(kinesisEngine.endpoint);
  const throttled = kinesisClient({ region: REGION, endpoint: proxy.endpoint });
  try {
    const producer = new StreamProducer(throttled, stream, { concurrency: 1, baseDelayMs: 5 });
    proxy.plan.failOddCalls = 2; // the first two calls lose every other entry
    await producer.put(messages(10, 100)); // 1,000: two calls of 500
    expect(proxy.putCalls[0]).toEqual({ entries: 500, failed: 250 });
    // The retry carries only the 250 refused entries (then it succeeds), before the next chunk.
    expect(proxy.putCalls[1]).toEqual({ entries: 250, failed: 125 });
    expect(proxy.putCalls.map((c) => c.entries).reduce((a, b) => a + b, 0)).toBe(1000 + 250 + 125);
    expect(producer.stats()).toMatchObject({ records: 1000, retriedEntries: 375, failedRecords: 0 });

    const sink = new Sink();
    const c = consumer({ streamName: stream, workerId: 'w-throttled', handler: async (r) => sink.add(r) });
    await c.start();
    await eventually(() => sink.total >= 1000, { what: 'all 1,000 records' });
    await drainedAgain(c);
    expect(sink.total).toBe(1000);
    expect(sink.distinct()).toBe(1000);

    proxy.plan.failAll = true;
    const stubborn = new StreamProducer(throttled, stream, { maxAttempts: 3, baseDelayMs: 5 });
    const error = await stubborn.put(messages(3, 10)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PutRecordsFailedError);
    expect((error as PutRecordsFailedError).failed).toBe(30);
    expect((error as Error).message).toMatch(
      /30 of 30 records were not accepted by Kinesis after 3 attempts \(ProvisionedThroughputExceededException\)/,
    );
  } finally {
    throttled.destroy();
    await proxy.close();
  }
});
