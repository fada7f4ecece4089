/** The safe store against a real local DynamoDB engine (dynalite behind the engine front), over sockets. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tableSchema, timeBucket } from '../../src/config/table-schema.js';
import { startDynamoEngine, type DynamoEngine } from '../../src/infra/local/engines/dynamo-engine.js';
import { createTableInput } from '../../src/infra/local/provision.js';
import { dynamoClient } from '../../src/clients/aws-clients.js';
import { ItemTooLargeError, SafeStore, type SafeStoreItem, statusRank } from '../../src/services/runtime/safe-store.js';

const REGION = 'us-east-1';
const TABLE = 'rt-tm-ingestion';
const dir = mkdtempSync(join(tmpdir(), 'tsr-runtime-safe-store-'));
let engine: DynamoEngine;
let dynamo: DynamoDBClient;
let store: SafeStore;

/** Every request the store sends, by operation (read from the SDK middleware stack, not a mock). */
const operations: string[] = [];

beforeAll(async () => {
  engine = await startDynamoEngine({ port: 0, dataDir: join(dir, 'dynamo'), region: REGION });
  dynamo = dynamoClient({ region: REGION, endpoint: engine.endpoint });
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      operations.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordOperations' },
  );
  const schema = tableSchema({ name: TABLE, global: true, purpose: 'safe-store' });
  expect(schema.timeIndex).toBe(true);
  // The same table definition the local platform creates.
  await dynamo.send(new CreateTableCommand(createTableInput({ name: TABLE, global: true, purpose: 'safe-store' })));
  store = new SafeStore(dynamo, TABLE);
});

