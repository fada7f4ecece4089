/** The DynamoDB engine's wire shapes (items, change records, its reserved API) and their validation. */

/** A DynamoDB attribute value in its JSON wire form, e.g. `{ "S": "abc" }`. */
export type WireAttributeValue = Record<string, unknown>;
/** An item or key in its JSON wire form. */
export type WireItem = Record<string, WireAttributeValue>;

export type ChangeOp = 'put' | 'delete';

/** One acknowledged write, as the change feed records it. */
export interface ChangeRecord {
  readonly seq: number;
  readonly table: string;
  /** The key attributes of the item (from the table's KeySchema). */
  readonly key: WireItem;
  readonly op: ChangeOp;
  /** The full item after the write (put only). */
  readonly image?: WireItem;
  /** When the write was acknowledged at its origin, ms since the epoch (the last-writer-wins clock). */
  readonly ts: number;
  /** Region where the write was made. */
  readonly origin: string;
}

export interface ChangesPage {
  readonly region: string;
  /** Changes with the same epoch share one sequence; a new epoch means the feed restarted from scratch. */
  readonly epoch: string;
  /** Lowest seq still held (lastSeq + 1 when the feed is empty). */
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly changes: readonly ChangeRecord[];
}

/** A replicated change: a change record from another region (its seq, if present, is ignored). */
export type ReplicatedChange = Omit<ChangeRecord, 'seq'> & { readonly seq?: number };

export interface ApplyRequest {
  readonly changes: readonly ReplicatedChange[];
  /**
   * Per origin region, a stamp before which every change of that origin has now been handed over (sent by the link
   * when its queue for this region is empty), so an idle origin does not hold back what the clock may forget.
   */
  readonly delivered?: Readonly<Record<string, number>>;
}

export interface ApplyResult {
  /** Changes written. */
  readonly applied: number;
  /** Changes older than what the key already had (or superseded within the batch). */
  readonly skipped: number;
}

export interface EngineHealth {
  readonly ok: true;
  readonly region: string;
  readonly epoch: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly feedSize: number;
  /** Requests served per DynamoDB operation since start: count and total milliseconds (where the engine's time goes). */
  readonly operations: Readonly<Record<string, { count: number; ms: number }>>;
  /** Item writes acknowledged per table since start (local writes only, not replicated applies). */
  readonly itemWrites: Readonly<Record<string, number>>;
  /** Items the last-writer-wins clock remembers (those whose replicated changes may still arrive). */
  readonly clockSize: number;
}

/** An error answered on the reserved API with its HTTP status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Error from dynalite itself, with its AWS error type. */
export class DynamoCallError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Stable id of one item: table plus its key attributes sorted by name. */
export function itemId(table: string, key: WireItem): string {
  const names = Object.keys(key).sort();
  return `${table}\u0000${JSON.stringify(names.map((name) => [name, key[name]]))}`;
}

/** The key attributes `names` of an item, or undefined when one is missing or not an attribute value. */
export function keyOf(item: unknown, names: readonly string[]): WireItem | undefined {
  if (!isPlainObject(item)) return undefined;
  const key: WireItem = {};
  for (const name of names) {
    const value = item[name];
    if (!isPlainObject(value)) return undefined;
    key[name] = value;
  }
  return key;
}

export function parseNonNegativeInt(value: string | null, name: string, fallback: number): number {
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value)) throw new HttpError(400, `${name} must be a non-negative integer, got '${value}'`);
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new HttpError(400, `${name} is too large`);
  return parsed;
}

/** One change of a `POST /_tsr/apply` body, checked field by field (errors name the change and the field). */
export function validateReplicatedChange(value: unknown, index: number): ReplicatedChange {
  const where = `changes[${index}]`;
  if (!isPlainObject(value)) throw new HttpError(400, `${where} must be an object`);
  const { table, key, op, image, ts, origin } = value;
  if (typeof table !== 'string' || table === '') throw new HttpError(400, `${where}.table must be a table name`);
  if (!isPlainObject(key) || Object.keys(key).length === 0 || !Object.values(key).every(isPlainObject)) {
    throw new HttpError(400, `${where}.key must be a DynamoDB key`);
  }
  if (op !== 'put' && op !== 'delete') throw new HttpError(400, `${where}.op must be 'put' or 'delete'`);
  if (op === 'put' && (!isPlainObject(image) || !Object.values(image).every(isPlainObject))) {
    throw new HttpError(400, `${where}.image must be a DynamoDB item for a put`);
  }
  if (op === 'put') {
    const item = image as Record<string, unknown>;
    for (const [name, value] of Object.entries(key)) {
      if (JSON.stringify(item[name]) !== JSON.stringify(value)) {
        throw new HttpError(400, `${where}.image must carry the key attribute ${name} of ${where}.key`);
      }
    }
  }
  if (typeof ts !== 'number' || !Number.isFinite(ts)) throw new HttpError(400, `${where}.ts must be a number`);
  if (typeof origin !== 'string' || origin === '') throw new HttpError(400, `${where}.origin must be a region`);
  return {
    table,
    key: key as WireItem,
    op,
    image: op === 'put' ? (image as WireItem) : undefined,
    ts,
    origin,
  };
}
