import { createHash, randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { z } from 'zod';
import type { AppName } from '../../config/apps.js';
import { ExitCode, UserError } from '../../errors.js';
import { tradeRecordId } from '../../domain/ids.js';
import { dnsRegion } from '../../clients/types.js';
import type { DrillCapabilities } from '../../platform/capabilities.js';
import type { Platform } from '../../platform/platform.js';
import {
  acceptAtInboundGateway,
  parseDuration,
  reconcile,
  reconcileDynamoClient,
  resolveWindow,
  StoreReader,
  type ReconcileReport,
} from '../../reconcile/index.js';
import { safeStoreTable } from '../../config/model.js';
import { durationSchema, formatDuration } from '../duration.js';
import { defineStepType, type StepContext } from '../registry.js';
import { MARKERS } from '../report.js';
import { windowSinceLastReplicated } from './reconcile-window.js';
import { checkRegions } from './wait-replicated.js';

/** The drill operations of the platform, or a clear refusal on a target that lacks them. */
function drills(platform: Platform): Platform & DrillCapabilities {
  if (!('switchoverDatabase' in platform)) {
    throw new UserError(
      `the ${platform.target} target cannot run this step`,
      'use a target with drill capabilities (local or aws)',
      ExitCode.usage,
    );
  }
  return platform as Platform & DrillCapabilities;
}

const appRegion = z
  .object({ app: z.enum(['trade', 'settlement']), region: z.string(), interval: durationSchema.default('250ms') })
  .strict();

/** Polls `measure` until it reports done; every measurement shows in the live detail line. */
async function until(
  ctx: StepContext,
  interval: number,
  measure: () => Promise<{ done: boolean; detail: string }>,
): Promise<string> {
  for (;;) {
    const { done, detail } = await measure();
    ctx.detail(detail);
    if (done) return detail;
    await ctx.sleep(interval);
  }
}

/**
 * `wait.drained`: the source broker holds nothing for the app's inbound session (read from the broker itself), and
 * the senders have had time to notice the dns swap: they poll their control about every second, so until then one
 * may still publish to the source — after its queue closed, that message would wait there (and a canary behind it
 * would never be confirmed). Drained means 0, measured at least `sendersGrace` after the `after` marker.
 */
export const waitDrained = defineStepType({
  type: 'wait.drained',
  summary: "Wait until a region's broker holds no message for the app's inbound gateway (measured at the broker)",
  params: appRegion.extend({
    /** The marker senders react to (the dns swap). */
    after: z.string().default(MARKERS.dnsSwapped),
    /** How long after it senders may still publish to the old broker: about two of their polls. */
    sendersGrace: durationSchema.default('2s'),
  }),
  requiresTimeout: true,
  check: (p, env) => checkRegions(env, [p.region], p.app),
  describe: (p) =>
    `broker backlog of ${p.app} in ${p.region} is 0 (measured, unknown never counts), ` +
    `${formatDuration(p.sendersGrace)} or more after ${p.after}`,
  async run(ctx, p) {
    const platform = drills(ctx.platform);
    const sendersSettledAt = (ctx.markerAt(p.after)?.getTime() ?? 0) + p.sendersGrace;
    let first: number | undefined;
    const detail = await until(ctx, p.interval, async () => {
      const depth = await platform.brokerQueueDepth(p.app, p.region);
      if (depth.depth === undefined)
        return { done: false, detail: `backlog unknown: ${depth.detail ?? 'not measurable'}` };
      first ??= depth.depth;
      const backlog = `backlog ${first.toLocaleString('en-US')} → ${depth.depth.toLocaleString('en-US')}`;
      // The measure itself must postdate the senders' grace (on AWS it is a metric the gateway published earlier).
      const waitSenders = sendersSettledAt - Math.min(Date.now(), Date.parse(depth.measuredAt));
      if (depth.depth === 0 && waitSenders > 0) {
        return { done: false, detail: `${backlog}; senders may still publish here for ${waitSenders} ms` };
      }
      return { done: depth.depth === 0, detail: backlog };
    });
    return { detail };
  },
});

/** `wait.streams-idle`: nothing is waiting after any consumer's checkpoint on the app's streams in the region. */
export const waitStreamsIdle = defineStepType({
  type: 'wait.streams-idle',
  summary: "Wait until every stream of an app in a region has nothing after its consumers' checkpoints",
  params: appRegion,
  requiresTimeout: true,
  check: (p, env) => checkRegions(env, [p.region], p.app),
  describe: (p) => `${p.app} streams in ${p.region} idle: no record after any checkpoint (measured)`,
  async run(ctx, p) {
    const platform = drills(ctx.platform);
    const detail = await until(ctx, p.interval, async () => {
      const backlogs = await platform.streamBacklog(p.app, p.region);
      const unknown = backlogs.filter((b) => b.pending === undefined);
      if (unknown.length)
        return {
          done: false,
          detail: `not measurable: ${unknown.map((b) => `${b.stage} (${b.detail ?? '?'})`).join(', ')}`,
        };
      const pending = backlogs.reduce((n, b) => n + (b.pending ?? 0), 0);
      const busiest = backlogs.filter((b) => b.pending).map((b) => `${b.stage} ${b.pending}`);
      return {
        done: pending === 0,
        detail: pending ? `${pending.toLocaleString('en-US')} records waiting (${busiest.join(', ')})` : 'streams idle',
      };
    });
    return { detail };
  },
});

const move = z.object({ app: z.enum(['trade', 'settlement']), from: z.string().optional(), to: z.string() }).strict();

function databaseStep(mode: 'switchover' | 'failover') {
  return defineStepType({
    type: `database.${mode}`,
    summary:
      mode === 'switchover'
        ? 'Move the core database writer with no loss (stop writes, wait until replicated, reverse replication)'
        : 'Force the core database writer over (the target keeps what it has; the source may be gone)',
    params: move,
    requiresTimeout: true,
    check: (p, env) => checkRegions(env, [p.to, p.from], p.app),
    describe: (p) => `${p.app} database writer ${p.from ?? '?'} → ${p.to} (${mode})`,
    async run(ctx, p) {
      const platform = drills(ctx.platform);
      ctx.detail(`moving the ${p.app} writer to ${p.to}`);
      // The platform waits for the writer within the step's own timeout (runbooks size it from AWS's figures) and
      // stops waiting on Ctrl-C, instead of its own default.
      const options = {
        signal: ctx.signal,
        timeoutMs: ctx.deadline !== undefined ? Math.max(0, ctx.deadline - Date.now()) : undefined,
      };
      const result =
        mode === 'switchover'
          ? await platform.switchoverDatabase(p.app, p.to, options)
          : await platform.failoverDatabase(p.app, p.to, options);
      const writer = await platform.databaseWriter(p.app);
      if (writer !== p.to) throw new Error(`the ${p.app} writer is in ${writer ?? 'no region'}, not ${p.to}`);
      return { detail: `writer ${result.from ?? '?'} → ${result.to} in ${result.durationMs} ms`, result };
    },
  });
}

export const databaseSwitchover = databaseStep('switchover');
export const databaseFailover = databaseStep('failover');

/** Missing records on hops that end at the app's inbound gateway via a broker (from the other app). */
function missingIntoInbound(report: ReconcileReport, app: AppName): number {
  const short = app === 'trade' ? 'tm' : 'st';
  return report.hops
    .filter((h) => h.name.endsWith(`→ ${short}/inbound-gateway`) && h.name.includes('outbound-gateway'))
    .reduce((n, h) => n + h.missing.length, 0);
}

/**
 * Missing records the other app's outbound gateway still holds for this app (accepted there, durably stored, not yet
 * delivered because this app's broker was unreachable): delayed, not lost by this app. A replay delivers them.
 */
function heldUpstream(report: ReconcileReport): number {
  return report.hops.reduce((n, h) => n + (h.held?.length ?? 0), 0);
}

/** The target's live traffic from a marker of this run on; a missing marker is a runbook mistake. */
function liveFrom(ctx: StepContext, marker: string | undefined, region: string) {
  if (marker === undefined) return undefined;
  const at = ctx.markerAt(marker);
  if (!at) throw new Error(`no ${marker} marker in this run: cannot tell ${region}'s live traffic from the rest`);
  return { region, sinceMs: at.getTime() };
}

/**
 * `reconcile`: compares every hop and region for a recent window, replays gaps, and records the RPO. Messages the
 * other app sent to the target broker that its inbound gateway has not consumed yet (its queue is Off, or it is busy)
 * wait there (delayed, not lost): they count as held, not missing, as long as the broker's own backlog covers them.
 * Likewise records the other app's outbound gateway holds for this app (see heldUpstream) are not counted: the RPO
 * is what THIS app accepted and lost; the report's detail says what a figure excludes.
 */
export const reconcileStep = defineStepType({
  type: 'reconcile',
  summary: 'Reconcile the app over a recent window; with replay, re-inject what is missing and record the RPO',
  params: z
    .object({
      app: z.enum(['trade', 'settlement']),
      region: z.string(),
      replay: z.boolean().default(true),
      /** How far back the window reaches (at most, with `from: last-replicated`). */
      since: z.string().default('30m'),
      /**
       * `last-replicated`: start the window where data can be missing, not `since` ago: at the newest record the
       * `source` region's inbound gateway accepted that the region read here holds (what replication last
       * delivered before the swap or the loss), less `margin`. Older records reached the target before it; a later
       * verification over `since` still re-checks them once the target consumes.
       */
      from: z.enum(['since', 'last-replicated']).default('since'),
      source: z.string().optional(),
      /**
       * A marker (e.g. dns-swapped) from which the target already consumes: what it stores from then on is its own
       * live traffic, not at risk from the switch, and is left to the verification (see ReconcileOptions.live).
       */
      liveSince: z.string().optional(),
      /** How far before the last replicated record the window starts (replication need not be in order). */
      margin: durationSchema.default('1m'),
      /** How long a gap younger than this is given to close before it counts (records in flight). */
      grace: durationSchema.default('5s'),
      /** A failover reconciles with the source region gone: what cannot be read there is reported, not fatal. */
      requireComplete: z.boolean().default(true),
      /** A later verification re-checks without replacing the RPO the first reconciliation measured. */
      recordRpo: z.boolean().default(true),
      /**
       * After a replay, how long the re-check waits for the pipeline to catch up (it stops as soon as nothing is
       * missing): longer where a backlog is still draining (held records, a broker queue just opened).
       */
      verifyTimeout: durationSchema.default('30s'),
    })
    .strict(),
  requiresTimeout: true,
  check: (p, env) => [
    ...checkRegions(env, [p.region, ...(p.source ? [p.source] : [])], p.app),
    ...(p.from === 'last-replicated' && !p.source
      ? ['from: last-replicated needs source: the region data came from']
      : []),
  ],
  describe: (p) =>
    `${p.app} hops and regions ${
      p.from === 'last-replicated'
        ? `since ${formatDuration(p.margin)} before the last record replicated from ${p.source ?? '?'} (at most ${p.since})`
        : `over the last ${p.since}`
    }, read in ${p.region}${p.replay ? ', replaying gaps' : ''}`,
  async run(ctx, p) {
    const app = p.app as AppName;
    const queueOn = (await ctx.platform.routingControls().get(`${app}-queue-${p.region}`)).state === 'On';
    const window =
      p.from === 'last-replicated' && p.source
        ? await windowSinceLastReplicated(ctx, app, p.source, p.region, parseDuration(p.since), p.margin)
        : resolveWindow({ since: p.since });
    const options = {
      window,
      apps: [app],
      region: p.region,
      graceMs: p.grace,
      live: liveFrom(ctx, p.liveSince, p.region),
      onProgress: (m: string) => ctx.detail(m),
      by: `runbook run ${ctx.runId}`,
    };
    // Measure first; replay only when something is missing beyond what is merely delayed: what the broker holds for
    // the app's inbound session (behind a closed queue, or not yet consumed by a busy gateway), and (while the queue
    // is closed) what the other app's gateway still holds for this app (its retry loop delivers it; replayed now it
    // would only wait at the broker too).
    const measured = await reconcile(ctx.platform, options);
    const upstreamBefore = heldUpstream(measured);
    const heldAtBroker = async (r: ReconcileReport): Promise<number> => {
      if (missingIntoInbound(r, app) === 0) return 0;
      const depth = (await drills(ctx.platform).brokerQueueDepth(app, p.region)).depth ?? 0;
      // Records still held upstream never reached the broker: they must not be counted twice.
      return Math.min(Math.max(0, missingIntoInbound(r, app) - heldUpstream(r)), depth);
    };
    const heldBefore = await heldAtBroker(measured);
    const delayed = heldBefore + (queueOn ? 0 : upstreamBefore);
    /** What is missing beyond what is merely delayed (held at the broker or upstream): the real gap. */
    const stillMissing = async (r: ReconcileReport): Promise<number> =>
      Math.max(0, r.totals.missing - (await heldAtBroker(r)) - heldUpstream(r));
    // The re-check stops once only delayed records are missing: replayed messages into a closed queue wait at the
    // broker until it opens, and waiting for them here would only hold the queue closed for the whole timeout.
    const settled = async (r: ReconcileReport) => (await stillMissing(r)) === 0;
    const report =
      p.replay && measured.totals.missing > delayed
        ? await reconcile(ctx.platform, { ...options, replay: true, verifyTimeoutMs: p.verifyTimeout, settled })
        : measured;
    const after = report.replay?.after ?? report;
    const upstreamAfter = heldUpstream(after);
    const held = report === measured ? heldBefore : await heldAtBroker(after);
    const before = Math.max(0, measured.totals.missing - heldBefore - upstreamBefore);
    const remaining = report === measured ? before : await stillMissing(after);
    const other = app === 'trade' ? 'settlement' : 'trade';
    const excluded = (n: number) =>
      n ? `excludes ${n} record(s) the ${other} outbound gateway holds for ${app} (delayed, not lost)` : undefined;
    if (p.recordRpo) {
      ctx.recordRpo({
        phase: 'before-replay',
        count: before,
        scope: app,
        detail: [`window ${report.window.from} → ${report.window.to}`, excluded(upstreamBefore)]
          .filter(Boolean)
          .join('; '),
      });
      ctx.recordRpo({
        phase: 'after-replay',
        count: remaining,
        scope: app,
        detail:
          [held ? `${held} more held by the ${p.region} broker, not yet consumed` : undefined, excluded(upstreamAfter)]
            .filter(Boolean)
            .join('; ') || undefined,
      });
    }
    if (!report.complete && p.requireComplete)
      throw new Error(
        `reconciliation incomplete: ${report.unchecked.map((u) => `${u.name} (${u.reason})`).join('; ')}`,
      );
    if (remaining > 0)
      throw new Error(`${remaining} records still missing after replay; see \`tsr reconcile --since ${p.since}\``);
    return {
      detail: `missing ${before} → ${remaining}, replayed ${report.replay?.injected ?? 0}${held ? `, ${held} held by the broker` : ''}${upstreamAfter ? `, ${upstreamAfter} held by ${other}` : ''}`,
      result: { totals: after.totals, replayed: report.replay?.injected ?? 0, heldByBroker: held },
    };
  },
});

/** The canary pair of a run: the same ids for every step (and every attempt) of the run, so re-sending dedupes. */
function canaryPair(runId: string) {
  const tradeId = `canary-${createHash('sha256').update(runId).digest('hex').slice(0, 8)}`;
  const base = {
    imId: 'CANARY-IM',
    brokerId: 'CANARY-BRK',
    tradeId,
    side: 'B',
    security: 'CANARY',
    quantity: 100,
    price: '1.00',
    tradeDate: new Date().toISOString().slice(0, 10),
    settlementDate: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10),
    deliveryInstructions: 'canary',
    allocations: [{ allocationId: 1, quantity: 100, account: 'CANARY-ACC' }],
  };
  const sides = [
    { ...base, senderId: base.imId },
    { ...base, senderId: base.brokerId },
  ];
  const ids = new Set(sides.map(tradeRecordId));
  // A persistent session (clean: false) of this client id keeps the confirmations between canary.send and canary.
  return { tradeId, sides, ids, clientId: `canary-${tradeId}` };
}

