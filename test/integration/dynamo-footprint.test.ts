/**
 * The DynamoDB engine's footprint stays bounded under long load: real dynalite engines (LevelDB on disk), real
 * sockets, the real AWS SDK client. Asserts on what is kept (files on disk, entries in memory), never on time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type AttributeValue,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import {
  type EngineHealth,
  startDynamoEngine,
  type DynamoEngine,
} from '../../src/infra/local/engines/dynamo-engine.js';
import {
  startDynamoReplicationLink,
  type DynamoReplicationLink,
} from '../../src/infra/local/replication/dynamo-link.js';
import { decodeCompressedJson } from '../../src/infra/local/engines/dynamo/compressed-json.js';
import { eventually } from '../helpers/eventually.js';
import { openRawLevel } from '../helpers/raw-level.js';
import { tradeItem } from '../helpers/typical-records.js';

const TABLE = 'footprint-store';

function client(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

/** Bytes under a directory (LevelDB keeps its files flat). */
function dirBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    try {
      total += statSync(join(dir, name)).size;
    } catch {
      // deleted while listing
    }
  }
  return total;
}

/** A safe store like ours: keyed by id, with a time index on the minute bucket. */
async function createStore(db: DynamoDBClient): Promise<void> {
  await db.send(
    new CreateTableCommand({
      TableName: TABLE,
      AttributeDefinitions: [
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'timeBucket', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byTime',
          KeySchema: [
            { AttributeName: 'timeBucket', KeyType: 'HASH' },
            { AttributeName: 'id', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

describe('DynamoDB engine footprint', () => {
  let dir: string;
  let engine: DynamoEngine | undefined;
  let db: DynamoDBClient;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsr-footprint-'));
    engine = await startDynamoEngine({ port: 0, dataDir: dir, region: 'us-east-1' });
    db = client(engine.endpoint);
    await createStore(db);
  });

  afterEach(async () => {
    db.destroy();
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets LevelDB delete the files compaction replaced while queries run (no iterator left open)', async () => {
    // 100 items of ~2 KB (incompressible) rewritten 60 times (~18 MB of items and as much index), with a query on the time index
    // after every round: the live data stays ~0.4 MB. An iterator left open by a query pins every table file of its
    // moment, so the directory would keep nearly all that was ever written.
    for (let round = 0; round < 60; round++) {
      for (let batch = 0; batch < 4; batch++) {
        const requests: WriteRequest[] = [];
        for (let i = 0; i < 25; i++) {
          const id = `item-${batch * 25 + i}`;
          requests.push({
            PutRequest: {
              Item: {
                id: { S: id },
                timeBucket: { S: 'minute-1' },
                round: { N: String(round) },
                padding: { S: randomBytes(1_500).toString('base64') },
              },
            },
          });
        }
        await db.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: requests } }));
      }
      const page = await db.send(
        new QueryCommand({
          TableName: TABLE,
          IndexName: 'byTime',
          KeyConditionExpression: 'timeBucket = :b',
          ExpressionAttributeValues: { ':b': { S: 'minute-1' } },
          Limit: 10,
        }),
      );
      expect(page.Items).toHaveLength(10);
    }
    const leveldb = join(dir, 'dynalite');
    // Compaction runs in the background; once it settles the directory holds the live data, the write-ahead log
    // (≤ 4 MB) and files not yet merged down (~14 MB measured), far below the ~36 MB written (38 MB were left
    // with the iterators open).
    await eventually(() => dirBytes(leveldb) < 24 * 1024 * 1024, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: `LevelDB directory below 24 MB (it holds ${(dirBytes(leveldb) / 1024 / 1024).toFixed(1)} MB)`,
    });
  }, 120_000);
});

