/**
 * `observe.accepting`: the ends of the unavailability window, read from the inbound gateways' safe stores rather
 * than taken from the moment a routing control was flipped.
 *
 * - target-consuming: the `acceptedAt` of the first record the target region's inbound gateway stored after the
 *   dns swap (the gateway stores a record before it acknowledges it, so this is when the target accepted again);
 * - source-last-accepted: the `acceptedAt` of the last record the source region's inbound gateway stored after the
 *   swap (what senders published there before they moved, drained), when there is one.
 *
 * Safe stores are global tables: each region's copy also holds the other region's items, so only items the
 * region's own gateway wrote (`region` attribute) count. Read through the `by-time` index, one minute bucket at a
 * time, never a Scan.
 */
import { type AttributeValue, type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import type { AppName } from '../../config/apps.js';
import { TIME_INDEX, timeBucket } from '../../config/table-schema.js';
import type { Platform } from '../../platform/platform.js';
import { reconcileDynamoClient } from '../../reconcile/clients.js';
import { durationSchema } from '../duration.js';
import { defineStepType } from '../registry.js';
import { MARKERS } from '../report.js';
import { checkRegions } from './wait-replicated.js';

const MINUTE = 60_000;

export function inboundTable(platform: Platform, app: AppName): string {
  const table = platform.names.tables.find(
    (t) => t.purpose === 'safe-store' && t.app === app && t.stage === 'inbound-gateway',
  );
  if (!table) throw new Error(`no inbound-gateway safe store for ${app}`);
  return table.name;
}

/** Minute starts covering [fromMs, toMs]. */
function minutes(fromMs: number, toMs: number): number[] {
  const out: number[] = [];
  for (let m = Math.floor(fromMs / MINUTE) * MINUTE; m <= Math.max(fromMs, toMs); m += MINUTE) out.push(m);
  return out;
}

/**
 * The earliest (`first`) or latest (`last`) acceptance at or after `sinceMs` by the gateway of `region`, read from
 * that region's copy of `table`; undefined when there is none yet.
 */
export async function findAcceptance(
  dynamo: DynamoDBClient,
  table: string,
  region: string,
  sinceMs: number,
  which: 'first' | 'last',
  signal?: AbortSignal,
): Promise<{ at: number; id: string } | undefined> {
  const buckets = minutes(sinceMs, Date.now());
  if (which === 'last') buckets.reverse();
  for (const minute of buckets) {
    let best: { at: number; id: string } | undefined;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamo.send(
        new QueryCommand({
          TableName: table,
          IndexName: TIME_INDEX.name,
          KeyConditionExpression: '#bucket = :bucket AND #at >= :since',
          ProjectionExpression: '#id, #at, #region',
          ExpressionAttributeNames: {
            '#bucket': TIME_INDEX.partitionKey,
            '#at': TIME_INDEX.sortKey,
            '#id': 'id',
            '#region': 'region',
          },
          ExpressionAttributeValues: { ':bucket': { S: timeBucket(minute) }, ':since': { N: String(sinceMs) } },
          ScanIndexForward: which === 'first',
          ExclusiveStartKey: startKey,
        }),
        { abortSignal: signal },
      );
      for (const item of page.Items ?? []) {
        const at = Number(item.acceptedAt?.N ?? NaN);
        // The key condition already says so; checked again so that only what was read counts.
        if (item.region?.S !== region || !Number.isFinite(at) || at < sinceMs) continue;
        if (!best || (which === 'first' ? at < best.at : at > best.at)) best = { at, id: item.id?.S ?? '?' };
      }
      startKey = best ? undefined : page.LastEvaluatedKey;
    } while (startKey);
    if (best) return best;
  }
  return undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

export const observeAccepting = defineStepType({
  type: 'observe.accepting',
  summary:
    "Observe when the target's inbound gateway first accepted a record after a marker (and the source last did); " +
    'records target-consuming and source-last-accepted at those times',
  params: z
    .object({
      app: z.enum(['trade', 'settlement']),
      /** The region that took over. */
      region: z.string(),
      /** The region the app left; its last acceptance is looked up when it answers (a lost region may not). */
      source: z.string().optional(),
      /** Marker the window starts at. */
      after: z.string().default(MARKERS.dnsSwapped),
      interval: durationSchema.default('250ms'),
    })
    .strict(),
  requiresTimeout: true,
  check: (p, env) => checkRegions(env, [p.region, ...(p.source ? [p.source] : [])], p.app),
  describe: (p) =>
    `first record the ${p.app} inbound gateway in ${p.region} accepted after ${p.after}` +
    `${p.source ? `, last one in ${p.source}` : ''} (read from the safe stores)`,
  async run(ctx, p) {
    const app = p.app as AppName;
    const since = ctx.markerAt(p.after);
    if (!since) throw new Error(`no ${p.after} marker in this run: nothing to measure the window from`);
    const sinceMs = since.getTime();
    const table = inboundTable(ctx.platform, app);
    const target = reconcileDynamoClient(p.region, ctx.platform.endpoints(p.region).dynamodb);
    let first: { at: number; id: string } | undefined;
    try {
      for (;;) {
        first = await findAcceptance(target, table, p.region, sinceMs, 'first', ctx.signal);
        if (first) break;
        ctx.detail(`nothing accepted by ${app} in ${p.region} since ${p.after} (${iso(sinceMs)}) yet`);
        await ctx.sleep(p.interval);
      }
    } finally {
      target.destroy();
    }
    ctx.mark(MARKERS.targetConsuming, new Date(first.at));
    const parts = [`${p.region} first accepted ${first.id} ${first.at - sinceMs} ms after ${p.after}`];
    let last: { at: number; id: string } | undefined;
    if (p.source) {
      let source: DynamoDBClient | undefined;
      try {
        source = reconcileDynamoClient(p.source, ctx.platform.endpoints(p.source).dynamodb);
        last = await findAcceptance(
          source,
          table,
          p.source,
          sinceMs,
          'last',
          AbortSignal.any([ctx.signal, AbortSignal.timeout(10_000)]),
        );
        if (last) {
          ctx.mark(MARKERS.sourceLastAccepted, new Date(last.at));
          parts.push(`${p.source} last accepted ${last.id} ${last.at - sinceMs} ms after ${p.after}`);
        } else parts.push(`${p.source} accepted nothing after ${p.after}`);
      } catch (error) {
        if (ctx.signal.aborted) throw error;
        parts.push(`${p.source} not readable: ${(error as Error).message}`);
      } finally {
        source?.destroy();
      }
    }
    return {
      detail: parts.join('; '),
      result: {
        targetFirstAccepted: { at: iso(first.at), id: first.id },
        ...(last ? { sourceLastAccepted: { at: iso(last.at), id: last.id } } : {}),
      },
    };
  },
});