/** Region whose broker senders use for trades: the target for trade, wherever trade's dns is On for settlement. */
async function tradeRegionFor(ctx: StepContext, app: AppName, region: string): Promise<string> {
  if (app === 'trade') return region;
  const controls = await ctx.platform.routingControls().list();
  const found = dnsRegion(controls, 'trade', ctx.platform.config.regions);
  if (!found) throw new Error('no trade dns control is ON: senders have nowhere to publish');
  return found;
}

/** Connects, with the message listener in place before the broker can deliver what it held for the session. */
async function connect(
  url: string,
  options: mqtt.IClientOptions,
  onMessage?: (topic: string, payload: Buffer) => void,
): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 1_000, ...options });
  if (onMessage) client.on('message', onMessage);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (error) => {
      client.end(true);
      reject(error);
    });
  });
  // Later errors: the client reconnects by itself; the step's timeout bounds the wait.
  client.on('error', () => undefined);
  return client;
}

/** Drops the canary's persistent session (and what the broker holds for it). */
async function forgetSession(url: string, clientId: string): Promise<void> {
  const client = await connect(url, { clientId, clean: true });
  await client.endAsync();
}

/**
 * Where tsr cannot reach the brokers (AWS: private to the VPC), the canary pair is accepted at the trade inbound
 * gateway of the region senders use — its safe store and ingestion stream, with the ids the gateway gives them (the
 * same ids again change nothing) — and its confirmations are read from the trade outbound gateway's safe store there,
 * where they are stored, marked forwarded once published to senders. The path it proves starts at the gateway's
 * store; the broker leg is what wait.drained (the gateway's reading of its session) and observe.accepting measure.
 */
