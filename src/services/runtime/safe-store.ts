/**
 * A stage's safe store: what it accepted, keyed by record id, queryable by time window through the `by-time` index
 * (partition `timeBucket`, the minute "YYYY-MM-DDTHH:MM" UTC; sort `acceptedAt`, epoch ms). Writes are idempotent:
 * `putAll` overwrites by id (same record, same content), `putIfAbsent` keeps the first, and `putIfNewer` only moves a
 * status forward (UNMATCHED 1 < MATCHED / MISMATCHED 2 < SETTLED 3), so replays and out-of-order updates never move
 * a status backwards. Windows are read with one Query per minute bucket, never a Scan.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Logger } from 'pino';
import { TIME_INDEX, timeBucket } from '../../config/table-schema.js';
import { backoffDelay, errorName, mapConcurrent, sleep } from './retry.js';

/** One record as a stage stored it. Further attributes are stored as they are (no nested `undefined`). */
export interface SafeStoreItem {
  readonly id: string;
  /** e.g. trade, settlement-instruction, rejection. */
  readonly kind: string;
  /** Upper case, e.g. UNMATCHED, MATCHED, SETTLED, REJECTED. */
  readonly status: string;
  /** When the stage accepted it, epoch ms. */
  readonly acceptedAt: number;
  /** The minute bucket of acceptedAt; derived when absent. */
  readonly timeBucket?: string;
  /** The record itself; stored as a JSON string attribute. */
  readonly payload: unknown;
  readonly stage?: string;
  readonly region?: string;
  readonly reason?: string;
  /** Rank of `status` in its progression; derived from the status when absent (see statusRank). */
  readonly statusRank?: number;
  readonly [attribute: string]: unknown;
}

/** An item as read back: payload parsed, timeBucket and statusRank always present. */
export interface StoredItem extends SafeStoreItem {
  readonly timeBucket: string;
  readonly statusRank: number;
}

/** Status progressions: a write with a rank not above the stored one is refused by putIfNewer. */
export const STATUS_RANK: Readonly<Record<string, number>> = {
  ACCEPTED: 1,
  UNMATCHED: 1,
  REJECTED: 1,
  MATCHED: 2,
  MISMATCHED: 2,
  SETTLED: 3,
};

/** Rank of a status (1 for a status outside the known progressions). */
export function statusRank(status: string): number {
  return STATUS_RANK[status] ?? 1;
}

/** DynamoDB's item size limit, 400 KB (attribute names and values). */
export const MAX_ITEM_BYTES = 400 * 1024;
const BATCH_LIMIT = 25;

export class ItemTooLargeError extends Error {
  constructor(
    readonly id: string,
    readonly bytes: number,
  ) {
    super(`safe-store item ${id} is about ${bytes} bytes; DynamoDB accepts at most ${MAX_ITEM_BYTES}`);
    this.name = 'ItemTooLargeError';
  }
}

export class UnprocessedItemsError extends Error {
  constructor(
    readonly table: string,
    readonly unprocessed: number,
    readonly total: number,
    readonly attempts: number,
  ) {
    super(`${unprocessed} of ${total} items were not written to ${table} after ${attempts} attempts`);
    this.name = 'UnprocessedItemsError';
  }
}

export interface SafeStoreOptions {
  /** BatchWriteItem calls in flight at once. Default 4. */
  readonly concurrency?: number;
  /** Attempts per batch (UnprocessedItems and throttling), including the first. Default 10. */
  readonly maxAttempts?: number;
  readonly logger?: Logger;
}

export type PutIfAbsentResult =
  { readonly result: 'created' } | { readonly result: 'exists'; readonly existing: StoredItem };
export type PutIfNewerResult = 'written' | 'stale';

function estimateSize(item: Record<string, AttributeValue>): number {
  // Names plus values; close enough to DynamoDB's own accounting to refuse clearly oversized items early.
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name) + valueSize(value);
  return bytes;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return value.N.length;
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.M !== undefined) return 3 + estimateSize(value.M);
  return JSON.stringify(value).length;
}

function isTransient(error: unknown): boolean {
  const name = errorName(error) ?? '';
  if (/Throttl|ProvisionedThroughputExceeded|RequestLimitExceeded|InternalServerError|InternalFailure/.test(name)) {
    return true;
  }
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status === undefined || status >= 500;
}

