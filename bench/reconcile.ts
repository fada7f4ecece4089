/**
 * Reconciliation figures: a window of ~100,000 trades' worth of records across every hop of both apps, reconciled
 * against the local DynamoDB engines; time, records compared per second and peak memory, beside a plain read of the
 * same records (the ceiling), for two window sizes (memory must not grow with the window).
 *
 * Run: node --import tsx bench/reconcile.ts [pairs]   (default 60,000 pairs = 100,000 trade sides)
 * Needs a build (dist/) for the engine processes. Two standalone DynamoDB engines (child processes) stand for two
 * regions: trade matching is read in one, settlement in the other, as after rotating one app; seeding writes
 * realistic items (PipelineRecord payloads) with parallel BatchWriteItem. Each measurement runs in a fresh child
 * process so its peak RSS is its own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { type AppName, APPS, STAGES, type StageName } from '../src/config/apps.js';
import { deriveNames, safeStoreTable, type TsrConfig } from '../src/config/model.js';
import { timeBucket } from '../src/config/table-schema.js';
import { createTables } from '../src/infra/local/provision.js';
import type { Platform } from '../src/platform/platform.js';
import { reconcileDynamoClient } from '../src/reconcile/clients.js';
import { reconcile } from '../src/reconcile/index.js';
import { SafeStore } from '../src/services/runtime/safe-store.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ENV = 'bench';
const REGIONS = ['us-east-1', 'us-west-2'] as const;
/** Trade matching lives in the first engine, settlement in the second. */
const APP_REGION: Record<AppName, string> = { trade: REGIONS[0], settlement: REGIONS[1] };
const MINUTE = 60_000;

const config: TsrConfig = {
  environment: ENV,
  regions: [...REGIONS],
  apps: [...APPS],
  target: 'local',
  workspace: '/nonexistent',
  local: { arcEndpoints: 1, replicationDelayMs: 0 },
  aws: { shardsPerStream: 1, tasksPerService: 1, auroraInstanceClass: '-', brokerInstanceType: '-' },
};
const names = deriveNames(config);

function benchPlatform(endpoints: Record<string, string>): Platform {
  return {
    target: 'local',
    config,
    names,
    endpoints: (region) => ({
      region,
      dynamodb: endpoints[region],
      broker: 'mqtt://127.0.0.1:1',
      postgres: { host: '127.0.0.1', port: 1, user: 'postgres' },
    }),
    routingControls: () => {
      throw new Error('no routing controls in the bench');
    },
    status: () => Promise.reject(new Error('n/a')),
    replicationLag: async () => [],
    close: async () => undefined,
  };
}

// ---------- seeding ----------

interface SeedItem {
  readonly app: AppName;
  readonly stage: StageName;
  readonly item: Record<string, AttributeValue>;
}

function record(id: string, kind: string, body: unknown, partitionKey: string, acceptedAt: number) {
  return { id, kind, body, partitionKey, acceptedAt, submittedAt: acceptedAt - 3 };
}

