/**
 * The local replication link that turns one dynalite engine per region into DynamoDB global tables.
 *
 * For every source region one puller reads the engine's change feed (`GET /_tsr/changes`) from its cursor and queues
 * the changes of global tables for every other region; for every ordered pair (source → target) one applier sends
 * the queue, in order, to the target's `POST /_tsr/apply` (last-writer-wins there, never re-recorded, so no loops).
 * The source feed is trimmed up to the lowest cursor across its targets once every target has applied.
 *
 * Lag is measured, never assumed: it is the age of the oldest change not yet applied at the target. When a source
 * does not answer, changes made since the last successful pull are unknown, so the lag is at least the time since
 * then. Pending changes are kept and retried while a target is down, and the lag keeps growing.
 *
 * HTTP API (127.0.0.1):
 *   GET  /lag            → TableLag[] (one per global table per ordered region pair)
 *   GET  /health         → LinkState
 *   POST /pause          → LinkState   (stop applying; pulling continues, so pending and lag keep being measured)
 *   POST /resume         → LinkState
 *   POST /delay?ms=<n>   → LinkState   (added one-way delay: a change is applied no earlier than its ts + n)
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { ReplicationLag } from '../../../platform/platform.js';
import { ExitCode, UserError } from '../../../errors.js';
import type { ChangeRecord, ChangesPage } from '../engines/dynamo-engine.js';
import { bindPort, closeServer, sendJson } from '../http-server.js';

export interface ReplicationRegion {
  readonly region: string;
  /** The region's DynamoDB engine front endpoint, e.g. http://127.0.0.1:4567. */
  readonly endpoint: string;
}

export interface DynamoReplicationLinkOptions {
  /** Interface to bind; 127.0.0.1 unless told otherwise. */
  readonly host?: string;
  /** Port of the link's HTTP API; 0 picks an ephemeral one. */
  readonly port: number;
  /** When `port` is taken, bind any free port instead (the one bound is reported); otherwise fail naming it. */
  readonly anyPortIfTaken?: boolean;
  readonly regions: readonly ReplicationRegion[];
  /** The global tables; changes to any other table are never replicated. */
  readonly tables: readonly string[];
  /** How often an idle source is polled, ms. Default 50. */
  readonly pollIntervalMs?: number;
  /** Added one-way delay, ms (drills). Default 0. */
  readonly delayMs?: number;
  /** Changes buffered per region pair before pulling pauses. Default 500,000. */
  readonly maxBufferedChanges?: number;
}

export interface DynamoReplicationLink {
  /** The link's HTTP API, e.g. http://127.0.0.1:4600. */
  readonly endpoint: string;
  readonly port: number;
  readonly ports: readonly number[];
  close(): Promise<void>;
}

/** One global table on one ordered region pair, as `GET /lag` reports it. */
export interface TableLag {
  readonly table: string;
  readonly from: string;
  readonly to: string;
  /** Changes not yet applied at `to`. */
  readonly pending: number;
  /** Age of the oldest change not yet applied at `to`; 0 when caught up. */
  readonly lagMs: number;
  readonly healthy: boolean;
  readonly detail?: string;
}

export interface LinkState {
  readonly ok: true;
  readonly paused: boolean;
  readonly delayMs: number;
  readonly regions: readonly string[];
  readonly tables: readonly string[];
}

const PAGE_SIZE = 5_000;
const APPLY_BATCH = 2_000;
const APPLY_BATCH_BYTES = 8 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 5_000;
/** How long the source holds an empty pull open waiting for a write (long poll). */
const LONG_POLL_MS = 1_000;
const SILENCE_GRACE_MS = 1_000;
const APPLY_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 1_000;
const PROBE_EVERY_MS = 500;
const MAX_DELAY_MS = 24 * 60 * 60 * 1000;

interface Queued {
  readonly change: ChangeRecord;
  /** Approximate JSON size, to keep apply requests bounded. */
  readonly bytes: number;
  /** Epoch of the source feed the change came from (seqs are only comparable within one epoch). */
  readonly epoch: string;
}