export class SafeStore {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly logger?: Logger;

  constructor(
    private readonly dynamo: DynamoDBClient,
    readonly tableName: string,
    opts: SafeStoreOptions = {},
  ) {
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 10);
    this.logger = opts.logger;
  }

  /** The item as stored: payload as JSON text, timeBucket and statusRank filled in. */
  static toAttributes(item: SafeStoreItem): Record<string, AttributeValue> {
    if (typeof item.id !== 'string' || item.id === '') throw new Error('safe-store item needs a non-empty id');
    if (!Number.isFinite(item.acceptedAt)) throw new Error(`safe-store item ${item.id}: acceptedAt must be epoch ms`);
    const stored = {
      ...item,
      timeBucket: item.timeBucket ?? timeBucket(item.acceptedAt),
      statusRank: item.statusRank ?? statusRank(item.status),
      payload: JSON.stringify(item.payload ?? null),
    };
    const attributes = marshall(stored, { removeUndefinedValues: true, convertClassInstanceToMap: true });
    const bytes = estimateSize(attributes);
    if (bytes > MAX_ITEM_BYTES) throw new ItemTooLargeError(item.id, bytes);
    return attributes;
  }

  static fromAttributes(attributes: Record<string, AttributeValue>): StoredItem {
    const raw = unmarshall(attributes) as Record<string, unknown>;
    let payload: unknown = raw.payload;
    if (typeof payload === 'string') {
      try {
        payload = JSON.parse(payload);
      } catch {
        // Left as text: written by something other than this class.
      }
    }
    return { ...raw, payload } as StoredItem;
  }

  /**
   * Writes every item (BatchWriteItem, 25 per call, several calls at once), overwriting by id; the same id twice in
   * one call keeps the last. Unprocessed items are retried with backoff; throws UnprocessedItemsError naming how
   * many were still not written after the last attempt.
   */
  async putAll(items: readonly SafeStoreItem[]): Promise<void> {
    if (items.length === 0) return;
    const byId = new Map<string, Record<string, AttributeValue>>();
    for (const item of items) {
      byId.delete(item.id);
      byId.set(item.id, SafeStore.toAttributes(item));
    }
    const requests: WriteRequest[] = [...byId.values()].map((Item) => ({ PutRequest: { Item } }));
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < requests.length; i += BATCH_LIMIT) chunks.push(requests.slice(i, i + BATCH_LIMIT));
    const results = await mapConcurrent(chunks, this.concurrency, (chunk) => this.writeChunk(chunk));
    let unprocessed = 0;
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      if (result.reason instanceof UnprocessedItemsError) unprocessed += result.reason.unprocessed;
      else throw result.reason;
    }
    if (unprocessed > 0) {
      throw new UnprocessedItemsError(this.tableName, unprocessed, requests.length, this.maxAttempts);
    }
  }

  private async writeChunk(chunk: WriteRequest[]): Promise<void> {
    let pending = chunk;
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt - 1, { baseMs: 25, maxMs: 2000 }));
      try {
        const answer = await this.dynamo.send(
          new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        const left = answer.UnprocessedItems?.[this.tableName] ?? [];
        if (left.length === 0) return;
        this.logger?.debug({ table: this.tableName, unprocessed: left.length }, 'retrying unprocessed items');
        pending = left;
      } catch (error) {
        if (!isTransient(error)) throw error;
        this.logger?.warn({ err: error, table: this.tableName, attempt: attempt + 1 }, 'BatchWriteItem failed');
      }
    }
    this.logger?.error({ table: this.tableName, unprocessed: pending.length }, 'items still unprocessed');
    throw new UnprocessedItemsError(this.tableName, pending.length, chunk.length, this.maxAttempts);
  }

  /** Writes the item unless one with its id exists; then returns the existing one and changes nothing. */
  async putIfAbsent(item: SafeStoreItem): Promise<PutIfAbsentResult> {
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: SafeStore.toAttributes(item),
          ConditionExpression: 'attribute_not_exists(id)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { result: 'created' };
    } catch (error) {
      if (errorName(error) !== 'ConditionalCheckFailedException') throw error;
      const returned = (error as { Item?: Record<string, AttributeValue> }).Item;
      const existing = returned ? SafeStore.fromAttributes(returned) : await this.get(item.id);
      if (!existing) return this.putIfAbsent(item); // deleted in between: try again
      return { result: 'exists', existing };
    }
  }

  /**
   * Writes the item (with statusRank = rank) only if no item with its id exists or the stored one has a lower rank;
   * otherwise changes nothing and returns 'stale'.
   */
  async putIfNewer(
    item: SafeStoreItem,
    rank: number = item.statusRank ?? statusRank(item.status),
  ): Promise<PutIfNewerResult> {
    try {
      await this.dynamo.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: SafeStore.toAttributes({ ...item, statusRank: rank }),
          ConditionExpression: 'attribute_not_exists(id) OR attribute_not_exists(statusRank) OR statusRank < :rank',
          ExpressionAttributeValues: { ':rank': { N: String(rank) } },
        }),
      );
      return 'written';
    } catch (error) {
      if (errorName(error) === 'ConditionalCheckFailedException') return 'stale';
      throw error;
    }
  }

  /** The item with this id (strongly consistent read), or undefined. */
  async get(id: string): Promise<StoredItem | undefined> {
    const answer = await this.dynamo.send(
      new GetItemCommand({ TableName: this.tableName, Key: { id: { S: id } }, ConsistentRead: true }),
    );
    return answer.Item ? SafeStore.fromAttributes(answer.Item) : undefined;
  }

  /**
   * Every item accepted in [fromMs, toMs), oldest first, through the `by-time` index: one Query per minute bucket,
   * paged with LastEvaluatedKey. The index is eventually consistent on AWS (replicated items appear with the lag).
   * Items come as the index holds them: keys and TIME_INDEX_ATTRIBUTES, no payload (`get` reads one whole).
   */
  async *queryWindow(fromMs: number, toMs: number, opts: { pageSize?: number } = {}): AsyncGenerator<StoredItem> {
    if (!(toMs > fromMs)) return;
    const firstMinute = Math.floor(fromMs / 60_000) * 60_000;
    for (let minute = firstMinute; minute < toMs; minute += 60_000) {
      const range = { low: Math.max(fromMs, minute), high: Math.min(toMs, minute + 60_000) - 1 };
      yield* this.queryBucket(timeBucket(minute), { ...opts, range });
    }
  }

  /**
   * Every item of one `by-time` index partition (a minute bucket, or another partition such as held records), oldest
   * first, optionally only those accepted within `range` (inclusive); paged with LastEvaluatedKey. As the index holds
   * them: keys and TIME_INDEX_ATTRIBUTES, no payload.
   */
  async *queryBucket(
    bucket: string,
    opts: { pageSize?: number; range?: { low: number; high: number } } = {},
  ): AsyncGenerator<StoredItem> {
    const { range } = opts;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.queryWithRetry({
        TableName: this.tableName,
        IndexName: TIME_INDEX.name,
        KeyConditionExpression: range ? '#bucket = :bucket AND #at BETWEEN :low AND :high' : '#bucket = :bucket',
        ExpressionAttributeNames: range
          ? { '#bucket': TIME_INDEX.partitionKey, '#at': TIME_INDEX.sortKey }
          : { '#bucket': TIME_INDEX.partitionKey },
        ExpressionAttributeValues: {
          ':bucket': { S: bucket },
          ...(range ? { ':low': { N: String(range.low) }, ':high': { N: String(range.high) } } : {}),
        },
        ExclusiveStartKey: startKey,
        Limit: opts.pageSize,
      });
      for (const raw of page.Items ?? []) yield SafeStore.fromAttributes(raw);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /** Counts the items of a window (reads them through queryWindow). */
  async countWindow(fromMs: number, toMs: number): Promise<number> {
    let count = 0;
    const items = this.queryWindow(fromMs, toMs);
    while (!(await items.next()).done) count++;
    return count;
  }

  private async queryWithRetry(input: ConstructorParameters<typeof QueryCommand>[0]) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.dynamo.send(new QueryCommand(input));
      } catch (error) {
        if (attempt + 1 >= this.maxAttempts || !isTransient(error)) throw error;
        await sleep(backoffDelay(attempt, { baseMs: 50, maxMs: 2000 }));
      }
    }
  }
}
