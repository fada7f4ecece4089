import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import type { LocalState } from '../../src/infra/local/state.js';
import { dynamoClient } from '../../src/clients/aws-clients.js';
import type { ReconcileReport } from '../../src/reconcile/index.js';
import { runJson, runTsr, tempWorkspace, type ResultOf } from '../helpers/cli.js';
import { checkLedger } from '../helpers/ledger.js';
import { eventually } from '../helpers/eventually.js';
import type Status from '../../src/commands/status.js';
import type GeneratorStop from '../../src/commands/generator/stop.js';
import type { LocalDeployOutput as DeployOutput } from '../../src/lib/targets.js';

/**
 * `tsr reconcile` against the real local platform, deployed through the CLI: clean traffic reconciles clean; records
 * deleted from safe stores and dropped between stages are named exactly; --replay restores them (final states still
 * those the generator's ledger predicts) and a second run finds nothing; bad input and a dead engine are reported.
 */
describe('tsr reconcile on the local platform', () => {
  const workspace = tempWorkspace('tsr-reconcile-');
  const flags = ['--workspace', workspace];
  let state: LocalState;
  const clients: DynamoDBClient[] = [];
  const db = (region: string) => {
    const c = dynamoClient({ region, endpoint: state.endpoints.regions[region].dynamodb });
    clients.push(c);
    return c;
  };
  let since: string;
  const reconcileJson = (...args: string[]) =>
    runJson<ReconcileReport>(['reconcile', '--since', since, ...args, ...flags]);

  /** Items of a table accepted in the last 10 minutes (through the time index). */
  async function items(client: DynamoDBClient, table: string): Promise<Record<string, AttributeValue>[]> {
    const out: Record<string, AttributeValue>[] = [];
    const now = Date.now();
    for (let m = Math.floor((now - 600_000) / 60_000) * 60_000; m <= now; m += 60_000) {
      const answer = await client.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'by-time',
          KeyConditionExpression: 'timeBucket = :b',
          ExpressionAttributeValues: { ':b': { S: new Date(m).toISOString().slice(0, 16) } },
        }),
      );
      out.push(...(answer.Items ?? []));
    }
    return out;
  }
  const del = (client: DynamoDBClient, table: string, id: string) =>
    client.send(new DeleteItemCommand({ TableName: table, Key: { id: { S: id } } }));

  beforeAll(async () => {
    const started = Date.now();
    const { result } = await runJson<DeployOutput>(['deploy', ...flags]);
    // With what deploy said when it failed: the cause is in its stderr.
    expect({ code: result.code, stderr: result.stderr.slice(-3000) }).toMatchObject({ code: 0 });
    state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8'));
    expect((await runTsr(['generator', 'start', '--rate', '20', ...flags])).code).toBe(0);
    await eventually(
      async () =>
        (await runJson<ResultOf<typeof GeneratorStop>>(['generator', 'status', ...flags])).json.pairsSent >= 30,
      { timeoutMs: 60_000, what: '30 pairs sent' },
    );
    expect((await runTsr(['generator', 'stop', ...flags])).code).toBe(0);
    await eventually(
      async () => {
        const check = await checkLedger(workspace, state);
        return check.pairs > 0 && !check.trades.wrong.length && !check.settlements.wrong.length;
      },
      { timeoutMs: 120_000, what: 'final states of the ledger' },
    );
    since = `${Math.ceil((Date.now() - started) / 60_000) + 2}m`;
  }, 240_000);

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await runTsr(['destroy', '--purge', '--confirm', 'dev', ...flags]);
  }, 60_000);

  it('finds nothing missing after clean traffic', async () => {
    const { result, json } = await eventually(
      async () => {
        const run = await reconcileJson();
        return run.result.code === 0 ? run : undefined;
      },
      { timeoutMs: 60_000, what: 'a clean reconciliation' },
    );
    expect(result.code).toBe(0);
    expect(json.gaps).toBe(false);
    expect(json.complete).toBe(true);
    expect(json.totals).toMatchObject({ missing: 0, extra: 0, statusDiffers: 0 });
    expect(json.hops).toHaveLength(10);
    expect(json.tables).toHaveLength(10);
    for (const hop of json.hops) {
      expect(hop.upstream.count).toBeGreaterThan(0);
      expect(hop.matched).toBe(hop.upstream.count);
    }
  }, 90_000);

  it('names exactly the records deleted and dropped, replays them, and a second run finds nothing', async () => {
    const east = db('us-east-1');
    const west = db('us-west-2');
    const pick = <T>(list: T[], n: number) => [...list].sort(() => Math.random() - 0.5).slice(0, n);

    // Trades that never reached tm ingestion: their ingestion and core items deleted.
    const trades = pick(
      (await items(east, 'dev-tm-inbound-gateway')).filter((i) => i.kind.S === 'trade' && i.forwarded.BOOL),
      2,
    ).map((i) => i.id.S as string);
    for (const id of trades) {
      await del(east, 'dev-tm-ingestion', id);
      await del(east, 'dev-tm-core', id);
    }
    // Status events tm egress never received (nor, therefore, outbound).
    const statuses = pick(
      (await items(east, 'dev-tm-core')).filter((i) => i.kind.S === 'trade-status' && i.forwarded.BOOL),
      2,
    ).map((i) => i.id.S as string);
    for (const id of statuses) {
      await del(east, 'dev-tm-egress', id);
      await del(east, 'dev-tm-outbound-gateway', id);
    }
    // Instructions st ingestion lost from its safe store (st core did get them).
    const instructions = pick(
      (await items(east, 'dev-st-ingestion')).filter((i) => i.origin.S === 'accepted'),
      2,
    ).map((i) => i.id.S as string);
    for (const id of instructions) await del(east, 'dev-st-ingestion', id);
    // Records lost in us-west-2 only (applied straight to the engine: the delete does not replicate).
    const lost = pick(await items(west, 'dev-st-egress'), 2).map((i) => i.id.S as string);
    const apply = await fetch(`${state.endpoints.regions['us-west-2'].dynamodb}/_tsr/apply`, {
      method: 'POST',
      body: JSON.stringify({
        changes: lost.map((id) => ({
          table: 'dev-st-egress',
          key: { id: { S: id } },
          op: 'delete',
          ts: Date.now(),
          origin: 'us-west-2',
        })),
      }),
    });
    expect(apply.ok).toBe(true);
    // The replicated deletes have reached us-west-2 once nothing waits to be applied there.
    await eventually(
      async () => {
        const lags = (await runJson<ResultOf<typeof Status>>(['status', ...flags])).json.replication;
        const into = lags.filter((l) => l.kind === 'table' && l.to === 'us-west-2');
        return into.length > 0 && into.every((l) => l.healthy && l.lagMs === 0 && !l.pending);
      },
      { timeoutMs: 30_000, what: 'replication into us-west-2 caught up' },
    );

    const damaged = await reconcileJson('--show-ids');
    expect(damaged.result.code).toBe(6);
    const report = damaged.json;
    const hop = (name: string) => report.hops.find((h) => h.name === name);
    const gaps = Object.fromEntries(
      report.hops
        .filter((h) => h.missing.length || h.extra.length)
        .map((h) => [h.name, { missing: h.missing, extra: h.extra }]),
    );
    expect(gaps).toEqual({
      'tm/inbound-gateway → tm/ingestion': { missing: [...trades].sort(), extra: [] },
      'tm/core → tm/egress': { missing: [...statuses].sort(), extra: [] },
      'st/inbound-gateway → st/ingestion': { missing: [...instructions].sort(), extra: [] },
      'st/ingestion → st/core': { missing: [], extra: [...instructions].sort() },
    });
    expect(hop('tm/core → tm/egress')?.statusDiffers).toEqual([]);
    const regionGaps = report.tables.filter((t) => t.missing.length || t.extra.length);
    expect(regionGaps.map((t) => [t.table, t.region, t.missing, t.extra])).toEqual([
      ['dev-st-egress', 'us-west-2', [...lost].sort(), []],
    ]);

    // The dry run says what it would do and sends nothing.
    const dry = await reconcileJson('--replay', '--dry-run');
    expect(dry.result.code).toBe(6);
    expect(dry.json.replay?.dryRun).toBe(true);
    expect(dry.json.replay?.actions.map((a) => [a.via, a.ids.length]).sort()).toEqual(
      [
        ['region-copy', 2],
        ['stream', 2],
        ['stream', 2],
        ['stream', 2],
      ].sort(),
    );
    expect(dry.json.replay?.audit).toBeUndefined();

    const replayed = await reconcileJson('--replay', '--show-ids');
    expect(replayed.json.replay?.actions.every((a) => !a.error)).toBe(true);
    expect(replayed.json.replay?.injected).toBe(8);
    expect(replayed.json.replay?.verify?.ok).toBe(true);
    expect(replayed.result.code).toBe(0);
    const audit = replayed.json.replay?.audit;
    expect(audit?.table).toBe('dev-audit');
    const entry = await east.send(
      new GetItemCommand({ TableName: 'dev-audit', Key: { id: { S: audit?.id as string } } }),
    );
    const payload = JSON.parse(entry.Item?.payload.S ?? '{}');
    expect(payload.who).toBe(audit?.who);
    expect(payload.window.fromMs).toBe(replayed.json.window.fromMs);
    expect(Object.values(payload.ids).flat()).toEqual(
      expect.arrayContaining([...trades, ...statuses, ...instructions, ...lost]),
    );

    // The records are back where they belong, and the final states are still the ledger's.
    for (const id of trades)
      expect(
        (await east.send(new GetItemCommand({ TableName: 'dev-tm-ingestion', Key: { id: { S: id } } }))).Item,
      ).toBeDefined();
    const ledger = await checkLedger(workspace, state);
    expect(ledger.trades.wrong).toEqual([]);
    expect(ledger.settlements.wrong).toEqual([]);

    const again = await reconcileJson();
    expect(again.json.totals).toMatchObject({ missing: 0, extra: 0 });
    expect(again.result.code).toBe(0);
  }, 150_000);

  it('refuses bad input with a usage error and the way out', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    // The other window rules are pinned in reconcile-window.test.ts; these go through the CLI end to end.
    const cases: [string[], RegExp][] = [
      [['--from', future], /future/],
      [['--from', '2026-01-02T00:00:00Z', '--to', '2026-01-01T00:00:00Z'], /reversed/],
      [['--since', '1h', '--region', 'eu-west-9'], /not one of this environment's regions/],
    ];
    for (const [args, message] of cases) {
      const run = await runTsr(['reconcile', ...args, ...flags]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    const nothing = await runTsr(['reconcile', '--since', '1h', '--workspace', tempWorkspace()]);
    expect(nothing.code).toBe(3);
    expect(nothing.stderr).toMatch(/not deployed/);
  }, 60_000);

  it('renders csv for a game-day record', async () => {
    const csv = await runTsr(['reconcile', '--since', since, '--format', 'csv', '--app', 'settlement', ...flags]);
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^section,name,upstream_table/);
    expect(lines.filter((l) => l.startsWith('hop,'))).toHaveLength(5);
  }, 60_000);

  it('reports what it could not check when an engine is down, and exits non-zero', async () => {
    const engine = state.processes.find((p) => p.id === 'dynamodb@us-west-2');
    expect(engine?.pid).toBeDefined();
    process.kill(engine?.pid as number, 'SIGKILL');
    const { result, json } = await reconcileJson();
    expect(result.code).toBe(4);
    expect(json.complete).toBe(false);
    expect(json.hops.every((h) => h.checked)).toBe(true);
    expect(json.tables.every((t) => !t.checked)).toBe(true);
    expect(json.unchecked.map((u) => u.name)).toEqual(json.tables.map((t) => `${t.table}: us-east-1 ↔ us-west-2`));
  }, 90_000);
});