/** FIFO of changes waiting for one target, with per-table counts. */
class ChangeQueue {
  private items: Queued[] = [];
  private head = 0;
  private readonly perTable = new Map<string, number>();

  get length(): number {
    return this.items.length - this.head;
  }

  push(entry: Queued): void {
    this.items.push(entry);
    this.perTable.set(entry.change.table, (this.perTable.get(entry.change.table) ?? 0) + 1);
  }

  first(): Queued | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /**
   * Changes from the head, in order, up to `max` of them and about `maxBytes` (always at least one), stopping at the
   * first one not yet `eligible`.
   */
  take(max: number, maxBytes: number, eligible: (entry: Queued) => boolean): Queued[] {
    const out: Queued[] = [];
    let bytes = 0;
    for (let i = this.head; i < this.items.length && out.length < max; i++) {
      const entry = this.items[i];
      if (!eligible(entry) || (out.length > 0 && bytes + entry.bytes > maxBytes)) break;
      bytes += entry.bytes;
      out.push(entry);
    }
    return out;
  }

  drop(count: number): void {
    for (let i = this.head; i < this.head + count; i++) {
      const table = this.items[i].change.table;
      this.perTable.set(table, (this.perTable.get(table) ?? 1) - 1);
    }
    this.head += count;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  count(table: string): number {
    return this.perTable.get(table) ?? 0;
  }

  oldest(table: string): Queued | undefined {
    if (this.count(table) === 0) return undefined;
    for (let i = this.head; i < this.items.length; i++) if (this.items[i].change.table === table) return this.items[i];
    return undefined;
  }
}

/** Something a loop can sleep on and be woken from early; a wake while it is busy is not lost. */
class Waker {
  private wakeUp: (() => void) | undefined;
  private woken = false;

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      this.wakeUp = done;
    });
  }

  wake(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    if (wakeUp) wakeUp();
    else this.woken = true;
  }
}

interface SourceState {
  readonly region: string;
  readonly endpoint: string;
  epoch?: string;
  fetchedSeq: number;
  trimmedTo: number;
  lastOkAt: number;
  error?: string;
  /** Something the operator should know about this feed (restart, truncation), kept until the link restarts. */
  note?: string;
  backpressured: boolean;
  trimming: boolean;
  trimAgain: boolean;
  readonly pairs: PairState[];
  readonly waker: Waker;
}

