/**
 * Reads one safe store in one region for reconciliation: a window's items minute bucket by minute bucket through the
 * `by-time` index (never a Scan), projected to the few attributes a comparison needs, and point reads by id
 * (BatchGetItem) for the records a window comparison leaves over.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  type KeysAndAttributes,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { TIME_INDEX, timeBucket } from '../config/table-schema.js';
import { backoffDelay, errorName, sleep } from '../services/runtime/retry.js';

/** What reconciliation knows of one stored record without reading its payload. */
export interface RecordRef {
  readonly id: string;
  readonly kind: string;
  readonly status: string;
  readonly acceptedAt: number;
  readonly origin?: string;
  readonly forwarded?: boolean;
  /**
   * When a held record was finally forwarded (services/pipeline/outbound.ts redeliverHeld); absent otherwise. It keeps
   * its original acceptedAt (its window), so this is when it started travelling to the next stage.
   */
  readonly forwardedAt?: number;
  /** The region whose stage stored it (absent on records written before stores carried it). */
  readonly region?: string;
}

/** Since when a record has been on its way to the next stage: what the grace period of a candidate gap counts from. */
export function inFlightSince(ref: RecordRef): number {
  return Math.max(ref.acceptedAt, ref.forwardedAt ?? 0);
}

const NAMES = {
  '#id': 'id',
  '#kind': 'kind',
  '#status': 'status',
  '#at': TIME_INDEX.sortKey,
  '#origin': 'origin',
  '#fwd': 'forwarded',
  '#fwdAt': 'forwardedAt',
  '#region': 'region',
};
const PROJECTION = '#id, #kind, #status, #at, #origin, #fwd, #fwdAt, #region';
const BATCH_GET_LIMIT = 100;

export function toRef(item: Record<string, AttributeValue>): RecordRef {
  return {
    id: item.id?.S ?? '',
    kind: item.kind?.S ?? '',
    status: item.status?.S ?? '',
    acceptedAt: Number(item.acceptedAt?.N ?? NaN),
    origin: item.origin?.S,
    forwarded: item.forwarded?.BOOL,
    ...(item.forwardedAt?.N !== undefined ? { forwardedAt: Number(item.forwardedAt.N) } : {}),
    ...(item.region?.S !== undefined ? { region: item.region.S } : {}),
  };
}

function transient(error: unknown): boolean {
  const name = errorName(error) ?? '';
  if (/ResourceNotFound|Validation|AccessDenied|UnrecognizedClient/.test(name)) return false;
  return true;
}

export class StoreReader {
  constructor(
    readonly dynamo: DynamoDBClient,
    readonly table: string,
    readonly region: string,
    private readonly attempts = 4,
  ) {}

  /** `dynamodb <table> in <region>`: how reports name this source. */
  get label(): string {
    return `${this.table}@${this.region}`;
  }

  private async send<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (attempt + 1 >= this.attempts || !transient(error)) throw error;
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 1_000 }));
      }
    }
  }

  /** Items of the minute starting at `minuteMs` accepted in [fromMs, toMs), oldest first. */
  async readMinute(minuteMs: number, fromMs: number, toMs: number): Promise<RecordRef[]> {
    const low = Math.max(fromMs, minuteMs);
    const high = Math.min(toMs, minuteMs + 60_000) - 1;
    const out: RecordRef[] = [];
    if (high < low) return out;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.send(() =>
        this.dynamo.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: TIME_INDEX.name,
            KeyConditionExpression: '#bucket = :bucket AND #at BETWEEN :low AND :high',
            ProjectionExpression: PROJECTION,
            ExpressionAttributeNames: { ...NAMES, '#bucket': TIME_INDEX.partitionKey },
            ExpressionAttributeValues: {
              ':bucket': { S: timeBucket(minuteMs) },
              ':low': { N: String(low) },
              ':high': { N: String(high) },
            },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) out.push(toRef(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return out;
  }

  /** The items with these ids that exist (strongly consistent), projected, or whole with `full`. */
  async getMany(ids: readonly string[], full = false): Promise<Map<string, Record<string, AttributeValue>>> {
    const found = new Map<string, Record<string, AttributeValue>>();
    for (let i = 0; i < ids.length; i += BATCH_GET_LIMIT) {
      const keys = [...new Set(ids.slice(i, i + BATCH_GET_LIMIT))].map((id) => ({ id: { S: id } }));
      let pending: KeysAndAttributes | undefined = {
        Keys: keys,
        ConsistentRead: true,
        ...(full ? {} : { ProjectionExpression: PROJECTION, ExpressionAttributeNames: NAMES }),
      };
      for (let round = 0; pending?.Keys?.length; round++) {
        if (round > 0) await sleep(backoffDelay(round - 1, { baseMs: 50, maxMs: 1_000 }));
        if (round > 20) throw new Error(`BatchGetItem on ${this.label} left keys unprocessed after ${round} rounds`);
        const request: KeysAndAttributes = pending;
        const answer = await this.send(() =>
          this.dynamo.send(new BatchGetItemCommand({ RequestItems: { [this.table]: request } })),
        );
        for (const item of answer.Responses?.[this.table] ?? []) found.set(item.id?.S ?? '', item);
        pending = answer.UnprocessedKeys?.[this.table];
      }
    }
    return found;
  }
}
