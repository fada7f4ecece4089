/**
 * End-to-end figures for issue 3, on the real local platform:
 *  - sustained throughput: trade pairs per second that reach their final state (SETTLED, MISMATCHED, …);
 *  - latency from submit to the MATCHED confirmation (p50/p99) at half that rate;
 *  - the ceiling: what the engines alone sustain for the writes one pair causes (safe-store items, stream
 *    records, core transactions, measured from the run), written straight to the engines; and the ratio.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AttributeValue, BatchWriteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import pg from 'pg';
import { deriveNames } from '../src/config/model.js';
import { loadConfig } from '../src/config/load.js';
import type { LocalState } from '../src/infra/local/state.js';
import { dynamoClient, kinesisClient } from '../src/clients/aws-clients.js';
import { configureGenerator, generatorStatus } from '../src/platform/generator-control.js';
import type { LocalPlatform } from '../src/platform/local-platform.js';
import { openLocalPlatform } from '../src/platform/open.js';
import { checkLedger } from '../test/helpers/ledger.js';
import { replicationAtRate } from './replication-at-rate.js';
import { cpuBetween, cpuSnapshot, type CpuSnapshot, hopLatencies, summarizeCpu } from './where-time-goes.js';

const RUN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'run.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tsr(args: string[]): unknown {
  const result = spawnSync(process.execPath, [RUN, ...args, '--json'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tsr ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** Waits until every pair the generator sent is in its predicted final state. */
async function drained(workspace: string, state: LocalState, limitMs: number): Promise<number> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const check = await checkLedger(workspace, state);
    if (check.final === check.pairs) return check.pairs;
    if (Date.now() > deadline) throw new Error(`${check.pairs - check.final} pairs were still not final`);
    await sleep(500);
  }
}

/**
 * Sustained throughput, measured in steady state: a feedback loop sets the offered rate every few seconds to what
 * completed plus the gap to a small target backlog, so every stage stays busy while nothing piles up in front (an
 * open flood makes the gateway race ahead of the stages behind it). Counted over the window after a warm-up.
 */
async function sustainedThroughput(workspace: string, state: LocalState, platform: LocalPlatform) {
  const periodMs = 5_000;
  const warmupMs = 30_000;
  const windowMs = 60_000;
  const pairsBefore = (await checkLedger(workspace, state)).pairs;
  let rate = 10;
  tsr(['generator', 'start', '--rate', String(rate), '--workspace', workspace]);
  const started = Date.now();
  const first = await checkLedger(workspace, state);
  let last = { at: started, final: first.final, pairs: first.pairs };
  let windowStart: typeof last | undefined;
  let cpuStart: CpuSnapshot | undefined;
  while (Date.now() - started < warmupMs + windowMs) {
    await sleep(periodMs);
    const check = await checkLedger(workspace, state);
    const now = { at: Date.now(), final: check.final, pairs: check.pairs };
    const completing = ((now.final - last.final) * 1000) / (now.at - last.at);
    const backlog = check.pairs - check.final;
    // Enough in flight that no stage waits for work (about 6 s of flow), little enough that it stays steady.
    const target = Math.max(60, completing * 6);
    rate = Math.round(Math.min(200, Math.max(2, completing + (target - backlog) / (periodMs / 1000))));
    await configureGenerator(platform, { rate });
    if (!windowStart && now.at - started >= warmupMs) {
      windowStart = now;
      cpuStart = cpuSnapshot(state);
    }
    last = now;
  }
  const cpu = cpuStart ? cpuBetween(cpuStart, cpuSnapshot(state), os.availableParallelism()) : undefined;
  tsr(['generator', 'stop', '--workspace', workspace]);
  const end = last;
  const begin = windowStart ?? { at: started, final: first.final, pairs: first.pairs };
  const pairs = (await drained(workspace, state, 300_000)) - pairsBefore;
  const seconds = (end.at - begin.at) / 1000;
  return {
    pairsPerSecond: (end.final - begin.final) / seconds,
    windowSeconds: seconds,
    // Steady state: what was offered ≈ what completed, and the backlog the same at both ends of the window.
    offeredPerSecond: (end.pairs - begin.pairs) / seconds,
    backlog: { start: begin.pairs - begin.final, end: end.pairs - end.final },
    pairs,
    cpu,
  };
}

