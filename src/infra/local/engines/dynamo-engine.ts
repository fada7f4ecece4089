/**
 * One region's local DynamoDB: dynalite (persistent, LevelDB under `dataDir`) behind a small front HTTP server.
 *
 * dynalite has no streams and no global tables. The front forwards every DynamoDB request unchanged and, for each
 * successful write, appends a change record to an in-memory change feed. The replication link
 * (src/infra/local/replication/dynamo-link.ts) pulls that feed and applies it to the other regions through
 * `POST /_tsr/apply`, which writes straight to dynalite and therefore never re-enters the feed (no loops).
 *
 * Conflicts resolve last-writer-wins by origin timestamp per (table, key), ties broken by origin region, like
 * DynamoDB global tables. Writes to one key are serialized through the front (local writes, their read-back, and
 * replicated applies), so a change record always carries the item as it was after that write.
 *
 * Reserved HTTP API on the front port (everything else is DynamoDB):
 *   GET  /_tsr/health                       → EngineHealth
 *   GET  /_tsr/changes?after=<seq>&limit=<n> → ChangesPage (changes with seq > after, oldest first)
 *   POST /_tsr/trim?upTo=<seq>              → { trimmed, firstSeq } (drops changes every consumer has applied)
 *   POST /_tsr/apply  body ApplyRequest     → ApplyResult (replicated changes, not recorded in this feed)
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import dynalite from 'dynalite';
import { bindPort, BodyTooLargeError, closeServer, listen, readBody, sendJson } from '../http-server.js';

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
}

export interface DynamoEngineOptions {
  /** Interface to bind; 127.0.0.1 unless told otherwise. */
  readonly host?: string;
  /** Front port; 0 picks an ephemeral one. */
  readonly port: number;
  /** When `port` is taken, bind any free port instead (the one bound is reported); otherwise fail naming it. */
  readonly anyPortIfTaken?: boolean;
  readonly dataDir: string;
  readonly region: string;
  /** Oldest changes are dropped beyond this many (consumers see the gap). Default 1,000,000. */
  readonly maxFeedEntries?: number;
}

export interface DynamoEngine {
  readonly endpoint: string;
  readonly port: number;
  readonly ports: readonly number[];
  close(): Promise<void>;
}

export const RESERVED_PREFIX = '/_tsr/';

const API_VERSION = 'DynamoDB_20120810';
const WRITE_OPS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
const SCHEMA_OPS = new Set(['CreateTable', 'DeleteTable', 'UpdateTable']);
/** dynalite refuses bodies above 16 MB; leave room so it answers with its own error. */
const MAX_BODY_BYTES = 17 * 1024 * 1024;
const BATCH_LIMIT = 25;
const APPLY_CONCURRENCY = 4;
const MAX_PAGE = 10_000;
const MAX_WAIT_MS = 20_000;
const MAX_PAGE_BYTES = 16 * 1024 * 1024;
const STATE_FILE = 'tsr-change-feed.json';
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Error from dynalite itself, with its AWS error type. */
class DynamoCallError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

interface LastWrite {
  readonly ts: number;
  readonly origin: string;
}