describe('DynamoDB engine: how items are stored', () => {
  let dir: string;
  let engine: DynamoEngine | undefined;
  let db: DynamoDBClient | undefined;

  afterEach(async () => {
    db?.destroy();
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<DynamoDBClient> {
    engine = await startDynamoEngine({ port: 0, dataDir: dir, region: 'us-east-1' });
    db = client(engine.endpoint);
    return db;
  }

  it('keeps items and index entries deflated, and still reads items stored as plain JSON', async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsr-stored-'));
    const first = await start();
    await createStore(first);
    const items = Array.from({ length: 200 }, (_, n) => tradeItem(n) as Record<string, AttributeValue>);
    for (let at = 0; at < items.length; at += 25) {
      const requests = items.slice(at, at + 25).map((Item) => ({ PutRequest: { Item } }));
      await first.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: requests } }));
    }
    first.destroy();
    await engine?.close();
    engine = undefined;

    // On disk: every item and index entry starts with the deflated-JSON version byte, in under a quarter of its JSON.
    const raw = openRawLevel(join(dir, 'dynalite'));
    await raw.open();
    let entries = 0;
    let storedBytes = 0;
    let jsonBytes = 0;
    let legacy: { key: string; item: Record<string, AttributeValue> } | undefined;
    for await (const [key, value] of raw.iterator()) {
      if (!key.startsWith(`item-${TABLE}~`) && !key.startsWith(`index-global~${TABLE}~`)) continue;
      entries++;
      expect(value[0]).toBe(0x01);
      storedBytes += value.length;
      if (!legacy && key.startsWith('item-')) {
        legacy = { key, item: decodeCompressedJson(value) as Record<string, AttributeValue> };
      }
    }
    for (const item of items) jsonBytes += 2 * Buffer.byteLength(JSON.stringify(item)); // the item and its index copy
    expect(entries).toBe(400);
    expect(storedBytes).toBeLessThan(jsonBytes / 4);

    // A workspace written before the encoding: an item stored as plain JSON reads back as it was.
    expect(items).toContainEqual(legacy?.item);
    await raw.put(legacy!.key, Buffer.from(JSON.stringify(legacy!.item)));
    await raw.close();

    const second = await start();
    const got = await second.send(new GetItemCommand({ TableName: TABLE, Key: { id: legacy!.item.id } }));
    expect(got.Item).toEqual(legacy!.item);
    const other = await second.send(new GetItemCommand({ TableName: TABLE, Key: { id: items[150].id } }));
    expect(other.Item).toEqual(items[150]);
  }, 60_000);
});

describe('DynamoDB global tables: what the last-writer-wins clock keeps', () => {
  const dirs: string[] = [];
  const engines: DynamoEngine[] = [];
  const clients: DynamoDBClient[] = [];
  let link: DynamoReplicationLink | undefined;

  afterEach(async () => {
    await link?.close();
    for (const db of clients.splice(0)) db.destroy();
    for (const engine of engines.splice(0)) await engine.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function region(name: string, peer: string): Promise<{ engine: DynamoEngine; db: DynamoDBClient }> {
    const dir = mkdtempSync(join(tmpdir(), `tsr-clock-${name}-`));
    dirs.push(dir);
    // No margin: forgetting is then visible at once (the default margin of a minute only absorbs clock jitter).
    const engine = await startDynamoEngine({
      port: 0,
      dataDir: dir,
      region: name,
      peers: [peer],
      clockForgetMarginMs: 0,
    });
    engines.push(engine);
    const db = new DynamoDBClient({
      endpoint: engine.endpoint,
      region: name,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    clients.push(db);
    await createStore(db);
    return { engine, db };
  }

  const health = async (engine: DynamoEngine): Promise<EngineHealth> =>
    (await fetch(`${engine.endpoint}/_tsr/health`)).json() as Promise<EngineHealth>;

  it('forgets items once every peer has handed over its changes, even a peer that writes nothing', async () => {
    const east = await region('us-east-1', 'us-west-2');
    const west = await region('us-west-2', 'us-east-1');
    link = await startDynamoReplicationLink({
      port: 0,
      regions: [
        { region: 'us-east-1', endpoint: east.engine.endpoint },
        { region: 'us-west-2', endpoint: west.engine.endpoint },
      ],
      tables: [TABLE],
    });
    for (let batch = 0; batch < 4; batch++) {
      const requests: WriteRequest[] = Array.from({ length: 25 }, (_, i) => ({
        PutRequest: { Item: { id: { S: `trade-${batch}-${i}` }, timeBucket: { S: 'minute-1' } } },
      }));
      await east.db.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: requests } }));
    }
    const replicated = await eventually(
      async () => {
        const got = await west.db.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'trade-3-24' } } }));
        return got.Item;
      },
      { what: 'the last item replicated to us-west-2' },
    );
    expect(replicated.timeBucket).toEqual({ S: 'minute-1' });
    // us-west-2 writes nothing: the link's idle check tells us-east-1 that its changes are all handed over.
    await eventually(async () => (await health(east.engine)).clockSize === 0, {
      what: 'us-east-1 forgetting the 100 items it wrote',
    });
    await eventually(async () => (await health(west.engine)).clockSize === 0, {
      what: 'us-west-2 forgetting the 100 items it applied',
    });
    // Forgetting changes no outcome: a later write in us-west-2 still wins in us-east-1.
    await west.db.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [TABLE]: [{ PutRequest: { Item: { id: { S: 'trade-0-0' }, timeBucket: { S: 'minute-2' } } } }],
        },
      }),
    );
    await eventually(
      async () => {
        const got = await east.db.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: 'trade-0-0' } } }));
        return got.Item?.timeBucket?.S === 'minute-2';
      },
      { what: 'the later write from us-west-2 in us-east-1' },
    );
  }, 60_000);
});
