/**
 * Local DynamoDB replication numbers: write throughput through the engine front, replication throughput of the link,
 * and lag at rest, on a table shaped like the safe stores (keyed by id, with the time index). Run:
 * node --import tsx bench/dynamo-replication.ts [items]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
  type BatchWriteItemCommandOutput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { timeBucket } from '../src/config/table-schema.js';
import { startDynamoEngine } from '../src/infra/local/engines/dynamo-engine.js';
import { createTableInput } from '../src/infra/local/provision.js';
import {
  fetchReplicationLag,
  pauseReplication,
  resumeReplication,
  startDynamoReplicationLink,
} from '../src/infra/local/replication/dynamo-link.js';

const TABLE = 'bench-global';
const ITEMS = Number(process.argv[2] ?? 10_000);
const CONCURRENCY = 8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function client(endpoint: string, region: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

async function createTable(db: DynamoDBClient): Promise<void> {
  await db.send(new CreateTableCommand(createTableInput({ name: TABLE, global: true, purpose: 'safe-store' })));
  while ((await db.send(new DescribeTableCommand({ TableName: TABLE }))).Table?.TableStatus !== 'ACTIVE')
    await sleep(5);
}

async function writeItems(db: DynamoDBClient, prefix: string, count: number): Promise<void> {
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < count; i += 25) {
    batches.push(
      Array.from({ length: Math.min(25, count - i) }, (_, j) => ({
        PutRequest: {
          Item: {
            id: { S: `${prefix}-${i + j}` },
            timeBucket: { S: timeBucket(Date.now()) },
            acceptedAt: { N: String(Date.now()) },
            status: { S: 'UNMATCHED' },
            payload: { S: 'x'.repeat(200) },
            n: { N: String(i + j) },
          },
        },
      })),
    );
  }
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let pending: Record<string, WriteRequest[]> | undefined = { [TABLE]: batches[next++] };
      while (pending && Object.keys(pending).length > 0) {
        const out: BatchWriteItemCommandOutput = await db.send(new BatchWriteItemCommand({ RequestItems: pending }));
        pending = out.UnprocessedItems;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function count(db: DynamoDBClient, prefix: string): Promise<number> {
  let total = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: TABLE,
        Select: 'COUNT',
        FilterExpression: 'begins_with(id, :p)',
        ExpressionAttributeValues: { ':p': { S: `${prefix}-` } },
        ExclusiveStartKey: start,
      }),
    );
    total += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return total;
}

async function waitCaughtUp(linkEndpoint: string): Promise<void> {
  for (;;) {
    const rows = await fetchReplicationLag(linkEndpoint);
    if (rows.every((r) => r.pending === 0 && r.lagMs === 0 && r.healthy)) return;
    await sleep(2);
  }
}

const percentile = (values: number[], p: number) =>
  [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

async function main(): Promise<void> {
  const dirs = [mkdtempSync(join(tmpdir(), 'tsr-bench-a-')), mkdtempSync(join(tmpdir(), 'tsr-bench-b-'))];
  const a = await startDynamoEngine({ port: 0, dataDir: dirs[0], region: 'us-east-1' });
  const b = await startDynamoEngine({ port: 0, dataDir: dirs[1], region: 'us-west-2' });
  const dbA = client(a.endpoint, 'us-east-1');
  const dbB = client(b.endpoint, 'us-west-2');
  await createTable(dbA);
  await createTable(dbB);
  const link = await startDynamoReplicationLink({
    port: 0,
    regions: [
      { region: 'us-east-1', endpoint: a.endpoint },
      { region: 'us-west-2', endpoint: b.endpoint },
    ],
    tables: [TABLE],
  });
  try {
    // 1. Writes through the engine front while the link is paused (nothing competes for dynalite).
    await pauseReplication(link.endpoint);
    let t0 = performance.now();
    await writeItems(dbA, 'paused', ITEMS);
    const frontMs = performance.now() - t0;
    console.log(`writes through the front (BatchWriteItem, ${CONCURRENCY} in flight): ${rate(ITEMS, frontMs)}`);

    // 2. Replication of a backlog: resume and time until every item is applied in the other region.
    t0 = performance.now();
    await resumeReplication(link.endpoint);
    await waitCaughtUp(link.endpoint);
    const backlogMs = performance.now() - t0;
    if ((await count(dbB, 'paused')) !== ITEMS) throw new Error('backlog not fully replicated');
    console.log(`replication of a ${ITEMS}-item backlog: ${rate(ITEMS, backlogMs)}`);

    // 3. Live: write and replicate at the same time; time from first write until all are in the other region.
    t0 = performance.now();
    await writeItems(dbA, 'live', ITEMS);
    const writtenMs = performance.now() - t0;
    await waitCaughtUp(link.endpoint);
    const liveMs = performance.now() - t0;
    if ((await count(dbB, 'live')) !== ITEMS) throw new Error('live load not fully replicated');
    console.log(
      `live load of ${ITEMS} items: written in ${writtenMs.toFixed(0)} ms, all replicated ${liveMs.toFixed(0)} ms after the first write (${rate(ITEMS, liveMs)} end to end, replica ${(liveMs - writtenMs).toFixed(0)} ms behind the last write)`,
    );

    // 4. Lag at rest: what /lag reports with no load, and the write-to-visible latency of single puts.
    const reported: number[] = [];
    for (let i = 0; i < 40; i++) {
      reported.push(...(await fetchReplicationLag(link.endpoint)).map((r) => r.lagMs ?? -1));
      await sleep(25);
    }
    const visible: number[] = [];
    const acked: number[] = [];
    for (let i = 0; i < 100; i++) {
      const key = { id: { S: `single-${i}` } };
      const start = performance.now();
      await dbA.send(new PutItemCommand({ TableName: TABLE, Item: { ...key, v: { N: String(i) } } }));
      acked.push(performance.now() - start);
      while (!(await dbB.send(new GetItemCommand({ TableName: TABLE, Key: key, ConsistentRead: true }))).Item) {
        await sleep(1);
      }
      visible.push(performance.now() - start);
    }
    console.log(`lag at rest reported by /lag over 1 s: max ${Math.max(...reported)} ms`);
    console.log(
      `single PutItem acknowledged in us-east-1: median ${percentile(acked, 50).toFixed(1)} ms, p95 ${percentile(acked, 95).toFixed(1)} ms`,
    );
    console.log(
      `single PutItem in us-east-1 → visible in us-west-2 (pollIntervalMs 50): median ${percentile(visible, 50).toFixed(1)} ms, p95 ${percentile(visible, 95).toFixed(1)} ms, max ${Math.max(...visible).toFixed(1)} ms`,
    );
  } finally {
    dbA.destroy();
    dbB.destroy();
    await link.close();
    await a.close();
    await b.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

function rate(items: number, ms: number): string {
  return `${Math.round((items / ms) * 1000).toLocaleString('en-US')} items/s (${ms.toFixed(0)} ms)`;
}

await main();
