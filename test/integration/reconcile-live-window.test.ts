/**
 * The reconcile a drill runs before its verdict, against a real local DynamoDB engine over sockets: its window starts
 * a margin before the newest record of the source's inbound gateway that the target holds (where replication last
 * delivered), and what the target stored since the swap (its own live traffic, still on its way through a pipeline
 * whose core may not run yet) is not counted as missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../../src/clients/aws-clients.js';
import type { AppName } from '../../src/config/apps.js';
import { deriveNames, safeStoreTable } from '../../src/config/model.js';
import { startDynamoEngine, type DynamoEngine } from '../../src/infra/local/engines/dynamo-engine.js';
import { createTableInput } from '../../src/infra/local/provision.js';
import type { Platform } from '../../src/platform/platform.js';
import { compareWindow, hopsFor } from '../../src/reconcile/index.js';
import { windowSinceLastReplicated } from '../../src/runbooks/steps/reconcile-window.js';
import { SafeStore, type SafeStoreItem } from '../../src/services/runtime/safe-store.js';

const ENV = 'lw';
const SOURCE = 'us-east-1';
const TARGET = 'us-west-2';
const dir = mkdtempSync(join(tmpdir(), 'tsr-reconcile-live-window-'));
const names = deriveNames({ environment: ENV, regions: [SOURCE, TARGET], apps: ['trade'], aws: {} as never });
let engine: DynamoEngine;
let dynamo: DynamoDBClient;
let platform: Platform;
const now = Date.now();

/** Only what reading a region's stores needs: the target's engine stands for the target region. */
function platformOn(endpoint: string): Platform {
  return {
    config: { environment: ENV, regions: [SOURCE, TARGET], apps: ['trade'] },
    names,
    endpoints: () => ({ dynamodb: endpoint }),
  } as unknown as Platform;
}

function record(id: string, stage: string, region: string, acceptedAt: number, forwarded = true): SafeStoreItem {
  return {
    id,
    kind: 'trade',
    status: 'ACCEPTED',
    acceptedAt,
    payload: { id },
    stage,
    region,
    origin: 'accepted',
    forwarded,
  };
}

beforeAll(async () => {
  engine = await startDynamoEngine({ port: 0, dataDir: join(dir, 'dynamo'), region: TARGET });
  dynamo = dynamoClient({ region: TARGET, endpoint: engine.endpoint });
  for (const table of names.tables.filter((t) => t.app === 'trade' && t.purpose === 'safe-store'))
    await dynamo.send(new CreateTableCommand(createTableInput(table)));
  platform = platformOn(engine.endpoint);
  const inbound = new SafeStore(dynamo, safeStoreTable(ENV, 'trade', 'inbound-gateway'));
  const ingestion = new SafeStore(dynamo, safeStoreTable(ENV, 'trade', 'ingestion'));
  await inbound.putAll([
    // Replicated from the source before the swap: A reached ingestion, B did not (lost in flight).
    record('old', 'inbound-gateway', SOURCE, now - 170_000),
    record('A', 'inbound-gateway', SOURCE, now - 50_000),
    record('B', 'inbound-gateway', SOURCE, now - 45_000),
    // Accepted by the target after the swap: still on its way (its ingestion → core has not run yet).
    record('C', 'inbound-gateway', TARGET, now - 20_000),
    record('D', 'inbound-gateway', SOURCE, now - 47_000),
    record('E', 'inbound-gateway', TARGET, now - 16_000),
  ]);
  await ingestion.putAll([
    record('A', 'ingestion', SOURCE, now - 49_000),
    // D was accepted before the swap and reached ingestion only in the target, after it (a replay): not missing.
    record('D', 'ingestion', TARGET, now - 5_000),
    // The target's own: downstream of a live record, neither missing nor extra.
    record('E', 'ingestion', TARGET, now - 15_000),
  ]);
});

afterAll(async () => {
  dynamo?.destroy();
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ctx = () => ({ platform, signal: new AbortController().signal, detail: () => undefined });

test('the window starts a margin before the newest record the target holds from the source, not `since` ago', async () => {
  const window = await windowSinceLastReplicated(ctx(), 'trade', SOURCE, TARGET, 30 * 60_000, 60_000, now);
  // B (45 s ago) is the newest record the source's gateway accepted that reached the target; C is the target's own.
  expect(window).toEqual({ fromMs: now - 45_000 - 60_000, toMs: now });
});

test('with nothing from the source within reach, the whole longest window is read', async () => {
  const window = await windowSinceLastReplicated(ctx(), 'trade', SOURCE, TARGET, 30_000, 60_000, now);
  expect(window).toEqual({ fromMs: now - 30_000, toMs: now });
  // Only records the named region's gateway accepted count: asked about the target itself, E (16 s ago) is the newest.
  const reverse = await windowSinceLastReplicated(ctx(), 'trade', TARGET, TARGET, 30 * 60_000, 5_000, now);
  expect(reverse.fromMs).toBe(now - 16_000 - 5_000);
});

test("the target's live traffic since the swap is not counted missing; what was accepted before it is", async () => {
  const app: AppName = 'trade';
  const hops = hopsFor(ENV, [app], names).filter((h) => h.name === 'tm/inbound-gateway → tm/ingestion');
  expect(hops).toHaveLength(1);
  const plan = { apps: [app], regions: { trade: TARGET }, hops, notes: [] };
  const window = { fromMs: now - 120_000, toMs: now };
  const clients = new Map<string, DynamoDBClient>();
  try {
    const swap = now - 30_000;
    const withLive = await compareWindow(
      platform,
      plan,
      window,
      { crossRegion: false, graceMs: 0, live: { region: TARGET, sinceMs: swap } },
      clients,
    );
    expect(withLive.hops[0].missing).toEqual(['B']);
    expect(withLive.hops[0].matched).toBe(2); // A, and D through its replayed partner
    expect(withLive.hops[0].extra).toEqual([]);
    // Without it, C counts as missing too: the overcount the live option prevents.
    const without = await compareWindow(platform, plan, window, { crossRegion: false, graceMs: 0 }, clients);
    expect(without.hops[0].missing).toEqual(['B', 'C']);
    expect(without.hops[0].matched).toBe(3);
    // What the target stored before the swap is not live: a swap marker after C brings it back.
    const lateSwap = await compareWindow(
      platform,
      plan,
      window,
      { crossRegion: false, graceMs: 0, live: { region: TARGET, sinceMs: now - 10_000 } },
      clients,
    );
    expect(lateSwap.hops[0].missing).toEqual(['B', 'C']);
  } finally {
    for (const c of clients.values()) c.destroy();
  }
});
