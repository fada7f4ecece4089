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
 * The parts: link-topology.ts (sources, pairs, shared settings), puller.ts (one loop per source), applier.ts (one loop
 * per pair, with its change-queue.ts), lag.ts (measurement) and link-api.ts (the HTTP API:
 * GET /lag, GET /health, POST /pause, POST /resume, POST /delay?ms=<n>).
 */
import { Agent, createServer, type Server } from 'node:http';
import type { ReplicationLag } from '../../../clients/types.js';
import { ExitCode, UserError } from '../../../errors.js';
import { bindPort, closeServer, sendJson } from '../http-server.js';
import { runPair } from './applier.js';
import { describe, requestJson } from './http-json.js';
import { measureLag, type TableLag } from './lag.js';
import { handleLinkRequest, type LinkState } from './link-api.js';
import { buildTopology, type LinkContext } from './link-topology.js';
import { runSource } from './puller.js';

export type { TableLag } from './lag.js';
export type { LinkState } from './link-api.js';

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

/** Starts the link; it begins replicating at once (sources that do not answer yet are retried). */
export async function startDynamoReplicationLink(
  options: DynamoReplicationLinkOptions,
): Promise<DynamoReplicationLink> {
  const host = options.host ?? '127.0.0.1';
  const regionNames = options.regions.map((r) => r.region);
  if (new Set(regionNames).size !== regionNames.length) {
    throw new Error(`replication link: regions must be distinct, got ${regionNames.join(', ')}`);
  }
  const context: LinkContext = {
    agent: new Agent({ keepAlive: true, maxSockets: 16, timeout: 10_000 }),
    tables: new Set(options.tables),
    pollIntervalMs: Math.max(1, options.pollIntervalMs ?? 50),
    maxBuffered: options.maxBufferedChanges ?? 500_000,
    control: { paused: false, delayMs: Math.max(0, options.delayMs ?? 0), closed: false },
  };
  const { control } = context;
  const { sources, pairs } = buildTopology(options.regions, Date.now());
  const wakeAppliers = () => pairs.forEach((pair) => pair.waker.wake());

  const server: Server = createServer((req, res) => {
    try {
      handleLinkRequest(req, res, {
        lag: () => measureLag({ ...context, ...control, pairs, now: Date.now() }),
        state: (): LinkState => ({
          ok: true,
          paused: control.paused,
          delayMs: control.delayMs,
          regions: regionNames,
          tables: [...context.tables],
        }),
        setPaused: (paused) => {
          control.paused = paused;
          if (!paused) wakeAppliers();
        },
        setDelay: (ms) => {
          control.delayMs = ms;
          wakeAppliers();
        },
        forgetUnapplied: (region) => {
          if (!regionNames.includes(region)) return false;
          for (const pair of pairs) if (pair.source.region === region) pair.forgetQueued = true;
          wakeAppliers();
          return true;
        },
      });
    } catch (error) {
      sendJson(res, 500, { error: describe(error) });
    }
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  const port = await bindPort(server, options.port, options.anyPortIfTaken, host);

  const loops = [
    ...sources.filter((source) => source.pairs.length > 0).map((source) => runSource(source, context)),
    ...pairs.map((pair) => runPair(pair, context)),
  ];

  let closing: Promise<void> | undefined;
  async function close(): Promise<void> {
    control.closed = true;
    for (const source of sources) source.waker.wake();
    wakeAppliers();
    context.agent.destroy(); // fails requests in flight, so the loops end now
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

/** A region was lost: the link forgets what it holds of that region's changes unapplied (see POST /lost). */
export function forgetLostRegion(linkEndpoint: string, region: string): Promise<LinkState> {
  return callLink<LinkState>('POST', linkEndpoint, `/lost?region=${encodeURIComponent(region)}`);
}

export function setReplicationDelay(linkEndpoint: string, delayMs: number): Promise<LinkState> {
  if (!Number.isSafeInteger(delayMs) || delayMs < 0) {
    return Promise.reject(new UserError(`replication delay must be a whole number of ms ≥ 0, got ${delayMs}`));
  }
  return callLink<LinkState>('POST', linkEndpoint, `/delay?ms=${delayMs}`);
}