afterAll(async () => {
  dynamo?.destroy();
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** 10:00:00.000 UTC on a fixed day: windows are aligned to it. */
const T0 = Date.UTC(2030, 0, 15, 10, 0, 0);

function trade(
  id: string,
  acceptedAt: number,
  status = 'UNMATCHED',
  extra: Partial<SafeStoreItem> = {},
): SafeStoreItem {
  return {
    id,
    kind: 'trade',
    status,
    acceptedAt,
    payload: { id, price: '41.20', allocations: [{ allocationId: 1, quantity: 5, account: 'A' }] },
    stage: 'ingestion',
    region: REGION,
    ...extra,
  };
}

test('putAll writes 2,000 items (25 per call, several at once) and keeps the last of a repeated id', async () => {
  // 2,000 items over 10 minutes from T0, one every 300 ms.
  const items = Array.from({ length: 2000 }, (_, i) => trade(`t-${i}`, T0 + i * 300));
  items.push(trade('t-7', T0 + 7 * 300, 'UNMATCHED', { reason: 'last one wins' }));
  operations.length = 0;
  const started = Date.now();
  await store.putAll(items);
  const ms = Date.now() - started;
  console.log(`safe store: putAll 2,000 items in ${ms} ms (${Math.round(2000 / (ms / 1000))} items/s)`);
  expect(operations.filter((op) => op === 'BatchWriteItemCommand').length).toBeGreaterThanOrEqual(80);

  const seven = await store.get('t-7');
  expect(seven?.reason).toBe('last one wins');
  expect(seven?.timeBucket).toBe(timeBucket(T0 + 7 * 300));
  expect(seven?.statusRank).toBe(statusRank('UNMATCHED'));
  expect(seven?.payload).toEqual({
    id: 't-7',
    price: '41.20',
    allocations: [{ allocationId: 1, quantity: 5, account: 'A' }],
  });
  const last = await store.get('t-1999');
  expect(last?.acceptedAt).toBe(T0 + 1999 * 300);
  expect(await store.get('t-2000')).toBeUndefined();
});

test('queryWindow returns exactly the items of a window spanning several minutes, via the index, never a Scan', async () => {
  // [10:01:30, 10:05:15): items i with 300·i in [90,000, 315,000) → i in [300, 1050).
  const from = T0 + 90_000;
  const to = T0 + 315_000;
  operations.length = 0;
  const ids: string[] = [];
  let previous = 0;
  for await (const item of store.queryWindow(from, to)) {
    expect(item.acceptedAt).toBeGreaterThanOrEqual(from);
    expect(item.acceptedAt).toBeLessThan(to);
    expect(item.acceptedAt).toBeGreaterThanOrEqual(previous);
    previous = item.acceptedAt;
    // The index carries what reconciliation reads, not a second copy of the payload.
    expect(item.payload).toBeUndefined();
    expect(typeof item.status).toBe('string');
    ids.push(item.id);
  }
  const expected = Array.from({ length: 750 }, (_, k) => `t-${300 + k}`);
  expect(ids.sort()).toEqual(expected.sort());
  // One Query per minute bucket (10:01 … 10:05) at least; paging may add more. Never a Scan.
  expect(operations.every((op) => op === 'QueryCommand')).toBe(true);
  expect(operations.length).toBeGreaterThanOrEqual(5);

  // Paging with LastEvaluatedKey: small pages return the same items.
  const paged: string[] = [];
  for await (const item of store.queryWindow(from, to, { pageSize: 37 })) paged.push(item.id);
  expect(paged.sort()).toEqual(expected.sort());
  // Empty and inverted windows.
  expect(await store.countWindow(T0 - 120_000, T0)).toBe(0);
  expect(await store.countWindow(to, from)).toBe(0);
  // The whole ten minutes.
  expect(await store.countWindow(T0, T0 + 600_000)).toBe(2000);
});

test('putIfAbsent creates once, then reports the existing item and changes nothing', async () => {
  const first = await store.putIfAbsent(trade('dup-1', T0 + 1, 'UNMATCHED', { reason: 'first' }));
  expect(first).toEqual({ result: 'created' });
  const again = await store.putIfAbsent(trade('dup-1', T0 + 2, 'MATCHED', { reason: 'second' }));
  expect(again.result).toBe('exists');
  if (again.result === 'exists') {
    expect(again.existing.reason).toBe('first');
    expect(again.existing.status).toBe('UNMATCHED');
  }
  expect((await store.get('dup-1'))?.reason).toBe('first');
});

test('putIfNewer never moves a status backwards, whatever the order of arrival', async () => {
  const id = 'prog-1';
  expect(await store.putIfNewer(trade(id, T0, 'MATCHED'), 2)).toBe('written');
  expect(await store.putIfNewer(trade(id, T0, 'UNMATCHED'), 1)).toBe('stale'); // late, older status
  expect(await store.putIfNewer(trade(id, T0, 'MISMATCHED'), 2)).toBe('stale'); // same rank: first wins
  expect((await store.get(id))?.status).toBe('MATCHED');
  expect(await store.putIfNewer(trade(id, T0, 'SETTLED'), 3)).toBe('written');
  expect(await store.putIfNewer(trade(id, T0, 'MATCHED'), 2)).toBe('stale'); // replay
  expect(await store.putIfNewer(trade(id, T0, 'SETTLED'), 3)).toBe('stale'); // replay of the same
  const stored = await store.get(id);
  expect(stored?.status).toBe('SETTLED');
  expect(stored?.statusRank).toBe(3);

  // Rank from the status when not given; over an item stored by putAll.
  await store.putAll([trade('prog-2', T0, 'UNMATCHED')]);
  expect(await store.putIfNewer(trade('prog-2', T0, 'SETTLED'))).toBe('written');
  expect(await store.putIfNewer(trade('prog-2', T0, 'UNMATCHED'))).toBe('stale');
  expect((await store.get('prog-2'))?.status).toBe('SETTLED');

  // Many out-of-order updates at once: the highest rank wins.
  const updates = ['UNMATCHED', 'SETTLED', 'MATCHED', 'UNMATCHED', 'MATCHED'].map((status) =>
    store.putIfNewer(trade('prog-3', T0, status)),
  );
  await Promise.all(updates);
  expect((await store.get('prog-3'))?.status).toBe('SETTLED');
});

test('an oversized item is refused with its id before anything is written', async () => {
  const big = trade('too-big', T0, 'UNMATCHED', { payload: { blob: 'x'.repeat(420 * 1024) } });
  await expect(store.putAll([trade('fine-1', T0), big])).rejects.toBeInstanceOf(ItemTooLargeError);
  expect(await store.get('fine-1')).toBeUndefined();
});
