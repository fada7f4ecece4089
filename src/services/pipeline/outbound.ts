import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Logger } from 'pino';
import { TIME_INDEX } from '../../config/table-schema.js';
import { mapConcurrent } from '../runtime/retry.js';
import { SafeStore, type SafeStoreItem } from '../runtime/safe-store.js';
import type { PipelineRecord } from './records.js';
import { item, type StageIO } from './stage-io.js';

/** Where one record goes: a region's broker and a topic, with the message body to publish. */
export interface Destination {
  readonly region: string;
  readonly topic: string;
  readonly message: string;
}

export interface Publisher {
  publish(region: string, topic: string, messages: readonly string[]): Promise<void>;
  /**
   * Whether the connection to a region's broker is up: false once it is known to be down (then a publish would only
   * wait for its timeout, and the client would queue the messages to resend them when it reconnects: duplicates
   * piling up for every try); undefined when not known (no connection attempted yet, or still connecting).
   */
  isConnected?(region: string): boolean | undefined;
}

/** Known down: recently failed, or the publisher's connection to it is down. */
function knownDown(publisher: Publisher, region: string, unreachable: UnreachableRegions | undefined): boolean {
  return unreachable?.isOpen(region) === true || publisher.isConnected?.(region) === false;
}

/**
 * Held records (the fix for head-of-line blocking, issue #5). An outbound gateway publishes to its own region's
 * broker (confirmations, rejections) and to the OTHER app's broker in the region whose dns control is ON. When that
 * other broker is unreachable (its region was lost and the other app has not failed over yet), failing the whole
 * batch would block every confirmation of the shard behind it. Instead, records for an unreachable OTHER region are
 * held: written to the safe store with forwarded=false plus a marker item, and only then is the batch checkpointed,
 * so nothing is lost (the safe store is durable and replicated). The service's retry loop (`redeliverHeld`) re-reads
 * the markers, routes again (the other app may have failed over meanwhile), publishes, and marks them forwarded.
 * Reconciliation counts held records as upstream of the cross-app hop, so `tsr reconcile` reports them (as held)
 * until they are delivered, and `--replay` delivers them too. Delivery stays at least once: receivers dedupe by id.
 *
 * A failure to publish to the gateway's OWN region's broker still fails the batch (as before): that broker is the
 * gateway's own region, and holding every record of a dead region would only move the problem.
 *
 * Markers live in the safe store under the index partition HELD_BUCKET (never a minute bucket, so windows and
 * reconciliation never read them); a delivered marker leaves that partition (its timeBucket is removed: the index
 * is sparse), so the retry loop reads only what is still held, with one Query, never a Scan.
 */
export const HELD_BUCKET = 'held';
const HELD_PREFIX = 'held#';

/** Regions whose broker failed recently: records for them are held at once instead of waiting for a timeout. */
export class UnreachableRegions {
  private readonly until = new Map<string, number>();
  constructor(private readonly holdMs = 3_000) {}
  isOpen(region: string, now = Date.now()): boolean {
    return (this.until.get(region) ?? 0) > now;
  }
  failed(region: string): void {
    this.until.set(region, Date.now() + this.holdMs);
  }
  reachable(region: string): void {
    this.until.delete(region);
  }
}

export interface PublishOptions {
  /** The gateway's own region: failing to publish there fails the batch. Without it nothing is ever held. */
  readonly ownRegion?: string;
  readonly unreachable?: UnreachableRegions;
  readonly logger?: Logger;
}

function heldMarker(io: StageIO, record: PipelineRecord, stored: SafeStoreItem): SafeStoreItem {
  return {
    id: `${HELD_PREFIX}${record.id}`,
    kind: 'held',
    status: 'HELD',
    acceptedAt: Date.now(),
    timeBucket: HELD_BUCKET,
    payload: record,
    stage: io.stage,
    region: io.region,
    origin: 'held',
    forwarded: false,
    recordAcceptedAt: stored.acceptedAt,
  };
}

