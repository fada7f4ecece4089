/**
 * Replay: re-inject each missing record into the downstream stage's input in exactly the shape that stage accepts,
 * copy records a region lost from the region that kept them, write an audit entry, then re-check.
 *
 * - Stream-fed stages get the upstream item's payload (the PipelineRecord the upstream stage forwarded) on their
 *   stream, with its partition key, in the app's region: what the upstream stage's producer put there.
 * - An inbound gateway fed by the other app gets the message republished to its broker in the region whose dns
 *   control is ON, built by the same routing function the outbound gateway uses (instruction or result JSON plus
 *   submittedAt).
 * Stages dedupe by id and every write is idempotent, so a record replayed twice, or one that arrived meanwhile,
 * changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { type AttributeValue, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AppName } from '../config/apps.js';
import { describeError } from '../errors.js';
import { kinesisClient } from '../clients/aws-clients.js';
import type { Platform } from '../platform/platform.js';
import { BrokerPublisher } from '../services/messaging/publisher.js';
import type { PipelineRecord } from '../services/pipeline/records.js';
import { SafeStore } from '../services/runtime/safe-store.js';
import { silentLogger } from '../services/runtime/logger.js';
import { errorName } from '../services/runtime/retry.js';
import { StreamProducer } from '../services/runtime/stream-producer.js';
import { settlementOutboundRoute } from '../services/settlement/outbound-gateway.js';
import { tradeOutboundRoute } from '../services/trade-matching/outbound-gateway.js';
import { reconcileDynamoClient } from './clients.js';
import { acceptAtInboundGateway } from './inbound-inject.js';
import type { Hop } from './hops.js';
import { tableOf } from './hops.js';
import { compareWindow, type ReconcileOptions, type ReconcilePlan } from './compare-window.js';
import type { ReconcileReport, ReplayAction, ReplayReport } from './report.js';
import { StoreReader } from './store-reader.js';

const CHUNK = 500;
/** Ids per audit item, so an entry stays far below DynamoDB's 400 KB item limit. */
const AUDIT_IDS_PER_ITEM = 2_000;

function clientFor(clients: Map<string, DynamoDBClient>, platform: Platform, region: string): DynamoDBClient {
  let c = clients.get(region);
  if (!c) {
    c = reconcileDynamoClient(region, platform.endpoints(region).dynamodb);
    clients.set(region, c);
  }
  return c;
}

function payloadOf(item: Record<string, AttributeValue>): PipelineRecord | undefined {
  const text = item.payload?.S;
  if (!text) return undefined;
  try {
    return JSON.parse(text) as PipelineRecord;
  } catch {
    return undefined;
  }
}

/** What would be replayed: one action per hop with missing ids, one per region copy. */
export function replayPlan(plan: ReconcilePlan, report: ReconcileReport, env: string): ReplayAction[] {
  const actions: ReplayAction[] = [];
  for (const hopReport of report.hops) {
    if (!hopReport.missing.length) continue;
    const hop = plan.hops.find((h) => h.name === hopReport.name) as Hop;
    const target =
      hop.replay.via === 'stream'
        ? `${hop.replay.stream}@${plan.regions[hop.to.app]}`
        : `${hop.replay.topic}@${plan.regions[hop.to.app]}`;
    actions.push({ name: hop.name, via: hop.replay.via, target, ids: hopReport.missing, injected: 0 });
  }
  for (const t of report.tables) {
    if (t.missing.length) {
      actions.push({
        name: `${t.table}: ${t.reference.region} → ${t.region}`,
        via: 'region-copy',
        target: `${t.table}@${t.region}`,
        ids: t.missing,
        injected: 0,
      });
    }
    if (t.extra.length) {
      actions.push({
        name: `${t.table}: ${t.region} → ${t.reference.region}`,
        via: 'region-copy',
        target: `${t.table}@${t.reference.region}`,
        ids: t.extra,
        injected: 0,
      });
    }
  }
  void env;
  return actions;
}

