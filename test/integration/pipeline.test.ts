import { readFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import type { LocalState } from '../../src/infra/local/state.js';
import { loadConfig } from '../../src/config/load.js';
import { generatorStatus } from '../../src/platform/generator-control.js';
import { openLocalPlatform } from '../../src/platform/open.js';
import { runJson, runTsr, tempWorkspace, type ResultOf } from '../helpers/cli.js';
import { checkLedger, type LedgerCheck } from '../helpers/ledger.js';
import { eventually } from '../helpers/eventually.js';
import type ServicesStatus from '../../src/commands/services/status.js';
import type GeneratorStop from '../../src/commands/generator/stop.js';
import type { HeapSpaces } from '../../src/clients/heap-collector.js';

/**
 * Trades flow from the generator through the ten services and end in exactly the states docs/domain.md predicts —
 * also when services are killed mid-stream — and bad input becomes REJECTED records with reasons.
 */
describe('pipeline: trade matching and settlement end to end', () => {
  const workspace = tempWorkspace('tsr-pipeline-');
  const flags = ['--workspace', workspace];
  let state: LocalState;

  beforeAll(async () => {
    const { result } = await runJson(['deploy', ...flags]);
    expect(result.code).toBe(0);
    state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8'));
  }, 180_000);

  afterAll(async () => {
    await runTsr(['destroy', '--purge', '--confirm', 'dev', ...flags]);
  }, 60_000);

  /** Load until the generator has sent `pairs` (`during` runs once a fifth of them are out), then stop it. */
  const generate = async (pairs: number, during?: () => Promise<void>) => {
    expect((await runTsr(['generator', 'start', '--rate', '15', ...flags])).code).toBe(0);
    const sentAtLeast = (n: number) =>
      eventually(
        async () =>
          (await runJson<ResultOf<typeof GeneratorStop>>(['generator', 'status', ...flags])).json.pairsSent >= n,
        { timeoutMs: 120_000, intervalMs: 250, what: `${n} pairs sent` },
      );
    await sentAtLeast(Math.ceil(pairs / 5));
    await during?.();
    await sentAtLeast(pairs);
    const stopped = await runJson<ResultOf<typeof GeneratorStop>>(['generator', 'stop', ...flags]);
    expect(stopped.json.enabled).toBe(false);
    return stopped.json;
  };

  const settled = (extraTrades = 0) =>
    eventually<LedgerCheck>(
      async () => {
        const check = await checkLedger(workspace, state);
        const done =
          !check.trades.wrong.length &&
          !check.settlements.wrong.length &&
          check.stored.trades === check.trades.expected + extraTrades;
        return done ? check : undefined;
      },
      { timeoutMs: 120_000, what: 'every pair in its predicted final state' },
    ).catch(async (error) => {
      const check = await checkLedger(workspace, state);
      throw new Error(
        `${(error as Error).message}\n${JSON.stringify({ ...check, trades: { ...check.trades, wrong: check.trades.wrong.slice(0, 10) }, settlements: { ...check.settlements, wrong: check.settlements.wrong.slice(0, 10) } }, null, 1)}`,
      );
    });

  const services = async () =>
    (await runJson<ResultOf<typeof ServicesStatus>>(['services', 'status', ...flags])).json.services;

  it('brings every generated pair to its predicted state, and the stage counts agree', async () => {
    const sent = await generate(75);
    expect(sent.pairsSent).toBeGreaterThan(40);
    const check = await settled();
    expect(check.pairs).toBe(sent.pairsSent);
    expect(check.stored.settlements).toBe(check.settlements.expected);

    const primary = state.regions[0];
    const running = await services();
    // A process's counters start at zero: none may have been restarted for the sums below to hold (nor should any).
    expect(running.filter((s) => s.restarts > 0).map((s) => `${s.id}: ${s.lastExit}`)).toEqual([]);
    // Each stage reports its own memory: V8's heap within what is resident (tells a growing heap from native growth),
    // and per V8 space what is used within the pages it holds (tells live growth from fragmentation and code).
    const stages = running.filter((s) => s.id.includes('@'));
    expect(stages.length).toBeGreaterThanOrEqual(10);
    for (const s of stages) {
      const memory = (
        s.metricsSnapshot?.sources as { memory?: NodeJS.MemoryUsage & { spaces?: HeapSpaces } } | undefined
      )?.memory;
      expect(memory?.heapUsed).toBeGreaterThan(0);
      expect(memory?.rss).toBeGreaterThan(memory?.heapUsed ?? Infinity);
      for (const space of ['old_space', 'code_space']) {
        expect(memory?.spaces?.[space]?.used).toBeGreaterThan(0);
        expect(memory?.spaces?.[space]?.size).toBeGreaterThanOrEqual(memory?.spaces?.[space]?.used ?? Infinity);
      }
    }
    const counters = Object.fromEntries(running.map((s) => [s.id, s.metricsSnapshot?.counters ?? {}]));
    const at = (app: string, stage: string) => counters[`${app}/${stage}@${primary}`];
    // Records a stage's consumer was given again after handling them (a checkpoint write that failed on a loaded
    // machine): at-least-once delivery, which its `in` counts a second time.
    const again = Object.fromEntries(
      running.map((s) => [
        s.id,
        (s.metricsSnapshot?.sources as { consumer?: { recordsRedelivered?: number } } | undefined)?.consumer
          ?.recordsRedelivered ?? 0,
      ]),
    );
    const redelivered = (app: string, stage: string) => again[`${app}/${stage}@${primary}`];
    // Trade sides: every side the generator sent passed each tm stage up to core once, plus what was delivered again.
    const sides = check.trades.expected;
    expect(at('trade', 'inbound-gateway').out).toBeGreaterThanOrEqual(sides);
    expect(at('trade', 'ingestion').in).toBe(at('trade', 'inbound-gateway').out + redelivered('trade', 'ingestion'));
    expect(at('trade', 'core').in).toBe(at('trade', 'ingestion').out + redelivered('trade', 'core'));
    expect(at('trade', 'egress').in).toBe(at('trade', 'core').out + redelivered('trade', 'egress'));
    expect(at('trade', 'outbound-gateway').in).toBe(
      at('trade', 'egress').out + redelivered('trade', 'outbound-gateway'),
    );
    // Every settlement instruction tm sent reached st, and every result came back: once each, or again where a stage
    // of the app before it was given records again (its gateway publishes them again; the receiver keeps them once).
    const redeliveredIn = (app: string) =>
      ['ingestion', 'core', 'egress', 'outbound-gateway'].reduce((sum, stage) => sum + redelivered(app, stage), 0);
    expect(at('settlement', 'inbound-gateway').out).toBeGreaterThanOrEqual(check.settlements.expected);
    expect(at('settlement', 'inbound-gateway').out).toBeLessThanOrEqual(
      check.settlements.expected + redeliveredIn('trade'),
    );
    expect(at('settlement', 'outbound-gateway').out).toBeGreaterThanOrEqual(check.settlements.expected);
    expect(at('settlement', 'outbound-gateway').out).toBeLessThanOrEqual(
      check.settlements.expected + redeliveredIn('settlement'),
    );
    // The standby region did no work.
    expect(counters[`trade/core@${state.regions[1]}`].in).toBe(0);

    // Latency to MATCHED is measured for each confirmed side, and can be asked for a later window only (a bench's
    // figures after its warm-up): none were received after now.
    const platform = await openLocalPlatform(loadConfig({ workspace }, {}));
    try {
      const status = await generatorStatus(platform);
      const latency = status.latencyToMatchedMs;
      expect(latency?.samples).toBeGreaterThan(0);
      expect(latency?.samples).toBeLessThanOrEqual(status.confirmations.MATCHED);
      expect(latency?.p99).toBeGreaterThanOrEqual(latency?.p50 ?? Infinity);
      expect((await generatorStatus(platform, { latencySince: Date.now() })).latencyToMatchedMs).toBeUndefined();
    } finally {
      await platform.close();
    }
  }, 240_000);

  it('turns bad input into REJECTED records with reasons, without blocking what follows', async () => {
    const broker = state.endpoints.regions[state.regions[0]].broker;
    const client = await mqtt.connectAsync(broker, { clientId: `bad-input-${Date.now()}`, reconnectPeriod: 0 });
    const confirmations: { status?: string; reason?: string; id?: string; tradeRecordId?: string }[] = [];
    client.on('message', (_t, payload) => confirmations.push(JSON.parse(payload.toString())));
    await client.subscribeAsync('tm/out/confirmations', { qos: 1 });
    const run = `bad${Date.now()}`;
    const trade = (sender: 'IM' | 'BR', extra: Record<string, unknown> = {}) => ({
      senderId: sender === 'IM' ? 'IMX' : 'BRX',
      imId: 'IMX',
      brokerId: 'BRX',
      tradeId: `${run}-1`,
      side: 'B',
      security: 'IBM',
      quantity: 300,
      price: '101.25',
      tradeDate: '2026-11-26',
      settlementDate: '2026-11-27',
      deliveryInstructions: 'DTC 0005',
      allocations: [
        { allocationId: 1, quantity: 100, account: 'ACC-1' },
        { allocationId: 2, quantity: 200, account: 'ACC-2' },
      ],
      ...extra,
    });
    const bad = [
      '{"not json',
      JSON.stringify({ ...trade('IM'), security: undefined, tradeId: `${run}-missing` }),
      JSON.stringify(trade('IM', { tradeId: `${run}-neg`, quantity: -5 })),
      JSON.stringify(
        trade('IM', { tradeId: `${run}-sum`, allocations: [{ allocationId: 1, quantity: 100, account: 'A' }] }),
      ),
      JSON.stringify(trade('IM', { tradeId: `${run}-big`, deliveryInstructions: 'x'.repeat(70 * 1024) })),
    ];
    for (const message of bad) await client.publishAsync('tm/in/trades', message, { qos: 1 });
    await client.publishAsync(
      'tm/in/settlements',
      JSON.stringify({
        settlementId: `IMX-IMX-BRX-${run}-nope-1`,
        tradeRecordId: `IMX-IMX-BRX-${run}-nope`,
        allocationId: 1,
        status: 'SETTLED',
      }),
      { qos: 1 },
    );
    // A valid pair after the bad messages still matches, and a changed resubmission of one side is refused.
    await client.publishAsync('tm/in/trades', JSON.stringify(trade('IM')), { qos: 1 });
    await client.publishAsync('tm/in/trades', JSON.stringify(trade('BR')), { qos: 1 });
    await client.publishAsync('tm/in/trades', JSON.stringify(trade('IM', { price: '99.00' })), { qos: 1 });

    const imId = `IMX-IMX-BRX-${run}-1`;
    await eventually(
      async () =>
        confirmations.filter((c) => c.status === 'REJECTED').length >= bad.length + 2 &&
        confirmations.some((c) => c.tradeRecordId === imId && c.status === 'MATCHED'),
      { timeoutMs: 60_000, what: 'rejections and the match' },
    );
    await client.endAsync();
    const reasons = confirmations.filter((c) => c.status === 'REJECTED').map((c) => c.reason ?? '');
    expect(reasons.some((r) => /JSON/i.test(r))).toBe(true);
    expect(reasons.some((r) => r.includes('security'))).toBe(true);
    expect(reasons.some((r) => r.includes('quantity'))).toBe(true);
    expect(reasons.some((r) => r.includes('allocations'))).toBe(true);
    expect(reasons.some((r) => /larger than the \d+-byte limit/.test(r))).toBe(true);
    expect(reasons.some((r) => r.includes('unknown trade'))).toBe(true);
    expect(reasons.some((r) => /different content|conflict/i.test(r))).toBe(true);
    const matched = confirmations.find((c) => c.tradeRecordId === imId && c.status === 'MATCHED');
    expect(matched).toBeDefined();
  }, 120_000);

  it('loses and duplicates nothing when services are killed with SIGKILL under load', async () => {
    const victims = [
      'trade/inbound-gateway',
      'trade/core',
      'trade/egress',
      'settlement/ingestion',
      'settlement/core',
    ].map((s) => `${s}@${state.regions[0]}`);
    await generate(75, async () => {
      const running = await services();
      for (const id of victims) {
        const pid = running.find((s) => s.id === id)?.pid;
        expect(pid).toBeDefined();
        process.kill(pid as number, 'SIGKILL');
      }
    });
    // The bad-input test added one valid pair that is not in the ledger.
    await settled(2);
    const after = await services();
    for (const id of victims) expect(after.find((s) => s.id === id)?.restarts).toBeGreaterThanOrEqual(1);
    expect(after.every((s) => s.up)).toBe(true);
  }, 300_000);
});