interface PairState {
  readonly source: SourceState;
  readonly to: string;
  readonly endpoint: string;
  readonly queue: ChangeQueue;
  error?: string;
  lastContactAt: number;
  readonly waker: Waker;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A JSON request with a timeout; non-2xx answers reject with the server's error text. */
function requestJson<T>(
  method: string,
  url: string,
  options: { body?: unknown; timeoutMs: number; agent?: Agent | false },
): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const req = httpRequest(
      url,
      {
        method,
        agent: options.agent ?? false,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': payload.length }
          : { 'content-length': 0 },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            const message = (parsed as { error?: unknown } | undefined)?.error ?? text.slice(0, 200);
            reject(new Error(`HTTP ${status}: ${String(message)}`));
          } else if (parsed === undefined) {
            reject(new Error(`HTTP ${status}: answer is not JSON`));
          } else resolve(parsed as T);
        });
      },
    );
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Starts the link; it begins replicating at once (sources that do not answer yet are retried). */
export async function startDynamoReplicationLink(
  options: DynamoReplicationLinkOptions,
): Promise<DynamoReplicationLink> {
  const host = options.host ?? '127.0.0.1';
  const pollIntervalMs = Math.max(1, options.pollIntervalMs ?? 50);
  const maxBuffered = options.maxBufferedChanges ?? 500_000;
  const tables = new Set(options.tables);
  const regionNames = options.regions.map((r) => r.region);
  if (new Set(regionNames).size !== regionNames.length) {
    throw new Error(`replication link: regions must be distinct, got ${regionNames.join(', ')}`);
  }
  let delayMs = Math.max(0, options.delayMs ?? 0);
  let paused = false;
  let closed = false;
  const agent = new Agent({ keepAlive: true, maxSockets: 16, timeout: 10_000 });
  const startedAt = Date.now();

  const sources: SourceState[] = options.regions.map((source) => ({
    region: source.region,
    endpoint: source.endpoint.replace(/\/+$/, ''),
    fetchedSeq: 0,
    trimmedTo: 0,
    lastOkAt: startedAt,
    backpressured: false,
    trimming: false,
    trimAgain: false,
    pairs: [],
    waker: new Waker(),
  }));
  for (const source of sources) {
    for (const target of sources) {
      if (target === source) continue;
      source.pairs.push({
        source,
        to: target.region,
        endpoint: target.endpoint,
        queue: new ChangeQueue(),
        lastContactAt: 0,
        waker: new Waker(),
      });
    }
  }
  const pairs = sources.flatMap((source) => source.pairs);

  const state = (): LinkState => ({ ok: true, paused, delayMs, regions: regionNames, tables: [...tables] });

  // ---- pulling ----
  /** Highest seq of `source` that `pair` no longer needs. */
  function cursor(pair: PairState): number {
    const head = pair.queue.first();
    if (!head) return pair.source.fetchedSeq;
    return head.epoch === pair.source.epoch ? head.change.seq - 1 : 0;
  }

  /** Trims the source feed up to what every target has applied; one trim per source at a time. */
  async function trim(source: SourceState): Promise<void> {
    if (source.trimming) {
      source.trimAgain = true;
      return;
    }
    source.trimming = true;
    try {
      do {
        source.trimAgain = false;
        const upTo = Math.min(...source.pairs.map(cursor));
        if (upTo <= source.trimmedTo || closed) break;
        try {
          await requestJson('POST', `${source.endpoint}/_tsr/trim?upTo=${upTo}`, {
            timeoutMs: FETCH_TIMEOUT_MS,
            agent,
          });
          source.trimmedTo = upTo;
        } catch {
          break; // retried after the next pull or apply
        }
      } while (source.trimAgain);
    } finally {
      source.trimming = false;
    }
  }

  async function pull(source: SourceState): Promise<boolean> {
    if (source.pairs.some((pair) => pair.queue.length >= maxBuffered)) {
      source.backpressured = true;
      return false;
    }
    source.backpressured = false;
    const pulledAt = Date.now();
    const page = await requestJson<ChangesPage>(
      'GET',
      `${source.endpoint}/_tsr/changes?after=${source.fetchedSeq}&limit=${PAGE_SIZE}&waitMs=${LONG_POLL_MS}`,
      { timeoutMs: LONG_POLL_MS + FETCH_TIMEOUT_MS, agent },
    );
    const known = source.epoch !== undefined;
    if (known && page.epoch !== source.epoch) {
      // The engine restarted without its saved feed: its sequence starts over. Queued changes are still applied.
      source.note = `source ${source.region} restarted its change feed; changes it had not handed over before were lost`;
      source.epoch = page.epoch;
      source.fetchedSeq = 0;
      source.trimmedTo = 0;
      return true;
    }
    source.epoch = page.epoch;
    if (known && page.firstSeq > source.fetchedSeq + 1) {
      const lost = page.firstSeq - source.fetchedSeq - 1;
      source.note = `source ${source.region} dropped ${lost} change(s) from its feed before they were replicated`;
    }
    for (const change of page.changes) {
      if (!tables.has(change.table)) continue;
      const bytes = change.image ? JSON.stringify(change.image).length + 200 : 300;
      for (const pair of source.pairs) pair.queue.push({ change, bytes, epoch: page.epoch });
    }
    const last = page.changes.at(-1);
    source.fetchedSeq = last ? last.seq : Math.max(source.fetchedSeq, page.firstSeq - 1);
    source.lastOkAt = Date.now();
    source.error = undefined;
    if (page.changes.length > 0) for (const pair of source.pairs) pair.waker.wake();
    await trim(source);
    // Pull again at once, unless an empty answer came back without waiting (an engine that is shutting down).
    return page.changes.length > 0 || Date.now() - pulledAt >= LONG_POLL_MS / 2;
  }

  async function runSource(source: SourceState): Promise<void> {
    while (!closed) {
      // The pull itself waits (long poll) while the source has nothing new; sleep only after errors or when full.
      let again = false;
      try {
        again = await pull(source);
      } catch (error) {
        if (closed) return;
        source.error = `source ${source.region} (${source.endpoint}) did not answer: ${describe(error)}`;
      }
      if (!again) await source.waker.sleep(pollIntervalMs);
    }
  }

  // ---- applying ----
  async function probe(pair: PairState): Promise<void> {
    if (Date.now() - pair.lastContactAt < PROBE_EVERY_MS) return;
    try {
      await requestJson('GET', `${pair.endpoint}/_tsr/health`, { timeoutMs: PROBE_TIMEOUT_MS, agent });
      pair.error = undefined;
    } catch (error) {
      if (!closed) pair.error = `target ${pair.to} (${pair.endpoint}) did not answer: ${describe(error)}`;
    }
    pair.lastContactAt = Date.now();
  }

  async function runPair(pair: PairState): Promise<void> {
    let failures = 0;
    while (!closed) {
      const now = Date.now();
      const batch = paused
        ? []
        : pair.queue.take(APPLY_BATCH, APPLY_BATCH_BYTES, (entry) => entry.change.ts + delayMs <= now);
      if (batch.length === 0) {
        await probe(pair);
        const head = pair.queue.first();
        const wait = head && !paused ? Math.min(pollIntervalMs, head.change.ts + delayMs - now) : pollIntervalMs;
        await pair.waker.sleep(Math.max(1, wait));
        continue;
      }
      try {
        await requestJson('POST', `${pair.endpoint}/_tsr/apply`, {
          body: { changes: batch.map((entry) => entry.change) },
          timeoutMs: APPLY_TIMEOUT_MS,
          agent,
        });
        pair.queue.drop(batch.length);
        pair.error = undefined;
        pair.lastContactAt = Date.now();
        failures = 0;
        void trim(pair.source);
      } catch (error) {
        if (closed) return;
        pair.error = `target ${pair.to} (${pair.endpoint}) did not apply: ${describe(error)}`;
        pair.lastContactAt = Date.now();
        failures += 1;
        await pair.waker.sleep(Math.min(1_000, pollIntervalMs * 2 ** Math.min(failures, 10)));
      }
    }
  }

  // ---- measuring ----
  function lag(): TableLag[] {
    const now = Date.now();
    const out: TableLag[] = [];
    for (const pair of pairs) {
      const source = pair.source;
      for (const table of tables) {
        const pending = pair.queue.count(table);
        const oldest = pair.queue.oldest(table);
        let lagMs = oldest ? Math.max(0, now - oldest.change.ts) : 0;
        // A pull answers within LONG_POLL_MS; a source silent for longer is not answering, even before it times out.
        const silentMs = now - source.lastOkAt;
        const silent = !source.backpressured && silentMs > LONG_POLL_MS + SILENCE_GRACE_MS;
        const sourceError =
          source.error ??
          (silent ? `source ${source.region} (${source.endpoint}) silent for ${silentMs} ms` : undefined);
        // Changes made since the last successful pull are unknown: the lag is at least that old.
        if (sourceError) lagMs = Math.max(lagMs, silentMs);
        const details = [sourceError, pair.error, source.note];
        if (paused) details.push('replication paused');
        if (source.backpressured) details.push(`more than ${maxBuffered} changes behind: pending counts buffered ones`);
        const detail = details.filter((d): d is string => Boolean(d)).join('; ');
        out.push({
          table,
          from: source.region,
          to: pair.to,
          pending,
          lagMs,
          healthy: !sourceError && !pair.error,
          ...(detail ? { detail } : {}),
        });
      }
    }
    return out;
  }

  // ---- HTTP API ----
  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://link');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    req.resume(); // bodies are not used
    switch (route) {
      case 'GET /lag':
        sendJson(res, 200, lag());
        return;
      case 'GET /health':
        sendJson(res, 200, state());
        return;
      case 'POST /pause':
        paused = true;
        sendJson(res, 200, state());
        return;
      case 'POST /resume':
        paused = false;
        for (const pair of pairs) pair.waker.wake();
        sendJson(res, 200, state());
        return;
      case 'POST /delay': {
        const raw = url.searchParams.get('ms') ?? '';
        const ms = /^\d+$/.test(raw) ? Number(raw) : NaN;
        if (!Number.isSafeInteger(ms) || ms > MAX_DELAY_MS) {
          sendJson(res, 400, { error: `ms must be an integer between 0 and ${MAX_DELAY_MS}, got '${raw}'` });
          return;
        }
        delayMs = ms;
        for (const pair of pairs) pair.waker.wake();
        sendJson(res, 200, state());
        return;
      }
      default:
        sendJson(res, 404, { error: `no such endpoint: ${route}` });
    }
  }

  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      sendJson(res, 500, { error: describe(error) });
    }
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  const port = await bindPort(server, options.port, options.anyPortIfTaken, host);

  const loops = [...sources.filter((source) => source.pairs.length > 0).map(runSource), ...pairs.map(runPair)];

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    closed = true;
    for (const source of sources) source.waker.wake();
    for (const pair of pairs) pair.waker.wake();
    agent.destroy(); // fails requests in flight, so the loops end now
    await Promise.allSettled(loops);
    await closeServer(server);
  }

  return {
    endpoint: `http://${host}:${port}`,
    port,
    ports: [port],
    close: () => (closing ??= close()),
  };
}