/** Every safe-store item one generator pair leaves behind, as the stages write them. */
function pairItems(i: number, at: number): SeedItem[] {
  const out: SeedItem[] = [];
  const put = (
    app: AppName,
    stage: StageName,
    rec: ReturnType<typeof record>,
    status: string,
    origin: 'accepted' | 'created',
    forwarded: boolean,
    offset: number,
  ) => {
    const acceptedAt = at + offset;
    out.push({
      app,
      stage,
      item: SafeStore.toAttributes({
        id: rec.id,
        kind: rec.kind,
        status,
        acceptedAt,
        timeBucket: timeBucket(acceptedAt),
        payload: rec,
        stage,
        region: APP_REGION[app],
        origin,
        forwarded,
      }),
    });
  };
  const scenario = i % 3; // matched, mismatched, unmatched (the generator's default mix)
  const allocations = 1 + (Math.floor(i / 3) % 3);
  const im = `IM${i % 50}`;
  const br = `BR${i % 40}`;
  const tradeId = `T${i}`;
  const sides = (scenario === 2 ? [im] : [im, br]).map((sender, s) => {
    const body = {
      senderId: sender,
      imId: im,
      brokerId: br,
      tradeId,
      side: 'B',
      security: `SEC${i % 500}`,
      quantity: 100 * allocations,
      price: '41.20',
      tradeDate: '2026-11-26',
      settlementDate: '2026-11-28',
      deliveryInstructions: 'DVP via custodian',
      allocations: Array.from({ length: allocations }, (_, a) => ({
        allocationId: a + 1,
        quantity: 100,
        account: `ACC${a}`,
      })),
    };
    return { id: `${sender}-${im}-${br}-${tradeId}`, body, s };
  });
  const key = `${im}|${br}|${tradeId}|B|2026-11-26|2026-11-28`;
  for (const side of sides) {
    const trade = record(side.id, 'trade', side.body, key, at);
    put('trade', 'inbound-gateway', trade, 'ACCEPTED', 'accepted', true, 0);
    put('trade', 'ingestion', trade, 'ACCEPTED', 'accepted', true, 5);
    const decided = scenario === 0 ? 'MATCHED' : scenario === 1 ? 'MISMATCHED' : 'UNMATCHED';
    put('trade', 'core', trade, decided, 'accepted', false, 10);
    if (scenario === 2) continue;
    const event = record(
      `${side.id}#${decided}`,
      'trade-status',
      { ...side.body, id: side.id, status: decided },
      side.id,
      at,
    );
    put('trade', 'core', event, decided, 'created', true, 11);
    put('trade', 'egress', event, decided, 'accepted', true, 15);
    put('trade', 'outbound-gateway', event, decided, 'accepted', true, 20);
    if (scenario !== 0) continue;
    for (let a = 1; a <= allocations; a++) {
      const sid = `${side.id}-${a}`;
      const instruction = record(
        sid,
        'settlement-instruction',
        {
          id: sid,
          tradeRecordId: side.id,
          ...side.body,
          allocations: undefined,
          allocationId: a,
          quantity: 100,
          account: `ACC${a - 1}`,
          status: 'UNMATCHED',
        },
        `${im}|${br}|${tradeId}|${a}`,
        at,
      );
      put('trade', 'egress', instruction, 'UNMATCHED', 'created', true, 15);
      put('trade', 'outbound-gateway', instruction, 'UNMATCHED', 'accepted', true, 20);
      put('settlement', 'inbound-gateway', { ...instruction, acceptedAt: at + 25 }, 'ACCEPTED', 'accepted', true, 25);
      put('settlement', 'ingestion', { ...instruction, acceptedAt: at + 25 }, 'UNMATCHED', 'accepted', true, 30);
      put('settlement', 'core', { ...instruction, acceptedAt: at + 25 }, 'SETTLED', 'accepted', false, 35);
      const state = { id: sid, tradeRecordId: side.id, allocationId: a, status: 'SETTLED' };
      const settled = record(`${sid}#SETTLED`, 'settlement-status', state, sid, at + 25);
      put('settlement', 'core', settled, 'SETTLED', 'created', true, 36);
      const result = {
        ...settled,
        kind: 'settlement-result',
        body: { settlementId: sid, tradeRecordId: side.id, allocationId: a, status: 'SETTLED' },
      };
      put('settlement', 'egress', result, 'SETTLED', 'accepted', true, 40);
      put('settlement', 'outbound-gateway', result, 'SETTLED', 'accepted', true, 45);
      const back = record(`${sid}#SETTLED`, 'settlement-result', result.body, side.id, at + 50);
      put('trade', 'inbound-gateway', back, 'ACCEPTED', 'accepted', true, 50);
      put('trade', 'ingestion', back, 'SETTLED', 'accepted', true, 55);
      put('trade', 'core', back, 'SETTLED', 'accepted', false, 60);
    }
    const done = record(
      `${side.id}#SETTLED`,
      'trade-status',
      { ...side.body, id: side.id, status: 'SETTLED' },
      side.id,
      at,
    );
    put('trade', 'core', done, 'SETTLED', 'created', true, 61);
    put('trade', 'egress', done, 'SETTLED', 'accepted', true, 65);
    put('trade', 'outbound-gateway', done, 'SETTLED', 'accepted', true, 70);
  }
  return out;
}

async function writeAll(client: DynamoDBClient, table: string, items: Record<string, AttributeValue>[]): Promise<void> {
  let pending: WriteRequest[] = items.map((Item) => ({ PutRequest: { Item } }));
  while (pending.length) {
    const answer = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
    pending = answer.UnprocessedItems?.[table] ?? [];
  }
}