type CanaryPair = Pick<ReturnType<typeof canaryPair>, 'tradeId' | 'sides' | 'ids'>;

async function injectCanary(ctx: StepContext, region: string, pair: CanaryPair): Promise<void> {
  const sentAt = Date.now();
  const topic = ctx.platform.names.topics.tmInTrades;
  await acceptAtInboundGateway(
    ctx.platform,
    'trade',
    region,
    pair.sides.map((side) => ({ topic, payload: JSON.stringify({ ...side, submittedAt: sentAt }) })),
  );
}

/** Waits until the trade outbound gateway in `region` stored and forwarded `expected` for every side of the pair. */
async function confirmedInStore(ctx: StepContext, region: string, pair: CanaryPair, expected: string): Promise<void> {
  const table = safeStoreTable(ctx.platform.config.environment, 'trade', 'outbound-gateway');
  const client = reconcileDynamoClient(region, ctx.platform.endpoints(region).dynamodb);
  const reader = new StoreReader(client, table, region);
  try {
    const ids = [...pair.ids].map((id) => `${id}#${expected}`);
    for (;;) {
      const found = await reader.getMany(ids, true);
      const forwarded = ids.filter((id) => found.get(id)?.forwarded?.BOOL === true);
      ctx.detail(`${forwarded.length}/${ids.length} sides ${expected} (read from ${reader.label})`);
      if (forwarded.length === ids.length) return;
      await ctx.sleep(1_000);
    }
  } finally {
    client.destroy();
  }
}