async function replayHop(
  platform: Platform,
  plan: ReconcilePlan,
  hop: Hop,
  ids: readonly string[],
  clients: Map<string, DynamoDBClient>,
  publisher: () => BrokerPublisher,
): Promise<number> {
  const env = platform.config.environment;
  const fromRegion = plan.regions[hop.from.app] as string;
  const toRegion = plan.regions[hop.to.app] as string;
  const upstream = new StoreReader(clientFor(clients, platform, fromRegion), tableOf(env, hop.from), fromRegion);
  let injected = 0;
  const kinesis =
    hop.replay.via === 'stream'
      ? kinesisClient({ region: toRegion, endpoint: platform.endpoints(toRegion).kinesis })
      : undefined;
  try {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const items = await upstream.getMany(chunk, true);
      const records: PipelineRecord[] = [];
      for (const id of chunk) {
        const record = items.get(id) && payloadOf(items.get(id) as Record<string, AttributeValue>);
        if (!record) throw new Error(`${upstream.label} no longer holds a readable payload for ${id}`);
        records.push(record);
      }
      if (hop.replay.via === 'stream') {
        const producer = new StreamProducer(kinesis as NonNullable<typeof kinesis>, hop.replay.stream);
        await producer.put(records.map((r) => ({ partitionKey: r.partitionKey, data: r })));
      } else {
        const t = platform.names.topics;
        const destinations = records.map((r) =>
          hop.to.app === 'settlement'
            ? tradeOutboundRoute(r, fromRegion, () => toRegion, {
                confirmations: t.tmOutConfirmations,
                settlements: t.stInSettlements,
              })
            : settlementOutboundRoute(r, fromRegion, () => toRegion, {
                results: t.tmInSettlements,
                rejections: t.stOutRejections,
              }),
        );
        const byTarget = new Map<string, { region: string; topic: string; messages: string[] }>();
        for (const d of destinations) {
          const key = `${d.region} ${d.topic}`;
          const group = byTarget.get(key) ?? { region: d.region, topic: d.topic, messages: [] };
          group.messages.push(d.message);
          byTarget.set(key, group);
        }
        for (const g of byTarget.values()) {
          if (platform.brokersReachable === false) {
            // Private brokers (AWS): accepted as the target's inbound gateway would, same ids (idempotent).
            await acceptAtInboundGateway(
              platform,
              hop.to.app,
              g.region,
              g.messages.map((payload) => ({ topic: g.topic, payload })),
            );
          } else await publisher().publish(g.region, g.topic, g.messages);
        }
      }
      injected += records.length;
    }
  } finally {
    kinesis?.destroy();
  }
  return injected;
}

