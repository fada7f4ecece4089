import { z } from 'zod';
import { safeStoreTable } from '../../config/model.js';
import { reconcileDynamoClient } from '../../reconcile/clients.js';
import { countLoss, ledgerSourceOf, sentToRegion } from '../../reconcile/ledger-loss.js';
import { StoreReader } from '../../reconcile/store-reader.js';
import { durationSchema, formatDuration } from '../duration.js';
import { defineStepType } from '../registry.js';
import { checkRegions } from './wait-replicated.js';

const PHASE = 'lost-in-region' as const;

/**
 * `observe.lost-in-region`: after losing a region, what only that region held — acknowledged by its broker and never
 * consumed, or accepted and not replicated yet — and so no replay can bring back. Reconciliation cannot see it (it
 * compares safe stores); the generator's ledger can: every trade side it sent to the lost region that the target's
 * inbound safe store never received. Without a ledger (the generator ran elsewhere) the count is "unknown".
 */
export const observeLostInRegion = defineStepType({
  type: 'observe.lost-in-region',
  summary: "Count what only the lost region held (not recoverable by replay), from the generator's ledger",
  params: z
    .object({
      app: z.enum(['trade', 'settlement']),
      source: z.string(),
      target: z.string(),
      /** How far before the last pair the lost region acknowledged to look. */
      window: durationSchema.default('10m'),
    })
    .strict(),
  defaultTimeoutMs: 120_000,
  check: (p, env) => checkRegions(env, [p.source, p.target], p.app),
  describe: (p) =>
    p.app === 'trade'
      ? `trade sides the generator's ledger says ${p.source} acknowledged (up to ${formatDuration(p.window)} before ` +
        `the last) that ${p.target} never received`
      : `nothing of its own: ${p.app}'s inputs are trade's records, kept in trade's replicated safe stores`,
  async run(ctx, p) {
    if (p.app !== 'trade') {
      const detail =
        `none of its own: ${p.app}'s inputs come from trade's replicated safe stores, which reconcile reads and ` +
        "replays; what never left the lost region is counted on trade's failover report";
      ctx.recordRpo({ phase: PHASE, count: 0, pairs: 0, detail });
      return { detail };
    }
    const ledger = ledgerSourceOf(ctx.platform, ctx.workspace, p.target);
    const runs = await ledger.runs();
    if (runs.length === 0) {
      const detail =
        `unknown: no generator ledger in ${ledger.where}; messages only the lost broker held (and records it had ` +
        'not replicated) are invisible to reconcile';
      ctx.recordRpo({ phase: PHASE, count: 0, unknown: true, detail });
      return { detail };
    }
    ctx.detail(`reading the generator's ledger (${runs.length} run${runs.length === 1 ? '' : 's'}, ${ledger.where})`);
    const sent = await sentToRegion(ledger, runs, p.source, p.window);
    const table = safeStoreTable(ctx.platform.config.environment, 'trade', 'inbound-gateway');
    const client = reconcileDynamoClient(p.target, ctx.platform.endpoints(p.target).dynamodb);
    try {
      const reader = new StoreReader(client, table, p.target);
      const loss = await countLoss(sent, async (ids) => new Set((await reader.getMany(ids)).keys()));
      const detail =
        `${loss.lostSides} trade side${loss.lostSides === 1 ? '' : 's'} (${loss.lostPairs} pair` +
        `${loss.lostPairs === 1 ? '' : 's'}) acknowledged by ${p.source} never reached ${p.target}: lost with the ` +
        `region, not recoverable by replay (of ${loss.checkedSides} sides the ledger shows sent to ${p.source}` +
        `${loss.sample.length ? `; e.g. ${loss.sample.join(', ')}` : ''})`;
      ctx.recordRpo({
        phase: PHASE,
        count: loss.lostSides,
        pairs: loss.lostPairs,
        oldest: loss.oldest,
        newest: loss.newest,
        detail,
        ...(loss.ids ? { ids: loss.ids } : {}),
      });
      return { detail, result: { ...loss, ids: undefined } };
    } finally {
      client.destroy();
    }
  },
});