const canaryParams = z
  .object({
    app: z.enum(['trade', 'settlement']),
    region: z.string(),
    /**
     * The pair was already published by a `canary.send` step of this run (e.g. right after the dns swap, so that it
     * waits at the head of the target broker's queue rather than behind everything senders published meanwhile):
     * only wait for its confirmations.
     */
    sent: z.boolean().default(false),
  })
  .strict();

/**
 * `canary.send`: publishes the run's canary pair to the broker senders use now, with a persistent session subscribed
 * to the confirmations, so a later `canary` step (`sent: true`) receives them even if they come before it starts.
 * With `forget: true` (its rollback), drops that session.
 */
export const canarySend = defineStepType({
  type: 'canary.send',
  summary: 'Publish the run’s canary trade pair now; a later canary step (sent: true) waits for its confirmation',
  params: z
    .object({ app: z.enum(['trade', 'settlement']), region: z.string(), forget: z.boolean().default(false) })
    .strict(),
  defaultTimeoutMs: 30_000,
  check: (p, env) => checkRegions(env, [p.region], p.app),
  describe: (p) =>
    p.forget
      ? `drop the canary's confirmation session`
      : `a canary pair for ${p.app} in ${p.region}, published now (confirmed by a later canary step)`,
  async run(ctx, p) {
    const pair = canaryPair(ctx.runId);
    const tradeRegion = await tradeRegionFor(ctx, p.app as AppName, p.region);
    if (ctx.platform.brokersReachable === false) {
      if (p.forget) return { detail: 'no broker session to drop (the canary went through the gateway’s store)' };
      await injectCanary(ctx, tradeRegion, pair);
      return {
        detail: `canary ${pair.tradeId} accepted at the trade inbound gateway in ${tradeRegion} (its store and stream)`,
        result: { tradeId: pair.tradeId, region: tradeRegion },
      };
    }
    const url = ctx.platform.endpoints(tradeRegion).broker;
    if (p.forget) {
      await forgetSession(url, pair.clientId);
      return { detail: `dropped session ${pair.clientId}` };
    }
    const client = await connect(url, { clientId: pair.clientId, clean: false });
    try {
      await client.subscribeAsync(ctx.platform.names.topics.tmOutConfirmations, { qos: 1 });
      const sentAt = Date.now();
      for (const side of pair.sides)
        await client.publishAsync(
          ctx.platform.names.topics.tmInTrades,
          JSON.stringify({ ...side, submittedAt: sentAt }),
          { qos: 1 },
        );
    } finally {
      await client.endAsync();
    }
    return { detail: `canary ${pair.tradeId} sent to ${url}`, result: { tradeId: pair.tradeId, url } };
  },
});