/** Copies items from the region that has them to the one that lost them, never over an item that is there. */
async function copyBetweenRegions(
  platform: Platform,
  table: string,
  fromRegion: string,
  toRegion: string,
  ids: readonly string[],
  clients: Map<string, DynamoDBClient>,
): Promise<number> {
  const source = new StoreReader(clientFor(clients, platform, fromRegion), table, fromRegion);
  const target = clientFor(clients, platform, toRegion);
  let copied = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const items = await source.getMany(ids.slice(i, i + CHUNK), true);
    for (const item of items.values()) {
      try {
        await target.send(
          new PutItemCommand({ TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(id)' }),
        );
        copied++;
      } catch (error) {
        if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
        copied++; // arrived meanwhile (replication): nothing to do
      }
    }
  }
  return copied;
}

/** The audit trail of a replay in `<env>-audit`: one entry, plus parts when the ids are many. */
async function writeAudit(
  platform: Platform,
  region: string,
  report: ReconcileReport,
  actions: readonly ReplayAction[],
  who: string,
  clients: Map<string, DynamoDBClient>,
): Promise<{ table: string; region: string; id: string; who: string }> {
  const table =
    platform.names.tables.find((t) => t.purpose === 'audit')?.name ?? `${platform.config.environment}-audit`;
  const store = new SafeStore(clientFor(clients, platform, region), table);
  const at = Date.now();
  const id = `reconcile-replay#${new Date(at).toISOString()}#${randomUUID().slice(0, 8)}`;
  const parts: { action: string; ids: readonly string[] }[] = [];
  for (const action of actions) {
    for (let i = 0; i < action.ids.length; i += AUDIT_IDS_PER_ITEM) {
      parts.push({ action: action.name, ids: action.ids.slice(i, i + AUDIT_IDS_PER_ITEM) });
    }
  }
  const inline = actions.reduce((sum, a) => sum + a.ids.length, 0) <= AUDIT_IDS_PER_ITEM;
  const main = {
    id,
    kind: 'reconcile-replay',
    status: actions.some((a) => a.error) ? 'PARTIAL' : 'REPLAYED',
    acceptedAt: at,
    who,
    host: hostname(),
    payload: {
      who,
      host: hostname(),
      at: new Date(at).toISOString(),
      window: report.window,
      regions: report.regions,
      counts: actions.map((a) => ({
        name: a.name,
        via: a.via,
        target: a.target,
        missing: a.ids.length,
        injected: a.injected,
        error: a.error,
      })),
      ids: inline ? Object.fromEntries(actions.map((a) => [a.name, a.ids])) : undefined,
      parts: inline ? 0 : parts.length,
    },
  };
  const items = [main];
  if (!inline) {
    parts.forEach((part, n) =>
      items.push({
        ...main,
        id: `${id}#part-${n + 1}`,
        kind: 'reconcile-replay-part',
        payload: { ...main.payload, ...part, counts: [], ids: undefined, parts: n + 1 },
      }),
    );
  }
  await store.putAll(items);
  return { table, region, id, who };
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** Replays the gaps of `report` (or plans it on a dry run), audits it and re-checks until nothing is missing. */
export async function replayGaps(
  platform: Platform,
  plan: ReconcilePlan,
  report: ReconcileReport,
  options: ReconcileOptions,
  clients: Map<string, DynamoDBClient>,
): Promise<ReplayReport> {
  const planned = replayPlan(plan, report, platform.config.environment);
  if (options.dryRun || planned.length === 0) {
    return { dryRun: !!options.dryRun, actions: planned, injected: 0 };
  }
  const who = options.who ?? currentUser();
  let broker: BrokerPublisher | undefined;
  const publisher = () =>
    (broker ??= new BrokerPublisher({
      brokerUrls: Object.fromEntries(platform.config.regions.map((r) => [r, platform.endpoints(r).broker])),
      clientIdPrefix: 'tsr-reconcile',
      logger: silentLogger(),
      timeoutMs: 10_000,
    }));
  const actions: ReplayAction[] = [];
  try {
    // Independent targets: replay them in parallel.
    const results = await Promise.all(
      planned.map(async (action): Promise<ReplayAction> => {
        try {
          if (action.via === 'region-copy') {
            const [table, regions] = action.name.split(': ');
            const [fromRegion, toRegion] = regions.split(' → ');
            return {
              ...action,
              injected: await copyBetweenRegions(platform, table, fromRegion, toRegion, action.ids, clients),
            };
          }
          const hop = plan.hops.find((h) => h.name === action.name) as Hop;
          return { ...action, injected: await replayHop(platform, plan, hop, action.ids, clients, publisher) };
        } catch (error) {
          return { ...action, error: describeError(error) };
        }
      }),
    );
    actions.push(...results);
  } finally {
    await broker?.close().catch(() => undefined);
  }
  const injected = actions.reduce((sum, a) => sum + a.injected, 0);
  options.onProgress?.(`replayed ${injected} record(s); writing the audit entry`);
  let audit: ReplayReport['audit'];
  const auditRegion = plan.regions[plan.apps[0] as AppName] ?? platform.config.regions[0];
  try {
    audit = await writeAudit(platform, auditRegion, report, actions, who, clients);
  } catch (error) {
    actions.push({
      name: 'audit',
      via: 'region-copy',
      target: 'audit',
      ids: [],
      injected: 0,
      error: `audit entry not written: ${describeError(error)}`,
    });
  }

  // Re-check: the window extended to now, so what the replayed records caused downstream is covered too.
  const started = Date.now();
  const timeout = options.verifyTimeoutMs ?? 60_000;
  let attempts = 0;
  let after: ReconcileReport;
  for (;;) {
    attempts++;
    options.onProgress?.(`re-checking (attempt ${attempts})`);
    after = await compareWindow(
      platform,
      plan,
      { fromMs: report.window.fromMs, toMs: Math.max(report.window.toMs, Date.now()) },
      { ...options, graceMs: options.graceMs ?? 5_000 },
      clients,
    );
    const settled = options.settled ? await options.settled(after) : !after.gaps;
    if (settled || Date.now() - started >= timeout) break;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  return {
    dryRun: false,
    actions,
    injected,
    audit,
    verify: {
      ok: !after.gaps && after.complete,
      attempts,
      durationMs: Date.now() - started,
      remainingMissing: after.totals.missing,
    },
    after,
  };
}
