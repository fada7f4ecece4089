/**
 * The window a reconcile before the target consumes needs: data can only be missing from where replication last
 * delivered, not from the last half hour. Where that is, is read from the data itself (the same on every target):
 * the newest record the source's inbound gateway accepted that the target's copy of its safe store holds. Records
 * the source accepted before it were replicated before it, give or take a margin (replication need not keep order
 * across items).
 */
import type { AppName } from '../../config/apps.js';
import { reconcileDynamoClient } from '../../reconcile/clients.js';
import type { ReconcileWindow } from '../../reconcile/index.js';
import { formatDuration } from '../duration.js';
import type { StepContext } from '../registry.js';
import { findAcceptance, inboundTable } from './observe-accepting.js';

/**
 * [last replicated − margin, now], never reaching further back than `longestMs` (also the window when nothing the
 * source accepted is found in it: no load, or a long outage).
 */
export async function windowSinceLastReplicated(
  ctx: Pick<StepContext, 'platform' | 'signal' | 'detail'>,
  app: AppName,
  source: string,
  region: string,
  longestMs: number,
  marginMs: number,
  now = Date.now(),
): Promise<ReconcileWindow> {
  const earliest = now - longestMs;
  const dynamo = reconcileDynamoClient(region, ctx.platform.endpoints(region).dynamodb);
  try {
    const last = await findAcceptance(dynamo, inboundTable(ctx.platform, app), source, earliest, 'last', ctx.signal);
    const fromMs = last ? Math.max(earliest, last.at - marginMs) : earliest;
    ctx.detail(
      last
        ? `last record from ${source} replicated to ${region}: accepted ${new Date(last.at).toISOString()}; ` +
            `window from ${formatDuration(marginMs)} before it`
        : `nothing from ${source} in the last ${formatDuration(longestMs)}: reading all of it`,
    );
    return { fromMs, toMs: now };
  } finally {
    dynamo.destroy();
  }
}