/** Entries grouped by the broker and topic their record goes to, with each record's message, in order. */
function byDestination<T>(
  entries: readonly T[],
  route: (record: PipelineRecord) => Destination,
  recordOf: (entry: T) => PipelineRecord,
): { region: string; topic: string; messages: string[]; entries: T[] }[] {
  const groups = new Map<string, { region: string; topic: string; messages: string[]; entries: T[] }>();
  for (const entry of entries) {
    const { region, topic, message } = route(recordOf(entry));
    const key = `${region} ${topic}`;
    const group = groups.get(key) ?? { region, topic, messages: [], entries: [] };
    group.messages.push(message);
    group.entries.push(entry);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * An outbound gateway's batch: publish every record (QoS 1, acknowledged by the broker), grouped by broker and
 * topic, then record it in the safe store. Only then is the batch checkpointed; a crash in between republishes,
 * which receivers treat as the duplicate it is. Records for another region's broker that cannot be reached are
 * held (see HELD_BUCKET) instead of failing the batch.
 */
export async function publishBatch(
  io: StageIO,
  publisher: Publisher,
  records: PipelineRecord[],
  route: (record: PipelineRecord) => Destination,
  options: PublishOptions = {},
): Promise<void> {
  const groups = byDestination(records, route, (record) => record);
  const { ownRegion, unreachable } = options;
  const canHold = (region: string) => ownRegion !== undefined && region !== ownRegion;
  const held: PipelineRecord[] = [];
  const results = await Promise.allSettled(
    groups.map(async (g) => {
      // A broker that just failed is not tried again by every batch (each try waits for a timeout); the retry
      // loop probes it.
      if (canHold(g.region) && knownDown(publisher, g.region, unreachable)) return 'held';
      await publisher.publish(g.region, g.topic, g.messages);
      return 'published';
    }),
  );
  let ownFailure: unknown;
  groups.forEach((g, i) => {
    const result = results[i];
    if (result.status === 'fulfilled') {
      if (result.value === 'held') held.push(...g.entries);
      else unreachable?.reachable(g.region);
      return;
    }
    if (!canHold(g.region)) {
      ownFailure ??= result.reason;
      return;
    }
    unreachable?.failed(g.region);
    options.logger?.warn(
      { region: g.region, topic: g.topic, records: g.entries.length, err: (result.reason as Error)?.message },
      'broker unreachable: records held in the safe store for redelivery',
    );
    held.push(...g.entries);
  });
  // Nothing stored, nothing checkpointed: the whole batch is retried (at least once), as before.
  if (ownFailure !== undefined) throw ownFailure;
  const heldIds = new Set(held.map((r) => r.id));
  const items = records.map((r) => item(io, r, 'accepted', !heldIds.has(r.id)));
  const markers = items.filter((i) => heldIds.has(i.id)).map((i) => heldMarker(io, i.payload as PipelineRecord, i));
  // Record and marker in one call: both are durable before the checkpoint moves past the record.
  await io.putAll([...items, ...markers]);
  // Counted once the batch is done: a retried batch is not counted twice.
  io.counters.in += records.length;
  io.counters.out += records.length - held.length;
}

export interface HeldStore {
  readonly dynamo: DynamoDBClient;
  readonly table: string;
}

/**
 * The markers of records this region's gateway still holds: one Query on the index partition HELD_BUCKET (which
 * carries no payload), then each of this region's markers read whole from the table.
 */
export async function readHeld(store: HeldStore, region: string): Promise<SafeStoreItem[]> {
  const safeStore = new SafeStore(store.dynamo, store.table);
  const markers: SafeStoreItem[] = [];
  for await (const entry of safeStore.queryBucket(HELD_BUCKET)) {
    // Replicated markers of another region's gateway are that gateway's (or reconciliation's) to deliver.
    if (entry.region !== region) continue;
    const marker = await safeStore.get(entry.id);
    if (marker) markers.push(marker); // delivered and taken out meanwhile: nothing to do
  }
  return markers;
}

/**
 * One pass of the retry loop: re-route every held record (the other app's dns may have moved), publish what can be
 * reached, mark it forwarded (keeping its original acceptedAt), then take its marker out of the HELD_BUCKET
 * partition. Survives restarts: the markers are in the safe store. Returns how many were delivered and are left.
 */
export async function redeliverHeld(
  io: StageIO,
  store: HeldStore,
  publisher: Publisher,
  route: (record: PipelineRecord) => Destination,
  options: PublishOptions & { readonly max?: number } = {},
): Promise<{ delivered: number; left: number }> {
  const markers = await readHeld(store, io.region);
  if (!markers.length) return { delivered: 0, left: 0 };
  const groups = byDestination(markers, route, (marker) => marker.payload as PipelineRecord);
  // Everything that can be delivered goes in this pass, `max` records per publish (and store round).
  const max = Math.max(1, options.max ?? 500);
  let delivered = 0;
  for (const g of groups) {
    for (let i = 0; i < g.entries.length; i += max) {
      const ok = await deliverChunk(io, store, publisher, g.region, g.topic, {
        messages: g.messages.slice(i, i + max),
        markers: g.entries.slice(i, i + max),
        options,
      });
      if (!ok) break;
      delivered += Math.min(max, g.entries.length - i);
    }
  }
  return { delivered, left: markers.length - delivered };
}

/** Publishes one chunk of held records, marks them forwarded and their markers delivered; false if unreachable. */
async function deliverChunk(
  io: StageIO,
  store: HeldStore,
  publisher: Publisher,
  region: string,
  topic: string,
  chunk: { messages: string[]; markers: SafeStoreItem[]; options: PublishOptions },
): Promise<boolean> {
  const { markers, options } = chunk;
  // Not tried while the connection is known to be down: every try would queue another copy of every message.
  if (publisher.isConnected?.(region) === false) {
    options.unreachable?.failed(region);
    return false;
  }
  try {
    await publisher.publish(region, topic, chunk.messages);
  } catch (error) {
    options.unreachable?.failed(region);
    options.logger?.debug({ region, err: (error as Error).message }, 'held records still unreachable');
    return false;
  }
  options.unreachable?.reachable(region);
  // The record keeps its original acceptedAt (its window); forwardedAt tells reconciliation it only now set off,
  // so it is in flight (graced), not missing, until the next stage had time to accept it.
  const now = Date.now();
  await io.putAll(
    markers.map((m) => ({
      ...item(io, m.payload as PipelineRecord, 'accepted', true),
      acceptedAt: typeof m.recordAcceptedAt === 'number' ? m.recordAcceptedAt : m.acceptedAt,
      forwardedAt: now,
    })),
  );
  // Several at once: a burst of hundreds of held records is delivered in seconds, not one round trip each.
  const updates = await mapConcurrent(markers, 16, (m) =>
    store.dynamo.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: { id: { S: m.id } },
        UpdateExpression: 'REMOVE #bucket SET #fwd = :true, deliveredAt = :now',
        ExpressionAttributeNames: { '#bucket': TIME_INDEX.partitionKey, '#fwd': 'forwarded' },
        ExpressionAttributeValues: { ':true': { BOOL: true }, ':now': { N: String(now) } },
      }),
    ),
  );
  // A marker left behind is delivered once more by the next pass (at least once; receivers dedupe).
  const failed = updates.find((u) => u.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  io.counters.out += markers.length;
  options.logger?.info({ region, topic, delivered: markers.length }, 'held records delivered');
  return true;
}