/** a is newer than b: later origin timestamp, ties broken by origin region so every region picks the same winner. */
function isNewer(a: LastWrite, b: LastWrite): boolean {
  return a.ts > b.ts || (a.ts === b.ts && a.origin > b.origin);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function approximateSize(change: Omit<ChangeRecord, 'seq'>): number {
  return 200 + (change.image ? JSON.stringify(change.image).length : JSON.stringify(change.key).length);
}

/** Stable id of one item: table plus its key attributes sorted by name. */
export function itemId(table: string, key: WireItem): string {
  const names = Object.keys(key).sort();
  return `${table}\u0000${JSON.stringify(names.map((name) => [name, key[name]]))}`;
}

/** The in-memory change feed of one engine: contiguous sequence numbers, trimmed from the front. */
class ChangeFeed {
  private entries: ChangeRecord[];
  /** Approximate JSON size of each entry, to keep pages bounded. */
  private sizes: number[];
  private readonly waiters = new Set<() => void>();
  private wakeScheduled = false;

  constructor(
    readonly region: string,
    private readonly maxEntries: number,
    readonly epoch: string,
    public lastSeq: number,
    entries: ChangeRecord[],
  ) {
    this.entries = entries;
    this.sizes = entries.map(approximateSize);
  }

  /** Lowest seq still held (lastSeq + 1 when empty). */
  get firstSeq(): number {
    return this.entries.length > 0 ? this.entries[0].seq : this.lastSeq + 1;
  }

  get size(): number {
    return this.entries.length;
  }

  append(change: Omit<ChangeRecord, 'seq'>): void {
    this.lastSeq += 1;
    const entry = { seq: this.lastSeq, ...change };
    this.entries.push(entry);
    this.sizes.push(approximateSize(entry));
    // Drop the oldest in slices, not one by one: consumers see the gap through firstSeq.
    if (this.entries.length > this.maxEntries + Math.ceil(this.maxEntries / 10)) {
      this.entries = this.entries.slice(this.entries.length - this.maxEntries);
      this.sizes = this.sizes.slice(this.sizes.length - this.maxEntries);
    }
    // Wake long-polling readers once per turn, so the records of one request travel together.
    if (!this.wakeScheduled && this.waiters.size > 0) {
      this.wakeScheduled = true;
      setImmediate(() => {
        this.wakeScheduled = false;
        this.wakeAll();
      });
    }
  }

  /** Changes with seq > after, oldest first: at most `limit`, and about `maxBytes` (always at least one). */
  page(after: number, limit: number, maxBytes = MAX_PAGE_BYTES): ChangesPage {
    const firstSeq = this.firstSeq;
    const start = Math.max(0, after + 1 - firstSeq);
    let end = start;
    let bytes = 0;
    while (end < this.entries.length && end - start < limit && (end === start || bytes + this.sizes[end] <= maxBytes)) {
      bytes += this.sizes[end];
      end += 1;
    }
    return {
      region: this.region,
      epoch: this.epoch,
      firstSeq,
      lastSeq: this.lastSeq,
      changes: this.entries.slice(start, end),
    };
  }

  /** Resolves once there is a change after `after`, or after `waitMs`, or when the engine closes. */
  waitForChanges(after: number, waitMs: number): Promise<void> {
    if (this.lastSeq > after || waitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), waitMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Drops every change with seq <= upTo; returns how many. */
  trim(upTo: number): number {
    const count = Math.max(0, Math.min(this.entries.length, upTo + 1 - this.firstSeq));
    if (count > 0) {
      this.entries = this.entries.slice(count);
      this.sizes = this.sizes.slice(count);
    }
    return count;
  }

  snapshot(): ChangeRecord[] {
    return this.entries;
  }
}

/**
 * Serializes work per item id. Acquisition is synchronous in arrival order and a holder only ever waits for holders
 * that arrived before it, so several keys can be taken at once without deadlock.
 */
class ItemLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(ids: readonly string[]): Promise<() => void> {
    const unique = [...new Set(ids)];
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const waits: Promise<void>[] = [];
    for (const id of unique) {
      const previous = this.tails.get(id);
      if (previous) waits.push(previous);
      this.tails.set(id, mine);
    }
    await Promise.all(waits);
    return () => {
      release();
      for (const id of unique) if (this.tails.get(id) === mine) this.tails.delete(id);
    };
  }
}

interface PersistedState {
  readonly version: 1;
  readonly region: string;
  readonly epoch: string;
  readonly lastSeq: number;
  readonly feed: ChangeRecord[];
  readonly lastWrites: [string, number, string][];
}

/** A write the front is about to forward, and what to record once dynalite acknowledged it. */
interface PlannedWrite {
  readonly table: string;
  readonly key: WireItem;
  readonly id: string;
  readonly op: ChangeOp;
  /** Put image known from the request; absent for UpdateItem (read back after success). */
  readonly image?: WireItem;
  readonly readBack: boolean;
}

interface BufferedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** An AWS-shaped error, so the SDK raises a named exception rather than a parse failure. */
function sendAwsError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(
    res,
    status,
    { __type: `com.amazon.coral.service#${type}`, message },
    {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': randomUUID(),
    },
  );
}