async function seed(
  endpoints: Record<string, string>,
  pairs: number,
  startMs: number,
  spanMs: number,
): Promise<{ items: number; trades: number }> {
  const clients = Object.fromEntries(REGIONS.map((r) => [r, reconcileDynamoClient(r, endpoints[r])]));
  const queues = new Map<string, Record<string, AttributeValue>[]>();
  const inFlight = new Set<Promise<void>>();
  let items = 0;
  let trades = 0;
  const flush = async (table: string, app: AppName, force: boolean) => {
    const queue = queues.get(table) ?? [];
    while (queue.length >= 25 || (force && queue.length)) {
      const p: Promise<void> = writeAll(clients[APP_REGION[app]], table, queue.splice(0, 25)).finally(() =>
        inFlight.delete(p),
      );
      inFlight.add(p);
      while (inFlight.size >= 32) await Promise.race(inFlight);
    }
  };
  for (let i = 0; i < pairs; i++) {
    for (const { app, stage, item } of pairItems(i, startMs + Math.floor((i * spanMs) / pairs))) {
      const table = safeStoreTable(ENV, app, stage);
      if (stage === 'inbound-gateway' && app === 'trade' && item.kind.S === 'trade') trades++;
      const queue = queues.get(table) ?? [];
      queue.push(item);
      queues.set(table, queue);
      items++;
      if (queue.length >= 25) await flush(table, app, false);
    }
  }
  for (const table of queues.keys()) {
    const app: AppName = table.startsWith(`${ENV}-tm-`) ? 'trade' : 'settlement';
    await flush(table, app, true);
  }
  await Promise.all(inFlight);
  for (const c of Object.values(clients)) c.destroy();
  return { items, trades };
}

// ---------- measurements (each in its own process) ----------

interface Measurement {
  readonly ms: number;
  readonly records: number;
  readonly peakRssMiB: number;
  readonly missing?: number;
}

function sampler(): () => number {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss) / 1024 / 1024;
  };
}

/** The ceiling: every item of every store the hops read, Query per minute bucket, all stores at once. */
async function plainRead(endpoints: Record<string, string>, fromMs: number, toMs: number): Promise<Measurement> {
  const peak = sampler();
  const started = performance.now();
  const clients = Object.fromEntries(REGIONS.map((r) => [r, reconcileDynamoClient(r, endpoints[r])]));
  let records = 0;
  await Promise.all(
    APPS.flatMap((app) =>
      STAGES.map(async (stage) => {
        const table = safeStoreTable(ENV, app, stage);
        for (let m = Math.floor(fromMs / MINUTE) * MINUTE; m < toMs; m += MINUTE) {
          let startKey: Record<string, AttributeValue> | undefined;
          do {
            const page = await clients[APP_REGION[app]].send(
              new QueryCommand({
                TableName: table,
                IndexName: 'by-time',
                KeyConditionExpression: 'timeBucket = :b AND acceptedAt BETWEEN :l AND :h',
                ExpressionAttributeValues: {
                  ':b': { S: timeBucket(m) },
                  ':l': { N: String(Math.max(fromMs, m)) },
                  ':h': { N: String(Math.min(toMs, m + MINUTE) - 1) },
                },
                ExclusiveStartKey: startKey,
              }),
            );
            records += page.Items?.length ?? 0;
            startKey = page.LastEvaluatedKey;
          } while (startKey);
        }
      }),
    ),
  );
  for (const c of Object.values(clients)) c.destroy();
  return { ms: performance.now() - started, records, peakRssMiB: peak() };
}

async function reconcileRun(endpoints: Record<string, string>, fromMs: number, toMs: number): Promise<Measurement> {
  const peak = sampler();
  const started = performance.now();
  const platform = benchPlatform(endpoints);
  // Each app in its own engine: trade read in us-east-1, settlement in us-west-2 (resolveRegions takes one region
  // for all, so the bench passes none and answers routing controls itself).
  platform.routingControls = () => ({
    list: async () =>
      APPS.flatMap((app) =>
        REGIONS.map((r) => ({
          name: `${app}-dns-${r}`,
          arn: '',
          state: APP_REGION[app] === r ? ('On' as const) : ('Off' as const),
        })),
      ),
    get: () => Promise.reject(new Error('n/a')),
    set: () => Promise.reject(new Error('n/a')),
  });
  const report = await reconcile(platform, { window: { fromMs, toMs }, crossRegion: false, graceMs: 0 });
  return {
    ms: performance.now() - started,
    records: report.totals.compared,
    peakRssMiB: peak(),
    missing: report.totals.missing,
  };
}

