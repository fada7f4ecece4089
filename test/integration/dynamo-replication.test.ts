/**
 * Local DynamoDB global tables: real dynalite engines, real sockets, the real AWS SDK client, a real replication link.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  CreateTableCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { startDynamoEngine, type ChangesPage, type DynamoEngine } from '../../src/infra/local/engines/dynamo-engine.js';
import {
  fetchReplicationLag,
  forgetLostRegion,
  pauseReplication,
  resumeReplication,
  setReplicationDelay,
  startDynamoReplicationLink,
  type DynamoReplicationLink,
  type TableLag,
} from '../../src/infra/local/replication/dynamo-link.js';
import { eventually } from '../helpers/eventually.js';

const GLOBAL = 'tsr-test-tm-core';
const REGIONAL = 'tsr-test-leases';

type Key = Record<string, AttributeValue>;

function client(endpoint: string, region: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

async function createTables(db: DynamoDBClient): Promise<void> {
  await db.send(
    new CreateTableCommand({
      TableName: GLOBAL,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
        { AttributeName: 'bucket', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      // Like the safe stores' time index (sparse: only items with a bucket are in it).
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-bucket',
          KeySchema: [{ AttributeName: 'bucket', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await db.send(
    new CreateTableCommand({
      TableName: REGIONAL,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (const table of [GLOBAL, REGIONAL]) {
    await eventually(
      async () => {
        const described = await db.send(new DescribeTableCommand({ TableName: table }));
        return described.Table?.TableStatus === 'ACTIVE' ? true : undefined;
      },
      { what: `${table} ACTIVE` },
    );
  }
}

const key = (pk: string, sk = 0): Key => ({ pk: { S: pk }, sk: { N: String(sk) } });

async function getItem(
  db: DynamoDBClient,
  k: Key,
  table = GLOBAL,
): Promise<Record<string, AttributeValue> | undefined> {
  const got = await db.send(new GetItemCommand({ TableName: table, Key: k, ConsistentRead: true }));
  return got.Item;
}

async function countItems(db: DynamoDBClient, prefix: string): Promise<number> {
  let count = 0;
  let start: Key | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: GLOBAL,
        Select: 'COUNT',
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': { S: prefix } },
        ExclusiveStartKey: start,
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

async function batchWrite(db: DynamoDBClient, requests: WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending: Record<string, WriteRequest[]> | undefined = { [GLOBAL]: requests.slice(i, i + 25) };
    while (pending && Object.keys(pending).length > 0) {
      const result: BatchWriteItemCommandOutput = await db.send(new BatchWriteItemCommand({ RequestItems: pending }));
      pending = result.UnprocessedItems;
    }
  }
}

async function getJson<T>(url: string, method = 'GET', body?: string): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // keep text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed as T });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function lagRow(link: DynamoReplicationLink, from: string, to: string, table = GLOBAL): Promise<TableLag> {
  const { body } = await getJson<TableLag[]>(`${link.endpoint}/lag`);
  const row = body.find((r) => r.from === from && r.to === to && r.table === table);
  if (!row) throw new Error(`no lag row ${table} ${from}→${to} in ${JSON.stringify(body)}`);
  return row;
}

async function caughtUp(link: DynamoReplicationLink): Promise<true | undefined> {
  const { body } = await getJson<TableLag[]>(`${link.endpoint}/lag`);
  return body.length > 0 && body.every((r) => r.pending === 0 && r.lagMs === 0 && r.healthy) ? true : undefined;
}

async function engineHealth(engine: { endpoint: string }): Promise<{ lastSeq: number; feedSize: number }> {
  return (await getJson<{ lastSeq: number; feedSize: number }>(`${engine.endpoint}/_tsr/health`)).body;
}

describe('DynamoDB global tables on the local target: two regions', () => {
  const dirs: string[] = [];
  let a: DynamoEngine;
  let b: DynamoEngine;
  let bDir: string;
  let link: DynamoReplicationLink;
  let dbA: DynamoDBClient;
  let dbB: DynamoDBClient;

  beforeAll(async () => {
    const aDir = mkdtempSync(join(tmpdir(), 'tsr-ddb-a-'));
    bDir = mkdtempSync(join(tmpdir(), 'tsr-ddb-b-'));
    dirs.push(aDir, bDir);
    a = await startDynamoEngine({ port: 0, dataDir: aDir, region: 'us-east-1' });
    b = await startDynamoEngine({ port: 0, dataDir: bDir, region: 'us-west-2' });
    dbA = client(a.endpoint, 'us-east-1');
    dbB = client(b.endpoint, 'us-west-2');
    await createTables(dbA);
    await createTables(dbB);
    link = await startDynamoReplicationLink({
      port: 0,
      regions: [
        { region: 'us-east-1', endpoint: a.endpoint },
        { region: 'us-west-2', endpoint: b.endpoint },
      ],
      tables: [GLOBAL],
      pollIntervalMs: 20,
    });
  });

  afterAll(async () => {
    dbA?.destroy();
    dbB?.destroy();
    await link?.close();
    await a?.close();
    await b?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('binds 127.0.0.1 and reports every global table for both directions', async () => {
    expect(a.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(link.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const rows = await fetchReplicationLag(link.endpoint);
    expect(rows.map((r) => `${r.resource} ${r.from}→${r.to}`).sort()).toEqual([
      `${GLOBAL} us-east-1→us-west-2`,
      `${GLOBAL} us-west-2→us-east-1`,
    ]);
    for (const row of rows) expect(row).toMatchObject({ kind: 'table', healthy: true });
  });

  it('replicates PutItem, UpdateItem and DeleteItem from A to B', async () => {
    const k = key('crud-1', 7);
    await dbA.send(
      new PutItemCommand({ TableName: GLOBAL, Item: { ...k, status: { S: 'UNMATCHED' }, qty: { N: '100' } } }),
    );
    await eventually(async () => ((await getItem(dbB, k))?.status?.S === 'UNMATCHED' ? true : undefined), {
      what: 'put in B',
    });

    await dbA.send(
      new UpdateItemCommand({
        TableName: GLOBAL,
        Key: k,
        UpdateExpression: 'SET #s = :s ADD qty :d',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'MATCHED' }, ':d': { N: '5' } },
      }),
    );
    const updated = await eventually(
      async () => {
        const item = await getItem(dbB, k);
        return item?.status?.S === 'MATCHED' ? item : undefined;
      },
      { what: 'update in B' },
    );
    expect(updated).toEqual({ ...k, status: { S: 'MATCHED' }, qty: { N: '105' } });

    await dbA.send(new DeleteItemCommand({ TableName: GLOBAL, Key: k }));
    await eventually(async () => ((await getItem(dbB, k)) === undefined ? true : undefined), { what: 'delete in B' });
  });

  it('answers an UpdateItem with the ReturnValues the caller asked for, whatever the front needs for the feed', async () => {
    const k = key('returns-1', 3);
    const update = (ReturnValues?: 'ALL_NEW' | 'ALL_OLD' | 'UPDATED_NEW', n = '1') =>
      dbA.send(
        new UpdateItemCommand({
          TableName: GLOBAL,
          Key: k,
          UpdateExpression: 'SET n = :n',
          ExpressionAttributeValues: { ':n': { N: n } },
          ReturnValues,
        }),
      );
    expect((await update(undefined, '1')).Attributes).toBeUndefined();
    expect((await update('ALL_NEW', '2')).Attributes).toEqual({ ...k, n: { N: '2' } });
    expect((await update('ALL_OLD', '3')).Attributes).toEqual({ ...k, n: { N: '2' } });
    expect((await update('UPDATED_NEW', '4')).Attributes).toEqual({ n: { N: '4' } });
    const replicated = await eventually(
      async () => {
        const item = await getItem(dbB, k);
        return item?.n?.N === '4' ? item : undefined;
      },
      { what: 'last update in B' },
    );
    expect(replicated).toEqual({ ...k, n: { N: '4' } });
  });

  it('does not record failed writes (a failed condition is not a change)', async () => {
    const k = key('cond-1');
    await dbA.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...k, v: { S: 'one' } } }));
    const before = await engineHealth(a);
    await expect(
      dbA.send(
        new PutItemCommand({
          TableName: GLOBAL,
          Item: { ...k, v: { S: 'two' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    expect((await engineHealth(a)).lastSeq).toBe(before.lastSeq);
  });

  it('replicates a BatchWriteItem load of 1,000 items', async () => {
    const requests: WriteRequest[] = Array.from({ length: 1000 }, (_, i) => ({
      PutRequest: { Item: { ...key('batch', i), payload: { S: `item-${i}` }, n: { N: String(i) } } },
    }));
    const started = Date.now();
    await batchWrite(dbA, requests);
    const written = Date.now();
    await eventually(async () => ((await countItems(dbB, 'batch')) === 1000 ? true : undefined), {
      what: '1,000 items in B',
    });
    const replicated = Date.now();
    console.log(
      `BatchWriteItem 1,000 items: written in ${written - started} ms, all in the other region ${replicated - started} ms after the first write`,
    );
    expect(await getItem(dbB, key('batch', 999))).toEqual({
      ...key('batch', 999),
      payload: { S: 'item-999' },
      n: { N: '999' },
    });
    // A batch of deletes replicates too.
    await batchWrite(
      dbA,
      Array.from({ length: 100 }, (_, i) => ({ DeleteRequest: { Key: key('batch', i) } })),
    );
    await eventually(async () => ((await countItems(dbB, 'batch')) === 900 ? true : undefined), {
      what: 'deletes in B',
    });
  });

  it('never replicates a regional table', async () => {
    await dbA.send(new PutItemCommand({ TableName: REGIONAL, Item: { id: { S: 'lease-1' }, owner: { S: 'a' } } }));
    // Per-source order is kept: once a later global write has arrived, the regional one would have too.
    await dbA.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...key('marker-regional'), v: { S: 'x' } } }));
    await eventually(async () => ((await getItem(dbB, key('marker-regional'))) ? true : undefined), {
      what: 'marker in B',
    });
    await eventually(() => caughtUp(link), { what: 'caught up' });
    expect(await getItem(dbB, { id: { S: 'lease-1' } }, REGIONAL)).toBeUndefined();
    expect(await getItem(dbA, { id: { S: 'lease-1' } }, REGIONAL)).toBeDefined();
    const rows = await fetchReplicationLag(link.endpoint);
    expect(rows.some((r) => r.resource === REGIONAL)).toBe(false);
  });

  it("keeps the replica's secondary index: replicated puts, moves and deletes show in B's index", async () => {
    const inBucket = async (db: DynamoDBClient, bucket: string) =>
      (
        await db.send(
          new QueryCommand({
            TableName: GLOBAL,
            IndexName: 'by-bucket',
            KeyConditionExpression: '#b = :b',
            ExpressionAttributeNames: { '#b': 'bucket' },
            ExpressionAttributeValues: { ':b': { S: bucket } },
          }),
        )
      ).Items?.map((item) => item.pk.S)
        .sort()
        .join(',');
    for (const pk of ['ix-1', 'ix-2', 'ix-3'])
      await dbA.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...key(pk), bucket: { S: 'm1' } } }));
    await dbA.send(
      new UpdateItemCommand({
        TableName: GLOBAL,
        Key: key('ix-2'),
        UpdateExpression: 'SET #b = :b',
        ExpressionAttributeNames: { '#b': 'bucket' },
        ExpressionAttributeValues: { ':b': { S: 'm2' } },
      }),
    );
    await dbA.send(new DeleteItemCommand({ TableName: GLOBAL, Key: key('ix-3') }));
    await eventually(() => caughtUp(link), { what: 'caught up' });
    expect(await inBucket(dbB, 'm1')).toBe('ix-1');
    expect(await inBucket(dbB, 'm2')).toBe('ix-2');
    expect([await inBucket(dbA, 'm1'), await inBucket(dbA, 'm2')]).toEqual(['ix-1', 'ix-2']);
  });

  it('a table deleted and created again with another key is written by its new description, not a kept one', async () => {
    const table = 'tsr-test-recreated';
    const activeOrGone = async (want: 'ACTIVE' | 'gone') =>
      eventually(
        async () => {
          try {
            const status = (await dbA.send(new DescribeTableCommand({ TableName: table }))).Table?.TableStatus;
            return status === want ? true : undefined;
          } catch (error) {
            return want === 'gone' && (error as Error).name === 'ResourceNotFoundException' ? true : undefined;
          }
        },
        { what: `${table} ${want}` },
      );
    await dbA.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await activeOrGone('ACTIVE');
    await dbA.send(new PutItemCommand({ TableName: table, Item: { id: { S: 'old' } } }));
    await dbA.send(new DeleteTableCommand({ TableName: table }));
    await activeOrGone('gone');
    await dbA.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'code', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'code', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await activeOrGone('ACTIVE');
    await dbA.send(new PutItemCommand({ TableName: table, Item: { code: { S: 'new' } } }));
    const got = await dbA.send(new GetItemCommand({ TableName: table, Key: { code: { S: 'new' } } }));
    expect(got.Item?.code.S).toBe('new');
    await expect(dbA.send(new PutItemCommand({ TableName: table, Item: { id: { S: 'x' } } }))).rejects.toThrow(/key/i);
  });

  it('replicates a write in B to A without bouncing it back', async () => {
    await eventually(() => caughtUp(link), { what: 'caught up' });
    const aBefore = await engineHealth(a);
    const bBefore = await engineHealth(b);
    const k = key('from-b');
    await dbB.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...k, v: { S: 'b' } } }));
    await eventually(async () => ((await getItem(dbA, k))?.v?.S === 'b' ? true : undefined), { what: 'B write in A' });
    await eventually(() => caughtUp(link), { what: 'caught up' });
    // The applied change is not in A's feed, so nothing goes back to B; B's feed holds exactly its own write.
    expect((await engineHealth(a)).lastSeq).toBe(aBefore.lastSeq);
    expect((await engineHealth(b)).lastSeq).toBe(bBefore.lastSeq + 1);
    // Both feeds are trimmed once applied everywhere.
    await eventually(
      async () => ((await engineHealth(a)).feedSize === 0 && (await engineHealth(b)).feedSize === 0 ? true : undefined),
      { what: 'feeds trimmed' },
    );
  });

  it('converges conflicting writes by last-writer-wins', async () => {
    await pauseReplication(link.endpoint);
    try {
      const k1 = key('conflict-1');
      const k2 = key('conflict-2');
      await dbA.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...k1, v: { S: 'a-first' } } }));
      await dbB.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...k2, v: { S: 'b-first' } } }));
      await new Promise((resolve) => setTimeout(resolve, 5)); // distinct timestamps, so the later writer is clear
      await dbB.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...k1, v: { S: 'b-last' } } }));
      await dbA.send(
        new UpdateItemCommand({
          TableName: GLOBAL,
          Key: k2,
          UpdateExpression: 'SET v = :v',
          ExpressionAttributeValues: { ':v': { S: 'a-last' } },
        }),
      );
      // Both directions now carry a conflicting change.
      await eventually(
        async () => {
          const ab = await lagRow(link, 'us-east-1', 'us-west-2');
          const ba = await lagRow(link, 'us-west-2', 'us-east-1');
          return ab.pending >= 2 && ba.pending >= 2 ? true : undefined;
        },
        { what: 'both directions pending' },
      );
    } finally {
      await resumeReplication(link.endpoint);
    }
    await eventually(() => caughtUp(link), { what: 'caught up' });
    for (const db of [dbA, dbB]) {
      expect((await getItem(db, key('conflict-1')))?.v?.S).toBe('b-last');
      expect((await getItem(db, key('conflict-2')))?.v?.S).toBe('a-last');
    }
  });

  it('measures growing lag while paused and none once resumed', async () => {
    await eventually(() => caughtUp(link), { what: 'caught up' });
    const state = await pauseReplication(link.endpoint);
    expect(state.paused).toBe(true);
    let resumed = false;
    try {
      for (let i = 0; i < 10; i++) {
        await dbA.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...key('paused', i), v: { N: String(i) } } }));
      }
      const first = await eventually(
        async () => {
          const row = await lagRow(link, 'us-east-1', 'us-west-2');
          return row.pending === 10 ? row : undefined;
        },
        { what: '10 pending' },
      );
      expect(first.healthy).toBe(true);
      expect(first.detail).toMatch(/paused/);
      await dbA.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...key('paused', 10), v: { N: '10' } } }));
      const later = await eventually(
        async () => {
          const row = await lagRow(link, 'us-east-1', 'us-west-2');
          return row.pending === 11 && row.lagMs >= first.lagMs + 100 ? row : undefined;
        },
        { what: 'lag grows' },
      );
      expect(later.lagMs).toBeGreaterThan(first.lagMs);
      expect(await getItem(dbB, key('paused', 0))).toBeUndefined();
      // The platform client reads the same numbers.
      const platformRow = (await fetchReplicationLag(link.endpoint)).find(
        (r) => r.from === 'us-east-1' && r.to === 'us-west-2',
      );
      expect(platformRow?.pending).toBe(11);
      expect(platformRow?.lagMs).toBeGreaterThanOrEqual(later.lagMs);
      await resumeReplication(link.endpoint);
      resumed = true;
    } finally {
      if (!resumed) await resumeReplication(link.endpoint);
    }
    await eventually(() => caughtUp(link), { what: 'caught up' });
    const row = await lagRow(link, 'us-east-1', 'us-west-2');
    expect(row).toMatchObject({ pending: 0, lagMs: 0, healthy: true });
    expect(await countItems(dbB, 'paused')).toBe(11);
  });

  it('holds changes back by the configured delay', async () => {
    await setReplicationDelay(link.endpoint, 400);
    try {
      const k = key('delayed');
      const written = Date.now();
      await dbA.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...k, v: { S: 'late' } } }));
      await eventually(async () => ((await getItem(dbB, k)) ? true : undefined), {
        timeoutMs: 10_000,
        intervalMs: 10,
        what: 'delayed write in B',
      });
      expect(Date.now() - written).toBeGreaterThanOrEqual(390);
    } finally {
      await setReplicationDelay(link.endpoint, 0);
    }
    await expect(setReplicationDelay(link.endpoint, -1)).rejects.toThrow(/whole number/);
    expect((await getJson(`${link.endpoint}/delay?ms=abc`, 'POST')).status).toBe(400);
  });

  it('keeps changes for a target that is down and applies them once it is back', async () => {
    await eventually(() => caughtUp(link), { what: 'caught up' });
    const port = b.port;
    dbB.destroy();
    await b.close();
    for (let i = 0; i < 50; i++) {
      await dbA.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...key('outage', i), v: { N: String(i) } } }));
    }
    const down = await eventually(
      async () => {
        const row = await lagRow(link, 'us-east-1', 'us-west-2');
        return !row.healthy && row.pending === 50 ? row : undefined;
      },
      { what: 'unhealthy with 50 pending' },
    );
    expect(down.detail).toMatch(/us-west-2/);
    const worse = await eventually(
      async () => {
        const row = await lagRow(link, 'us-east-1', 'us-west-2');
        return row.lagMs > down.lagMs + 100 ? row : undefined;
      },
      { what: 'lag keeps growing' },
    );
    expect(worse.pending).toBe(50);
    expect(worse.healthy).toBe(false);
    // The other direction cannot read B's feed: unhealthy, and its lag is not reported as zero.
    const fromB = await eventually(
      async () => {
        const row = await lagRow(link, 'us-west-2', 'us-east-1');
        return !row.healthy && row.lagMs > 0 ? row : undefined;
      },
      { what: 'B→A unhealthy' },
    );
    expect(fromB.detail).toMatch(/did not answer/);

    b = await startDynamoEngine({ port, dataDir: bDir, region: 'us-west-2' });
    dbB = client(b.endpoint, 'us-west-2');
    await eventually(async () => ((await countItems(dbB, 'outage')) === 50 ? true : undefined), {
      what: '50 outage items in B',
    });
    await eventually(() => caughtUp(link), { what: 'caught up after the outage' });
    // Data written before the outage survived the restart (persistent dataDir).
    expect(await countItems(dbB, 'batch')).toBe(900);
  });

  it("forgets a lost region's changes it had not applied, and delivers them from the region's feed once it is back", async () => {
    await eventually(() => caughtUp(link), { what: 'caught up' });
    await pauseReplication(link.endpoint);
    for (let i = 0; i < 20; i++) {
      await dbA.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...key('lost-src', i), v: { N: String(i) } } }));
    }
    // Pulled into the link (which outlives the region), not applied: the pause.
    await eventually(async () => ((await lagRow(link, 'us-east-1', 'us-west-2')).pending === 20 ? true : undefined), {
      what: '20 held by the link',
    });
    const port = a.port;
    dbA.destroy();
    await a.close();
    expect((await getJson(`${link.endpoint}/lost?region=nowhere`, 'POST')).status).toBe(400);
    await forgetLostRegion(link.endpoint, 'us-east-1');
    await resumeReplication(link.endpoint);
    await eventually(async () => ((await lagRow(link, 'us-east-1', 'us-west-2')).pending === 0 ? true : undefined), {
      what: 'the link forgot them',
    });
    expect(await countItems(dbB, 'lost-src')).toBe(0); // gone with the region, as on AWS
    a = await startDynamoEngine({ port, dataDir: dirs[0], region: 'us-east-1' });
    dbA = client(a.endpoint, 'us-east-1');
    await eventually(async () => ((await countItems(dbB, 'lost-src')) === 20 ? true : undefined), {
      what: "the region's unreplicated changes delivered once it is back",
    });
    await eventually(() => caughtUp(link), { what: 'caught up after the region came back' });
  });

  it('answers malformed requests with errors and keeps serving', async () => {
    const headers = {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'DynamoDB_20120810.PutItem',
      authorization:
        'AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
      'x-amz-date': '20240101T000000Z',
    };
    const post = (body: string, extra: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          `${a.endpoint}/`,
          { method: 'POST', headers: { ...headers, ...extra }, agent: false },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    expect(await post('null')).toBe(400);
    expect(await post('{not json')).toBe(400);
    expect(await post('[1,2]')).toBe(400);
    expect(await post('{"TableName":"nope","Item":{"pk":{"S":"x"}}}')).toBe(400);
    expect(await post('{"RequestItems":{"x":[null]}}', { 'x-amz-target': 'DynamoDB_20120810.BatchWriteItem' })).toBe(
      400,
    );
    expect(await post('{}', { 'x-amz-target': 'DynamoDB_20120810.NoSuchOperation' })).toBe(400);
    expect(await post('{}', { authorization: '' })).toBe(400);

    // A client that hangs up in the middle of its request.
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${a.endpoint}/`, {
        method: 'POST',
        headers: { ...headers, 'content-length': '1000' },
        agent: false,
      });
      req.on('error', () => resolve());
      req.write('{"TableName":');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 20);
    });
    // Not HTTP at all.
    await new Promise<void>((resolve) => {
      const socket = connect(a.port, '127.0.0.1', () => socket.end('GARBAGE\r\n\r\n'));
      socket.on('data', () => undefined);
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });

    expect((await getJson(`${a.endpoint}/_tsr/changes?after=abc`)).status).toBe(400);
    expect((await getJson(`${a.endpoint}/_tsr/trim`, 'POST')).status).toBe(400);
    expect((await getJson(`${a.endpoint}/_tsr/nothing`)).status).toBe(404);
    expect((await getJson(`${a.endpoint}/_tsr/apply`, 'POST', 'null')).status).toBe(400);
    expect((await getJson(`${a.endpoint}/_tsr/apply`, 'POST', '{"changes":[{"table":"t","op":"put"}]}')).status).toBe(
      400,
    );
    const missingTable = await getJson<{ error: string }>(
      `${a.endpoint}/_tsr/apply`,
      'POST',
      JSON.stringify({
        changes: [{ table: 'no-such-table', key: { pk: { S: 'x' } }, op: 'delete', ts: Date.now(), origin: 'x' }],
      }),
    );
    expect(missingTable.status).toBe(409);
    expect(missingTable.body.error).toMatch(/ResourceNotFound/);
    await expect(
      dbA.send(new PutItemCommand({ TableName: 'no-such-table', Item: { pk: { S: 'x' } } })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    // Still serving DynamoDB and replication.
    const tables = await dbA.send(new ListTablesCommand({}));
    expect(tables.TableNames).toEqual(expect.arrayContaining([GLOBAL, REGIONAL]));
    await dbA.send(new PutItemCommand({ TableName: GLOBAL, Item: { ...key('after-garbage'), v: { S: 'ok' } } }));
    await eventually(async () => ((await getItem(dbB, key('after-garbage'))) ? true : undefined), {
      what: 'replicated after garbage',
    });
  });
});

describe('DynamoDB global tables on the local target: three regions', () => {
  const regions = ['us-east-1', 'us-west-2', 'eu-west-1'];
  const dirs: string[] = [];
  const engines: DynamoEngine[] = [];
  const clients: DynamoDBClient[] = [];
  let link: DynamoReplicationLink;

  beforeAll(async () => {
    for (const region of regions) {
      const dir = mkdtempSync(join(tmpdir(), `tsr-ddb-${region}-`));
      dirs.push(dir);
      const engine = await startDynamoEngine({ port: 0, dataDir: dir, region });
      engines.push(engine);
      const db = client(engine.endpoint, region);
      clients.push(db);
      await createTables(db);
    }
    link = await startDynamoReplicationLink({
      port: 0,
      regions: regions.map((region, i) => ({ region, endpoint: engines[i].endpoint })),
      tables: [GLOBAL],
      pollIntervalMs: 20,
    });
  });

  afterAll(async () => {
    for (const db of clients) db.destroy();
    await link?.close();
    for (const engine of engines) await engine.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('replicates every region to every other and converges a three-way conflict', async () => {
    const lag = await fetchReplicationLag(link.endpoint);
    expect(lag).toHaveLength(6);

    for (let r = 0; r < regions.length; r++) {
      await clients[r].send(
        new PutItemCommand({ TableName: GLOBAL, Item: { ...key(`three-${regions[r]}`), v: { S: regions[r] } } }),
      );
    }
    for (const db of clients) {
      for (const region of regions) {
        await eventually(
          async () => ((await getItem(db, key(`three-${region}`)))?.v?.S === region ? true : undefined),
          { what: `${region} item everywhere` },
        );
      }
    }

    await pauseReplication(link.endpoint);
    try {
      for (let r = 0; r < regions.length; r++) {
        await clients[r].send(
          new PutItemCommand({ TableName: GLOBAL, Item: { ...key('three-way'), v: { S: regions[r] } } }),
        );
        await new Promise((resolve) => setTimeout(resolve, 5)); // distinct timestamps: the last writer wins
      }
    } finally {
      await resumeReplication(link.endpoint);
    }
    await eventually(() => caughtUp(link), { what: 'caught up' });
    for (const db of clients) expect((await getItem(db, key('three-way')))?.v?.S).toBe('eu-west-1');
    // Every feed holds nothing but what was not yet applied everywhere: nothing.
    for (const engine of engines) {
      const page = await eventually(
        async () => {
          const body = (await getJson<ChangesPage>(`${engine.endpoint}/_tsr/changes?after=0`)).body;
          return body.changes.length === 0 ? body : undefined;
        },
        { what: 'feed trimmed' },
      );
      expect(page.lastSeq).toBe(2); // its own two writes, nothing bounced back
    }
  });
});