function forwardableHeaders(headers: IncomingHttpHeaders, bodyLength: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  out['content-length'] = bodyLength;
  return out;
}

/** dynalite's response headers as they were; the body is passed on byte for byte, so its length still holds. */
function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && (name === 'content-length' || !HOP_BY_HOP.has(name))) out[name] = value;
  }
  return out;
}

function parseNonNegativeInt(value: string | null, name: string, fallback: number): number {
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value)) throw new HttpError(400, `${name} must be a non-negative integer, got '${value}'`);
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new HttpError(400, `${name} is too large`);
  return parsed;
}

function validateReplicatedChange(value: unknown, index: number): ReplicatedChange {
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

/** Starts one region's DynamoDB engine; resolves once both dynalite and the front answer. */
export async function startDynamoEngine(options: DynamoEngineOptions): Promise<DynamoEngine> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region;
  const maxFeedEntries = options.maxFeedEntries ?? 1_000_000;
  mkdirSync(options.dataDir, { recursive: true });
  const dynaliteDir = join(options.dataDir, 'dynalite');
  mkdirSync(dynaliteDir, { recursive: true });
  const statePath = join(options.dataDir, STATE_FILE);

  // dynalite reads the region for table ARNs from the environment when its store is created: give it ours.
  const savedRegion = process.env.AWS_REGION;
  process.env.AWS_REGION = region;
  let inner: Server;
  try {
    inner = dynalite({ path: dynaliteDir, createTableMs: 5, deleteTableMs: 5, updateTableMs: 5 });
  } finally {
    if (savedRegion === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = savedRegion;
  }
  guardAgainstAbortedRequests(inner);
  inner.keepAliveTimeout = 30_000;
  const innerPort = await listen(inner, 0);
  const agent = new Agent({ keepAlive: true, maxSockets: 64, timeout: 10_000 });

  // ---- change feed state (restored when the previous run closed cleanly) ----
  let restored: PersistedState | undefined;
  if (existsSync(statePath)) {
    try {
      const saved = JSON.parse(readFileSync(statePath, 'utf8')) as PersistedState;
      if (saved.version === 1 && saved.region === region) restored = saved;
    } catch (error) {
      console.error(`[dynamo-engine ${region}] ignoring unreadable ${statePath}: ${String(error)}`);
    }
    // A crash from here on must not resurrect this state with a stale sequence: the next start gets a new epoch.
    rmSync(statePath, { force: true });
  }
  const feed = restored
    ? new ChangeFeed(region, maxFeedEntries, restored.epoch, restored.lastSeq, restored.feed)
    : new ChangeFeed(region, maxFeedEntries, randomUUID(), 0, []);
  /** Last-writer-wins clock per item id: the newest write this region holds, local or replicated. */
  const lastWrites = new Map<string, LastWrite>();
  for (const [id, ts, origin] of restored?.lastWrites ?? []) lastWrites.set(id, { ts, origin });

  const locks = new ItemLocks();
  const itemWrites = new Map<string, number>();
  const keySchemas = new Map<string, string[]>();

  // ---- talking to dynalite directly (replicated applies and bookkeeping bypass the feed) ----
  function callInner(
    method: string,
    body: Buffer,
    headers: OutgoingHttpHeaders,
    path = '/',
  ): Promise<BufferedResponse> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: innerPort, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  async function dynamo(operation: string, input: unknown): Promise<Record<string, unknown>> {
    const body = Buffer.from(JSON.stringify(input));
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const response = await callInner('POST', body, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': body.length,
      'x-amz-target': `${API_VERSION}.${operation}`,
      'x-amz-date': amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/${region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
    });
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(response.body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      // leave empty: the status decides
    }
    if (response.status !== 200) {
      const type =
        String(parsed.__type ?? 'UnknownError')
          .split('#')
          .pop() ?? 'UnknownError';
      throw new DynamoCallError(response.status, type, `${operation}: ${type}: ${String(parsed.message ?? '')}`);
    }
    return parsed;
  }

  async function keySchema(table: string): Promise<string[] | undefined> {
    const cached = keySchemas.get(table);
    if (cached) return cached;
    try {
      const described = await dynamo('DescribeTable', { TableName: table });
      const schema = (described.Table as { KeySchema?: { AttributeName: string }[] } | undefined)?.KeySchema;
      if (!schema || schema.length === 0) return undefined;
      const names = schema.map((element) => element.AttributeName);
      keySchemas.set(table, names);
      return names;
    } catch {
      return undefined;
    }
  }

  function keyOf(item: unknown, names: readonly string[]): WireItem | undefined {
    if (!isPlainObject(item)) return undefined;
    const key: WireItem = {};
    for (const name of names) {
      const value = item[name];
      if (!isPlainObject(value)) return undefined;
      key[name] = value;
    }
    return key;
  }

  // ---- recording ----
  function record(write: PlannedWrite, image: WireItem | undefined, op: ChangeOp): void {
    itemWrites.set(write.table, (itemWrites.get(write.table) ?? 0) + 1);
    const previous = lastWrites.get(write.id);
    // A local write always follows what this region has seen of the key, so it must win over it.
    const ts = previous ? Math.max(Date.now(), previous.ts + 1) : Date.now();
    lastWrites.set(write.id, { ts, origin: region });
    feed.append(
      op === 'put'
        ? { table: write.table, key: write.key, op, image, ts, origin: region }
        : { table: write.table, key: write.key, op, ts, origin: region },
    );
  }

  /** What the write request will change, or undefined when it cannot be planned (dynalite will refuse it). */
  async function planWrites(operation: string, input: Record<string, unknown>): Promise<PlannedWrite[] | undefined> {
    const plan = async (table: unknown, item: unknown, kind: 'put' | 'update' | 'delete') => {
      if (typeof table !== 'string') return undefined;
      const names = await keySchema(table);
      if (!names) return undefined;
      const key = keyOf(item, names);
      if (!key) return undefined;
      const id = itemId(table, key);
      if (kind === 'put') return { table, key, id, op: 'put' as const, image: item as WireItem, readBack: false };
      if (kind === 'update') return { table, key, id, op: 'put' as const, readBack: true };
      return { table, key, id, op: 'delete' as const, readBack: false };
    };
    const writes: (PlannedWrite | undefined)[] = [];
    if (operation === 'PutItem') writes.push(await plan(input.TableName, input.Item, 'put'));
    else if (operation === 'UpdateItem') writes.push(await plan(input.TableName, input.Key, 'update'));
    else if (operation === 'DeleteItem') writes.push(await plan(input.TableName, input.Key, 'delete'));
    else if (operation === 'BatchWriteItem') {
      if (!isPlainObject(input.RequestItems)) return undefined;
      for (const [table, requests] of Object.entries(input.RequestItems)) {
        if (!Array.isArray(requests)) return undefined;
        for (const request of requests) {
          if (!isPlainObject(request)) return undefined;
          if (isPlainObject(request.PutRequest)) writes.push(await plan(table, request.PutRequest.Item, 'put'));
          else if (isPlainObject(request.DeleteRequest)) {
            writes.push(await plan(table, request.DeleteRequest.Key, 'delete'));
          } else return undefined;
        }
      }
    }
    if (writes.length === 0 || writes.some((write) => write === undefined)) return undefined;
    return writes as PlannedWrite[];
  }

  /** Item ids BatchWriteItem reported back as unprocessed: those writes did not happen. */
  function unprocessedIds(responseBody: Buffer): Set<string> {
    const ids = new Set<string>();
    try {
      const parsed = JSON.parse(responseBody.toString('utf8')) as { UnprocessedItems?: Record<string, unknown[]> };
      for (const [table, requests] of Object.entries(parsed.UnprocessedItems ?? {})) {
        const names = keySchemas.get(table);
        if (!names) continue;
        for (const request of requests) {
          const r = request as { PutRequest?: { Item?: unknown }; DeleteRequest?: { Key?: unknown } };
          const key = keyOf(r.PutRequest?.Item ?? r.DeleteRequest?.Key, names);
          if (key) ids.add(itemId(table, key));
        }
      }
    } catch {
      // an unparsable success body: record every write (the safe side for replication)
    }
    return ids;
  }

  async function readBack(write: PlannedWrite): Promise<WireItem | undefined | 'failed'> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const got = await dynamo('GetItem', { TableName: write.table, Key: write.key, ConsistentRead: true });
        return isPlainObject(got.Item) ? (got.Item as WireItem) : undefined;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 10 * (attempt + 1)));
      }
    }
    return 'failed';
  }

  async function handleWrite(
    operation: string,
    input: Record<string, unknown>,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const writes = await planWrites(operation, input);
    if (!writes) {
      // Not a write dynalite can accept (unknown table, missing key...): let it answer with the proper error.
      await forward(req, body, res);
      return;
    }
    // An UpdateItem's new image comes back with the answer when asked for (ALL_NEW): one call instead of a write and
    // a read-back. The caller's own choice of ReturnValues is kept, and Attributes it did not ask for are removed.
    const askedFor = input.ReturnValues;
    const imageInAnswer =
      operation === 'UpdateItem' && (askedFor === undefined || askedFor === 'NONE' || askedFor === 'ALL_NEW');
    const sent =
      imageInAnswer && askedFor !== 'ALL_NEW'
        ? Buffer.from(JSON.stringify({ ...input, ReturnValues: 'ALL_NEW' }))
        : body;
    const release = await locks.acquire(writes.map((write) => write.id));
    let response: BufferedResponse;
    try {
      response = await callInner(req.method ?? 'POST', sent, forwardableHeaders(req.headers, sent.length), req.url);
      if (response.status === 200) {
        const skip = operation === 'BatchWriteItem' ? unprocessedIds(response.body) : new Set<string>();
        if (imageInAnswer) {
          const answer = JSON.parse(response.body.toString('utf8') || '{}') as Record<string, unknown>;
          const image = isPlainObject(answer.Attributes) ? (answer.Attributes as WireItem) : undefined;
          record(writes[0], image, image ? 'put' : 'delete');
          if (askedFor !== 'ALL_NEW') {
            delete answer.Attributes;
            const rewritten = Buffer.from(JSON.stringify(answer));
            const headers = {
              ...response.headers,
              'content-length': String(rewritten.length),
              'x-amz-crc32': String(crc32(rewritten)),
            };
            response = { status: response.status, headers, body: rewritten };
          }
        }
        for (const write of imageInAnswer ? [] : writes) {
          if (skip.has(write.id)) continue;
          if (!write.readBack) {
            record(write, write.image, write.op);
            continue;
          }
          const image = await readBack(write);
          if (image === 'failed') {
            console.error(`[dynamo-engine ${region}] could not read back ${write.id} after UpdateItem; not replicated`);
          } else if (image === undefined) record(write, undefined, 'delete');
          else record(write, image, 'put');
        }
      }
    } finally {
      release();
    }
    res.writeHead(response.status, responseHeaders(response.headers));
    res.end(response.body);
  }

  /** Forwards a request to dynalite unchanged and streams the answer back. */
  function forward(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: innerPort,
          method: req.method,
          path: req.url,
          headers: forwardableHeaders(req.headers, body.length),
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, responseHeaders(answer.headers));
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      upstream.on('error', (error) => {
        sendAwsError(res, 500, 'InternalFailure', `local DynamoDB did not answer: ${error.message}`);
        resolve();
      });
      upstream.end(body);
    });
  }

  // ---- replicated applies ----
  async function batchWrite(table: string, requests: unknown[]): Promise<void> {
    let pending: Record<string, unknown[]> = { [table]: requests };
    for (let attempt = 0; ; attempt++) {
      const result = await dynamo('BatchWriteItem', { RequestItems: pending });
      const unprocessed = (result.UnprocessedItems ?? {}) as Record<string, unknown[]>;
      if (Object.values(unprocessed).every((list) => list.length === 0)) return;
      if (attempt >= 20) throw new Error(`BatchWriteItem left items unprocessed after ${attempt + 1} attempts`);
      pending = unprocessed;
      await new Promise((resolve) => setTimeout(resolve, Math.min(500, 5 * 2 ** attempt)));
    }
  }

  async function applyChanges(changes: readonly ReplicatedChange[]): Promise<ApplyResult> {
    // Only the newest change per item matters: the feed is ordered per key and last-writer-wins decides the rest.
    const newest = new Map<string, ReplicatedChange>();
    for (const change of changes) {
      const id = itemId(change.table, change.key);
      const current = newest.get(id);
      if (!current || !isNewer(current, change)) newest.set(id, change);
    }
    let skipped = changes.length - newest.size;
    const release = await locks.acquire([...newest.keys()]);
    try {
      const winners: [string, ReplicatedChange][] = [];
      for (const [id, change] of newest) {
        const previous = lastWrites.get(id);
        if (previous && !isNewer(change, previous)) skipped += 1;
        else winners.push([id, change]);
      }
      const chunks: { table: string; requests: unknown[] }[] = [];
      const byTable = new Map<string, unknown[]>();
      for (const [, change] of winners) {
        const list = byTable.get(change.table) ?? [];
        list.push(
          change.op === 'put' ? { PutRequest: { Item: change.image } } : { DeleteRequest: { Key: change.key } },
        );
        byTable.set(change.table, list);
      }
      for (const [table, requests] of byTable) {
        for (let i = 0; i < requests.length; i += BATCH_LIMIT) {
          chunks.push({ table, requests: requests.slice(i, i + BATCH_LIMIT) });
        }
      }
      let next = 0;
      const worker = async () => {
        while (next < chunks.length) {
          const chunk = chunks[next++];
          await batchWrite(chunk.table, chunk.requests);
        }
      };
      await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, chunks.length) }, worker));
      for (const [id, change] of winners) lastWrites.set(id, { ts: change.ts, origin: change.origin });
      return { applied: winners.length, skipped };
    } finally {
      release();
    }
  }

  // ---- reserved control API ----
  async function handleControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://engine');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    switch (route) {
      case 'GET /_tsr/health': {
        const health: EngineHealth = {
          ok: true,
          region,
          epoch: feed.epoch,
          firstSeq: feed.firstSeq,
          lastSeq: feed.lastSeq,
          feedSize: feed.size,
          operations: Object.fromEntries(operationStats),
          itemWrites: Object.fromEntries(itemWrites),
        };
        sendJson(res, 200, health);
        return;
      }
      case 'GET /_tsr/changes': {
        const after = parseNonNegativeInt(url.searchParams.get('after'), 'after', 0);
        const limit = Math.max(
          1,
          Math.min(MAX_PAGE, parseNonNegativeInt(url.searchParams.get('limit'), 'limit', 1000)),
        );
        // Long poll: with waitMs, an empty answer waits for the next write (lag at rest stays in milliseconds).
        const waitMs = Math.min(MAX_WAIT_MS, parseNonNegativeInt(url.searchParams.get('waitMs'), 'waitMs', 0));
        if (!closing) await feed.waitForChanges(after, waitMs);
        sendJson(res, 200, feed.page(after, limit));
        return;
      }
      case 'POST /_tsr/trim': {
        const upTo = parseNonNegativeInt(url.searchParams.get('upTo'), 'upTo', -1);
        if (upTo < 0) throw new HttpError(400, 'upTo is required');
        const trimmed = feed.trim(upTo);
        sendJson(res, 200, { trimmed, firstSeq: feed.firstSeq });
        return;
      }
      case 'POST /_tsr/apply': {
        const body = await readBody(req, MAX_BODY_BYTES * 4);
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch {
          throw new HttpError(400, 'body must be JSON: { "changes": [...] }');
        }
        if (!isPlainObject(parsed) || !Array.isArray(parsed.changes)) {
          throw new HttpError(400, 'body must be { "changes": [...] }');
        }
        const changes = parsed.changes.map(validateReplicatedChange);
        try {
          sendJson(res, 200, await applyChanges(changes));
        } catch (error) {
          const status = error instanceof DynamoCallError && error.status < 500 ? 409 : 503;
          sendJson(res, status, { error: error instanceof Error ? error.message : String(error) });
        }
        return;
      }
      default:
        throw new HttpError(404, `no such endpoint: ${route}`);
    }
  }

  // ---- the front ----
  let closing: Promise<void> | undefined;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const operationStats = new Map<string, { count: number; ms: number }>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if ((req.url ?? '').startsWith(RESERVED_PREFIX)) {
      await handleControl(req, res);
      return;
    }
    const started = performance.now();
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(`${API_VERSION}.`) ? target.slice(API_VERSION.length + 1) : '';
    try {
      await handleDynamo(req, res, operation);
    } finally {
      const stats = operationStats.get(operation || 'other') ?? { count: 0, ms: 0 };
      stats.count += 1;
      stats.ms += performance.now() - started;
      operationStats.set(operation || 'other', stats);
    }
  }

  async function handleDynamo(req: IncomingMessage, res: ServerResponse, operation: string): Promise<void> {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (req.method === 'POST' && operation !== '') {
      // dynalite throws (and would take the process down) on a JSON body that is not an object, e.g. `null`.
      let input: unknown;
      try {
        input = JSON.parse(body.toString('utf8'));
      } catch {
        input = undefined;
      }
      if (!isPlainObject(input)) {
        sendAwsError(res, 400, 'SerializationException', 'request body must be a JSON object');
        return;
      }
      if (WRITE_OPS.has(operation)) {
        await handleWrite(operation, input, req, body, res);
        return;
      }
      if (SCHEMA_OPS.has(operation) && typeof input.TableName === 'string') keySchemas.delete(input.TableName);
    }
    await forward(req, body, res);
  }

  const front = createServer((req, res) => {
    inFlight += 1;
    handle(req, res)
      .catch((error: unknown) => {
        if (error instanceof HttpError) sendJson(res, error.status, { error: error.message });
        else if (error instanceof BodyTooLargeError) sendJson(res, 413, { error: error.message });
        else sendAwsError(res, 500, 'InternalFailure', error instanceof Error ? error.message : String(error));
      })
      .finally(() => {
        inFlight -= 1;
        if (inFlight === 0) idle?.();
      });
  });
  front.keepAliveTimeout = 30_000;
  front.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  let port: number;
  try {
    port = await bindPort(front, options.port, options.anyPortIfTaken, host);
  } catch (error) {
    agent.destroy();
    await closeServer(inner);
    throw error;
  }

  async function close(): Promise<void> {
    feed.wakeAll();
    const stopFront = new Promise<void>((resolve) => front.close(() => resolve()));
    front.closeIdleConnections();
    if (inFlight > 0) {
      // Let acknowledged writes finish recording before the feed is saved.
      await Promise.race([
        new Promise<void>((resolve) => (idle = resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, 5_000).unref()),
      ]);
    }
    front.closeAllConnections();
    await stopFront;
    const state: PersistedState = {
      version: 1,
      region,
      epoch: feed.epoch,
      lastSeq: feed.lastSeq,
      feed: feed.snapshot(),
      lastWrites: [...lastWrites].map(([id, last]) => [id, last.ts, last.origin]),
    };
    try {
      writeFileSync(statePath, JSON.stringify(state));
    } catch (error) {
      console.error(`[dynamo-engine ${region}] could not save the change feed: ${String(error)}`);
    }
    agent.destroy();
    await closeServer(inner);
  }

  return {
    endpoint: `http://${host}:${port}`,
    port,
    ports: [port],
    close: () => (closing ??= close()),
  };
}

/** dynalite rethrows request stream errors (a client that hangs up mid-request), which would end the process. */
function guardAgainstAbortedRequests(server: Server): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const on = req.on.bind(req);
    req.on = ((event: string, listener: (...args: unknown[]) => void) =>
      event === 'error' ? on('error', () => res.destroy()) : on(event, listener)) as typeof req.on;
    for (const handler of handlers) handler(req, res);
  });
}