/** Waits (up to 2 minutes) until the platform uses under a third of the machine; returns the share it settled at. */
async function quiet(state: LocalState): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const before = cpuSnapshot(state);
    await sleep(2_000);
    const share = cpuBetween(before, cpuSnapshot(state), os.availableParallelism()).machineShare;
    if (share < 0.33 || Date.now() > deadline) return share;
  }
}

/**
 * Runs the generator at `rate`: `warmupSeconds` first, then `seconds` measured; waits until every pair is final and
 * reads the latency figures of the measured part, and of the whole run (the warm-up starts from an idle platform:
 * shards empty for 10 s are read once a second, and the first records after a pause wait for that at every hop).
 */
async function latencyAt(workspace: string, state: LocalState, rate: number, warmupSeconds: number, seconds: number) {
  const flags = ['--workspace', workspace];
  // A restarted generator takes a moment to answer, on the port it records in the state when it has bound one: the
  // platform is opened anew to read it.
  let platform: LocalPlatform;
  for (let attempt = 0; ; attempt++) {
    platform = await openLocalPlatform(loadConfig({ workspace }, {}));
    try {
      await generatorStatus(platform);
      break;
    } catch (error) {
      await platform.close();
      if (attempt >= 100) throw error;
      await sleep(200);
    }
  }
  tsr(['generator', 'start', '--rate', String(rate), ...flags]);
  await sleep(warmupSeconds * 1000);
  const from = Date.now();
  await sleep(seconds * 1000);
  tsr(['generator', 'stop', ...flags]);
  await drained(workspace, state, 300_000);
  // Confirmations keep arriving after the generator stops: read latency once every pair is final.
  const measured = (await generatorStatus(platform, { latencySince: from })).latencyToMatchedMs;
  const withWarmup = (await generatorStatus(platform)).latencyToMatchedMs;
  await platform.close();
  return { measured, withWarmup, hops: await hopLatencies(state, state.environment, from, Date.now()) };
}

/** Safe-store item writes the primary region's DynamoDB engine acknowledged so far (overwrites included). */
async function safeStoreWrites(state: LocalState, tableNames: string[]): Promise<number> {
  const endpoint = state.endpoints.regions[state.regions[0]].dynamodb;
  const health = (await (await fetch(`${endpoint}/_tsr/health`)).json()) as { itemWrites: Record<string, number> };
  return tableNames.reduce((sum, table) => sum + (health.itemWrites[table] ?? 0), 0);
}

/** The engines alone: the same items, records and transactions per pair, written directly and concurrently. */
async function ceiling(
  workspace: string,
  state: LocalState,
  perPair: { items: number; records: number; transactions: number },
  pairs: number,
) {
  const region = state.regions[0];
  const names = deriveNames(loadConfig({ workspace }, {}));
  const table = names.tables.find((t) => t.purpose === 'safe-store')?.name as string;
  const dynamo = dynamoClient({ region, endpoint: state.endpoints.regions[region].dynamodb });
  const kinesis = kinesisClient({ region, endpoint: state.endpoints.regions[region].kinesis });
  const password = readFileSync(path.join(workspace, 'secrets', 'postgres-password'), 'utf8').trim();
  const poolIn = (where: string) =>
    new pg.Pool({
      host: '127.0.0.1',
      port: state.endpoints.regions[where].postgres.port,
      user: 'postgres',
      password,
      database: names.databases.trade,
      max: 8,
    });
  // The table exists in every region, so logical replication (FOR ALL TABLES) applies the ceiling's rows to the
  // standby as it does the pipeline's, instead of failing on a missing table.
  const pools = state.regions.map(poolIn);
  for (const each of pools)
    await each.query('CREATE TABLE IF NOT EXISTS bench_ceiling (id text PRIMARY KEY, payload jsonb)');
  const pool = pools[0];
  // A stream of its own (shaped like the pipeline's): records put on a stage's stream would be consumed by it.
  const stream = `${state.environment}-bench-ceiling`;
  await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 2 }));
  while (
    (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary
      ?.StreamStatus !== 'ACTIVE'
  )
    await sleep(100);
  // The items the run wrote, as they are (same attributes and sizes), copied under new ids: the ceiling writes
  // what the pipeline writes, not a smaller stand-in.
  const samples: Record<string, AttributeValue>[] = [];
  for (const safeStore of names.tables.filter((t) => t.purpose === 'safe-store')) {
    const page = await dynamo.send(new ScanCommand({ TableName: safeStore.name, Limit: 40 }));
    samples.push(...(page.Items ?? []));
  }
  if (!samples.length) throw new Error('the run left no safe-store items to copy');
  const payloads = samples.map((item) => item.payload?.S ?? '{}');
  const payload = payloads[0];
  const totalItems = Math.round(perPair.items * pairs);
  const totalRecords = Math.round(perPair.records * pairs);
  const totalTx = Math.round(perPair.transactions * pairs);
  const started = Date.now();
  const run = `c${started}`;
  const lanes = async (
    count: number,
    chunk: number,
    concurrency: number,
    send: (from: number, to: number) => Promise<unknown>,
  ) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const from = next;
          next = Math.min(count, next + chunk);
          await send(from, next);
        }
      }),
    );
  };
  await Promise.all([
    lanes(totalItems, 25, 4, (from, to) =>
      dynamo.send(
        new BatchWriteItemCommand({
          RequestItems: {
            [table]: Array.from({ length: to - from }, (_, i) => ({
              PutRequest: {
                Item: { ...samples[(from + i) % samples.length], id: { S: `${run}-${from + i}` } },
              },
            })),
          },
        }),
      ),
    ),
    lanes(totalRecords, 100, 2, (from, to) =>
      kinesis.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: Array.from({ length: to - from }, (_, i) => ({
            PartitionKey: `${run}-${from + i}`,
            Data: Buffer.from(payloads[(from + i) % payloads.length]),
          })),
        }),
      ),
    ),
    lanes(totalTx, 1, 8, (from) =>
      pool.query(
        'INSERT INTO bench_ceiling (id, payload) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET payload = EXCLUDED.payload',
        [`${run}-${from}`, payload],
      ),
    ),
  ]);
  const seconds = (Date.now() - started) / 1000;
  // Not dropped: a DROP on the standby could overtake rows still being applied there and stall replication; the
  // workspace is destroyed after the bench anyway.
  for (const each of pools) await each.end();
  await kinesis.send(new DeleteStreamCommand({ StreamName: stream }));
  dynamo.destroy();
  kinesis.destroy();
  return { pairsPerSecond: pairs / seconds, seconds };
}