/**
 * `canary`: a matching trade pair goes end to end through the target region. For trade matching the MATCHED
 * confirmations must come back from the target's broker; for settlement, the SETTLED ones (they pass through the
 * settlement app wherever its dns is ON). With `sent: true` the pair is the one a `canary.send` step published.
 */
export const canary = defineStepType({
  type: 'canary',
  summary: 'Send a canary trade pair through the target region and wait for its confirmation',
  params: canaryParams,
  requiresTimeout: true,
  check: (p, env) => checkRegions(env, [p.region], p.app),
  describe: (p) =>
    `${p.sent ? 'the canary pair sent earlier' : 'a canary pair'} through ${p.region}, confirmed ` +
    `${p.app === 'trade' ? 'MATCHED' : 'SETTLED'}`,
  async run(ctx, p) {
    const tradeRegion = await tradeRegionFor(ctx, p.app as AppName, p.region);
    const expected = p.app === 'trade' ? 'MATCHED' : 'SETTLED';
    const pair = p.sent ? canaryPair(ctx.runId) : { ...canaryPair(randomUUID()), clientId: undefined };
    const started = Date.now();
    if (ctx.platform.brokersReachable === false) {
      if (!p.sent) await injectCanary(ctx, tradeRegion, pair);
      await Promise.race([
        confirmedInStore(ctx, tradeRegion, pair, expected),
        new Promise<never>((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('canary not confirmed in time')), {
            once: true,
          }),
        ),
      ]);
      return {
        detail: `canary ${pair.tradeId}: both sides ${expected} ${Date.now() - started} ms after this step started`,
        result: { tradeId: pair.tradeId, region: tradeRegion },
      };
    }
    const url = ctx.platform.endpoints(tradeRegion).broker;
    const confirmed = new Set<string>();
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve, reject) => {
      resolveDone = resolve;
      ctx.signal.addEventListener('abort', () => reject(new Error('canary not confirmed in time')), { once: true });
    });
    const onMessage = (_topic: string, payload: Buffer) => {
      let message: { tradeRecordId?: string; status?: string };
      try {
        message = JSON.parse(payload.toString('utf8')) as typeof message;
      } catch {
        return;
      }
      if (message.tradeRecordId && pair.ids.has(message.tradeRecordId) && message.status === expected)
        confirmed.add(message.tradeRecordId);
      ctx.detail(`${confirmed.size}/2 sides ${expected}`);
      if (confirmed.size === pair.ids.size) resolveDone();
    };
    const client = await connect(
      url,
      pair.clientId ? { clientId: pair.clientId, clean: false } : { clientId: `canary-${pair.tradeId}` },
      onMessage,
    );
    try {
      await client.subscribeAsync(ctx.platform.names.topics.tmOutConfirmations, { qos: 1 });
      if (!p.sent) {
        const sentAt = Date.now();
        for (const side of pair.sides)
          await client.publishAsync(
            ctx.platform.names.topics.tmInTrades,
            JSON.stringify({ ...side, submittedAt: sentAt }),
            { qos: 1 },
          );
        ctx.detail(`canary ${pair.tradeId} sent to ${url}`);
      } else ctx.detail(`waiting for canary ${pair.tradeId} (sent earlier) to be ${expected}`);
      await done;
      return {
        detail: `canary ${pair.tradeId}: both sides ${expected} ${Date.now() - started} ms after this step started`,
        result: { tradeId: pair.tradeId, url },
      };
    } finally {
      await client.endAsync(true);
      if (pair.clientId) await forgetSession(url, pair.clientId).catch(() => undefined);
    }
  },
});

export const DRILL_STEP_TYPES = [
  waitDrained,
  waitStreamsIdle,
  databaseSwitchover,
  databaseFailover,
  reconcileStep,
  canarySend,
  canary,
];