async function child(): Promise<void> {
  const [mode, endpointsJson, from, to] = process.argv.slice(3);
  const endpoints = JSON.parse(endpointsJson) as Record<string, string>;
  const result =
    mode === 'plain'
      ? await plainRead(endpoints, Number(from), Number(to))
      : await reconcileRun(endpoints, Number(from), Number(to));
  process.stdout.write(JSON.stringify(result));
}

function measure(
  mode: 'plain' | 'reconcile',
  endpoints: Record<string, string>,
  fromMs: number,
  toMs: number,
): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--child',
        mode,
        JSON.stringify(endpoints),
        String(fromMs),
        String(toMs),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Measurement) : reject(new Error(`${mode} run failed (${code})`)),
    );
  });
}

/** dynalite in memory (no LevelDB on disk), in its own process, on a free port. */
function startMemoryDynalite(): Promise<{ child: ReturnType<typeof spawn>; endpoint: string }> {
  const script =
    "const d = (await import('dynalite')).default; const s = d({ createTableMs: 0, updateTableMs: 0, deleteTableMs: 0 });" +
    "s.listen(0, '127.0.0.1', () => console.log(s.address().port));" +
    // Gone with the bench: its stdin closes when the bench process ends, however it ends.
    "process.stdin.on('close', () => process.exit(0)); process.stdin.resume();";
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: path.join(HERE, '..'),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdout.once('data', (d) => resolve({ child, endpoint: `http://127.0.0.1:${String(d).trim()}` }));
    child.once('exit', (code) => reject(new Error(`dynalite exited (${code})`)));
  });
}

export async function benchReconcile(pairs = 60_000): Promise<void> {
  // In-memory dynalite, one child process per region: the persistent engine front writes ~1,000 items/s, which
  // would make seeding millions of items take half an hour; reads take the same code path either way.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-reconcile-'));
  const engines = await Promise.all(REGIONS.map(() => startMemoryDynalite()));
  try {
    const endpoints = Object.fromEntries(REGIONS.map((r, i) => [r, engines[i].endpoint]));
    void dir;
    await Promise.all(REGIONS.map((r) => createTables(r, endpoints[r], names)));
    const spanMs = 20 * MINUTE;
    const startMs = Math.floor((Date.now() - 2 * 3_600_000) / MINUTE) * MINUTE;
    let started = performance.now();
    const seeded = await seed(endpoints, pairs, startMs, spanMs);
    const seedMs = performance.now() - started;
    console.log(
      `seeded ${seeded.items.toLocaleString()} safe-store items (${seeded.trades.toLocaleString()} trades, ${pairs.toLocaleString()} pairs, ` +
        `10 stores, 2 engines) in ${(seedMs / 1000).toFixed(1)} s (${Math.round(seeded.items / (seedMs / 1000)).toLocaleString()} items/s)`,
    );
    const rows: string[][] = [];
    for (const [label, toMs] of [
      ['half window (10 min)', startMs + spanMs / 2],
      ['full window (20 min)', startMs + spanMs + MINUTE],
    ] as const) {
      const plain = await measure('plain', endpoints, startMs, toMs);
      started = performance.now();
      const rec = await measure('reconcile', endpoints, startMs, toMs);
      void started;
      rows.push([
        label,
        plain.records.toLocaleString(),
        `${(plain.ms / 1000).toFixed(2)} s`,
        `${(rec.ms / 1000).toFixed(2)} s`,
        (rec.ms / plain.ms).toFixed(2),
        Math.round(rec.records / (rec.ms / 1000)).toLocaleString(),
        `${plain.peakRssMiB.toFixed(0)} MiB`,
        `${rec.peakRssMiB.toFixed(0)} MiB`,
        String(rec.missing),
      ]);
    }
    const headers = [
      'window',
      'records',
      'plain read',
      'reconcile',
      'ratio',
      'compared/s',
      'plain peak RSS',
      'reconcile peak RSS',
      'missing',
    ];
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const r of [headers, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
    console.log('(ratio = reconcile time / plain read time; goal ≤ 2. compared = records of both sides of every hop.)');
  } finally {
    for (const e of engines) e.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child();
else if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await benchReconcile(process.argv[2] ? Number(process.argv[2]) : undefined);
}
