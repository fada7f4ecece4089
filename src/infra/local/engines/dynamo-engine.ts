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
 * The parts, under ./dynamo/: the change feed (record, page, trim, persistence), last-writer-wins resolution and the
 * replicated apply, per-item write locks, dynalite and the requests passed to it, the write interception, the
 * reserved /_tsr/ API (see control-api.ts) and the front server that routes between them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bindPort } from '../http-server.js';
import { restoreFeed, saveFeed, takeSavedFeed } from './dynamo/change-feed.js';
import { handleControlRequest } from './dynamo/control-api.js';
import { Dynalite } from './dynamo/dynalite.js';
import { DynamoFront } from './dynamo/front.js';
import { ItemLocks } from './dynamo/item-locks.js';
import { FORGET_MARGIN_MS, LastWriteClock } from './dynamo/last-writer-wins.js';
import { applyReplicatedChanges } from './dynamo/replicated-apply.js';
import { type RecordWrite, WriteInterceptor } from './dynamo/write-interceptor.js';
import type { EngineHealth } from './dynamo/wire.js';

export { RESERVED_PREFIX } from './dynamo/control-api.js';
export {
  type ApplyRequest,
  type ApplyResult,
  type ChangeOp,
  type ChangeRecord,
  type ChangesPage,
  type EngineHealth,
  itemId,
  type ReplicatedChange,
  type WireAttributeValue,
  type WireItem,
} from './dynamo/wire.js';

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
  /**
   * The other regions whose changes the link applies here. Once each has handed over its changes up to a moment,
   * the last-writer-wins clock forgets items last written well before it; without peers it remembers every item.
   */
  readonly peers?: readonly string[];
  /** How far before the peers' delivered stamps items are forgotten, ms (default 60,000: clock jitter's margin). */
  readonly clockForgetMarginMs?: number;
}

export interface DynamoEngine {
  readonly endpoint: string;
  readonly port: number;
  readonly ports: readonly number[];
  close(): Promise<void>;
}

const STATE_FILE = 'tsr-change-feed.json';

/** Starts one region's DynamoDB engine; resolves once both dynalite and the front answer. */
export async function startDynamoEngine(options: DynamoEngineOptions): Promise<DynamoEngine> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region;
  const dynaliteDir = join(options.dataDir, 'dynalite');
  mkdirSync(dynaliteDir, { recursive: true });
  const statePath = join(options.dataDir, STATE_FILE);
  const dynalite = await Dynalite.start(dynaliteDir, region);

  // The change feed and its last-writer-wins clock, restored when the previous run closed cleanly.
  const saved = takeSavedFeed(statePath, region);
  const feed = restoreFeed(region, options.maxFeedEntries ?? 1_000_000, saved);
  const clock = new LastWriteClock(
    saved?.lastWrites,
    options.peers,
    Math.max(0, options.clockForgetMarginMs ?? FORGET_MARGIN_MS),
  );
  const locks = new ItemLocks();
  const itemWrites = new Map<string, number>();

  const record: RecordWrite = (write, image, op) => {
    itemWrites.set(write.table, (itemWrites.get(write.table) ?? 0) + 1);
    const ts = clock.stampLocal(write.id, region);
    feed.append(
      op === 'put'
        ? { table: write.table, key: write.key, op, image, ts, origin: region }
        : { table: write.table, key: write.key, op, ts, origin: region },
    );
  };
  const writes = new WriteInterceptor(dynalite, locks, record, region);

  let closing: Promise<void> | undefined;
  const front: DynamoFront = new DynamoFront({
    control: (req, res) =>
      handleControlRequest(req, res, {
        feed,
        isClosing: () => closing !== undefined,
        apply: (changes, delivered) => applyReplicatedChanges(changes, { dynalite, locks, clock }, delivered),
        health: (): EngineHealth => ({
          ok: true,
          region,
          epoch: feed.epoch,
          firstSeq: feed.firstSeq,
          lastSeq: feed.lastSeq,
          feedSize: feed.size,
          operations: Object.fromEntries(front.operationStats),
          itemWrites: Object.fromEntries(itemWrites),
          clockSize: clock.size,
        }),
      }),
    write: (operation, input, req, body, res) => writes.handle(operation, input, req, body, res),
    forward: (req, body, res) => dynalite.forward(req, body, res),
    schemaChanged: (table) => dynalite.forgetKeySchema(table),
  });

  let port: number;
  try {
    port = await bindPort(front.server, options.port, options.anyPortIfTaken, host);
  } catch (error) {
    await dynalite.close();
    throw error;
  }

  async function close(): Promise<void> {
    feed.wakeAll();
    await front.close();
    saveFeed(statePath, feed, clock.entries());
    await dynalite.close();
  }

  return {
    endpoint: `http://${host}:${port}`,
    port,
    ports: [port],
    close: () => (closing ??= close()),
  };
}