// ---- client ----

const CLIENT_TIMEOUT_MS = 3_000;

async function callLink<T>(method: string, linkEndpoint: string, path: string): Promise<T> {
  const url = `${linkEndpoint.replace(/\/+$/, '')}${path}`;
  try {
    return await requestJson<T>(method, url, { timeoutMs: CLIENT_TIMEOUT_MS });
  } catch (error) {
    throw new UserError(
      `The DynamoDB replication link at ${linkEndpoint} did not answer ${method} ${path}: ${describe(error)}`,
      'Check that the local platform is running (tsr status); start it with tsr deploy --target local.',
      ExitCode.unhealthy,
    );
  }
}

/** Replication lag of every global table on every region pair, as the platform reports it. */
export async function fetchReplicationLag(linkEndpoint: string): Promise<ReplicationLag[]> {
  const rows = await callLink<TableLag[]>('GET', linkEndpoint, '/lag');
  return rows.map((row) => ({
    kind: 'table',
    resource: row.table,
    from: row.from,
    to: row.to,
    lagMs: row.lagMs,
    pending: row.pending,
    healthy: row.healthy,
    ...(row.detail ? { detail: row.detail } : {}),
  }));
}

export function pauseReplication(linkEndpoint: string): Promise<LinkState> {
  return callLink<LinkState>('POST', linkEndpoint, '/pause');
}

export function resumeReplication(linkEndpoint: string): Promise<LinkState> {
  return callLink<LinkState>('POST', linkEndpoint, '/resume');
}

export function setReplicationDelay(linkEndpoint: string, delayMs: number): Promise<LinkState> {
  if (!Number.isSafeInteger(delayMs) || delayMs < 0) {
    return Promise.reject(new UserError(`replication delay must be a whole number of ms ≥ 0, got ${delayMs}`));
  }
  return callLink<LinkState>('POST', linkEndpoint, `/delay?ms=${delayMs}`);
}