export async function benchPipeline(): Promise<void> {
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-pipeline-'));
  chmodSync(workspace, 0o755);
  const flags = ['--workspace', workspace];
  tsr(['deploy', ...flags]);
  try {
    const state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8')) as LocalState;
    const names = deriveNames(loadConfig({ workspace }, {}));
    const platform = await openLocalPlatform(loadConfig({ workspace }, {}));
    const safeStores = names.tables.filter((t) => t.purpose === 'safe-store').map((t) => t.name);
    const writesBefore = await safeStoreWrites(state, safeStores);
    const sustained = await sustainedThroughput(workspace, state, platform);
    console.log(
      `sustained throughput: ${sustained.pairsPerSecond.toFixed(1)} pairs/s fully final (steady state over ${sustained.windowSeconds.toFixed(0)} s after a 30 s warm-up; offered ${sustained.offeredPerSecond.toFixed(1)}/s, backlog ${sustained.backlog.start} → ${sustained.backlog.end} pairs)`,
    );
    if (sustained.cpu) {
      const { cpu } = sustained;
      const perPairMs = (seconds: number) =>
        ((seconds * 1000) / (sustained.pairsPerSecond * cpu.seconds)).toFixed(0).padStart(4);
      console.log(
        `where the CPU went in that window: the platform used ${(cpu.machineShare * 100).toFixed(0)}% of ${os.availableParallelism()} cores, ${perPairMs(cpu.total).trim()} ms CPU per pair`,
      );
      for (const [group, seconds] of summarizeCpu(cpu.components))
        console.log(
          `  ${perPairMs(seconds)} ms/pair  ${((seconds / cpu.total) * 100).toFixed(0).padStart(3)}%  ${group}`,
        );
    }

    const services = (
      tsr(['services', 'status', ...flags]) as {
        services: { id: string; metricsSnapshot?: { counters?: Record<string, number> } }[];
      }
    ).services;
    const primary = state.regions[0];
    const out = (id: string) => services.find((s) => s.id === `${id}@${primary}`)?.metricsSnapshot?.counters?.out ?? 0;
    const streamFed = ['inbound-gateway', 'ingestion', 'core', 'egress'];
    const records = ['trade', 'settlement']
      .flatMap((app) => streamFed.map((stage) => out(`${app}/${stage}`)))
      .reduce((a, b) => a + b, 0);
    const coreIn =
      (services.find((s) => s.id === `trade/core@${primary}`)?.metricsSnapshot?.counters?.in ?? 0) +
      (services.find((s) => s.id === `settlement/core@${primary}`)?.metricsSnapshot?.counters?.in ?? 0);
    const perPair = {
      items: ((await safeStoreWrites(state, safeStores)) - writesBefore) / sustained.pairs,
      records: records / sustained.pairs,
      transactions: coreIn / sustained.pairs,
    };
    console.log(
      `writes per pair: ${perPair.items.toFixed(1)} safe-store item writes, ${perPair.records.toFixed(1)} stream records, ${perPair.transactions.toFixed(1)} core transactions`,
    );

    // Issue 16: the DynamoDB link at 80% of the sustained rate, and whether it is the part that starves when the
    // platform is overloaded.
    const drain = () => drained(workspace, state, 300_000);
    const eighty = Math.max(1, Math.round(sustained.pairsPerSecond * 0.8));
    const at80 = await replicationAtRate(workspace, platform, eighty, { warmupSeconds: 10, seconds: 40, drain });
    const ms = (v: number) => `${Math.round(v).toLocaleString('en-US')} ms`;
    console.log(
      `DynamoDB replication lag at 80% of the sustained rate (${eighty} pairs/s, 40 s after a 10 s warm-up, worst table per look every 250 ms): ` +
        `p50 ${ms(at80.lag.p50)}, p99 ${ms(at80.lag.p99)}, max ${ms(at80.lag.max)} over ${at80.lag.looks} looks` +
        `${at80.lag.unmeasured ? ` (${at80.lag.unmeasured} unmeasured)` : ''} (goal p99 ≤ 1,000 ms)`,
    );
    const over = Math.max(2, Math.round(sustained.pairsPerSecond * 1.5));
    const overloaded = await replicationAtRate(workspace, platform, over, {
      warmupSeconds: 0,
      seconds: 30,
      flow: true,
      drain,
    });
    console.log(
      `overloaded at 150% (${over} pairs/s for 30 s): replication lag p99 ${ms(overloaded.lag.p99)}, max ${ms(overloaded.lag.max)}; ` +
        `the pipeline's oldest unconfirmed pair ${ms(overloaded.oldestUnconfirmedMs ?? NaN)} ` +
        `(offered ${overloaded.offeredPerSecond} pairs/s, confirmed ${overloaded.confirmedPerSecond}); ` +
        `flow: ${overloaded.flow?.summary ?? 'not measured'}`,
    );

    const half = Math.max(1, Math.round(sustained.pairsPerSecond / 2));
    // A fresh generator process, so the latency figures are of this run only (not of the saturating one), once the
    // platform has finished what the saturating run left (replication to the standby, compactions).
    tsr(['services', 'restart', 'generator', ...flags]);
    const settled = await quiet(state);
    const { measured, withWarmup, hops } = await latencyAt(workspace, state, half, 15, 30);
    const figures = (latency?: { p50: number; p99: number; samples: number }) =>
      latency ? `p50 ${latency.p50} ms, p99 ${latency.p99} ms over ${latency.samples}` : 'no samples';
    console.log(
      `latency submit → MATCHED confirmation at ${half} pairs/s, 30 s after a 15 s warm-up: ${figures(measured)} (goal p99 < 2,000 ms)`,
    );
    console.log(
      `  with the warm-up from an idle platform (at ${(settled * 100).toFixed(0)}% CPU; idle shards are read once a second): ${figures(withWarmup)}`,
    );
    console.log('  where it goes: time from submission until each trade-matching stage stored the record (p50 / p99)');
    for (const hop of hops)
      console.log(
        `  ${hop.stage.padEnd(17)} ${String(hop.p50).padStart(5)} / ${String(hop.p99).padStart(5)} ms  (${hop.samples})`,
      );

    const limit = await ceiling(workspace, state, perPair, 2_000);
    console.log(
      `engine ceiling for that write mix: ${limit.pairsPerSecond.toFixed(1)} pairs/s (2,000 pairs' writes in ${limit.seconds.toFixed(1)} s)`,
    );
    console.log(
      `ratio throughput ÷ ceiling: ${(sustained.pairsPerSecond / limit.pairsPerSecond).toFixed(2)} (goal ≥ 0.5)`,
    );
  } finally {
    spawnSync(process.execPath, [RUN, 'destroy', '--purge', '--confirm', 'dev', ...flags]);
  }
}
