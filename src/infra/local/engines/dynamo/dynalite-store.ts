/**
 * dynalite's item store, reached in-process: a batch of replicated changes is written as dynalite stores items (its
 * keys, encoding and secondary-index entries) in two LevelDB write batches, instead of one BatchWriteItem over HTTP
 * per 25 items that dynalite validates again and turns into three separate writes and a read per item; and item
 * operations find their table's description in memory instead of reading and decoding it from LevelDB each call.
 *
 * dynalite (pinned, 4.0.0) does not export its store: it is captured as dynalite creates it, through its `db`
 * module (one CommonJS instance shared with dynalite's server).
 */
import type { Server } from 'node:http';
import { requireDynaliteDb } from './dynalite-loader.js';
import { DynamoCallError, type ReplicatedChange } from './wire.js';

type Callback<T> = (error: (Error & { statusCode?: number; body?: { __type?: string } }) | null, value?: T) => void;

interface IndexDescription {
  readonly IndexName: string;
  readonly IndexStatus?: string;
}

interface TableDescription {
  readonly TableStatus?: string;
  readonly GlobalSecondaryIndexes?: readonly IndexDescription[];
  readonly LocalSecondaryIndexes?: readonly IndexDescription[];
}

type WireItem = Record<string, unknown>;
type LevelOperation = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string };

/** The parts of dynalite's store used here. */
export interface DynaliteStore {
  getTable(name: string, checkStatus: boolean | Callback<TableDescription>, cb?: Callback<TableDescription>): void;
  readonly tableDb: {
    put(key: string, value: unknown, cb: Callback<void>): void;
    del(key: string, cb: Callback<void>): void;
  };
  /** The LevelDB under every sub-store (keys carry the sub-store's prefix; values are JSON). */
  readonly db: {
    getMany(keys: string[]): Promise<(WireItem | undefined)[]>;
    batch(operations: LevelOperation[]): Promise<void>;
  };
}

interface DynaliteDb {
  create(options: unknown): DynaliteStore;
  createKey(item: unknown, table: TableDescription): string;
  getIndexActions(
    indexes: readonly IndexDescription[],
    existing: WireItem | null,
    item: WireItem | null,
    table: TableDescription,
  ): { puts: { index: string; key: string; item: unknown }[]; deletes: { index: string; key: string }[] };
}

let loadedDb: DynaliteDb | undefined;
const dynaliteDb = (): DynaliteDb => (loadedDb ??= requireDynaliteDb<DynaliteDb>());

/** Starts dynalite's server through `start` and returns it with the store it created. */
export function captureStore(start: () => Server): { server: Server; store: DynaliteStore } {
  const db = dynaliteDb();
  const create = db.create;
  let store: DynaliteStore | undefined;
  db.create = (options: unknown) => (store = create(options));
  try {
    const server = start();
    if (!store) throw new Error('dynalite did not create its store through dynalite/db (version changed?)');
    return { server, store };
  } finally {
    db.create = create;
  }
}

const isSettled = (table: TableDescription) =>
  table.TableStatus === 'ACTIVE' &&
  (table.GlobalSecondaryIndexes ?? []).every((index) => !index.IndexStatus || index.IndexStatus === 'ACTIVE');

/**
 * Item operations (PutItem, GetItem, Query, BatchWriteItem...) ask for their table's description, by name only, on
 * every call, and dynalite reads and decodes it from LevelDB each time. Settled descriptions are kept in memory for
 * those calls; schema operations (which ask with an explicit status flag, and may change the object they get) still
 * read it from the store, and every write of a description forgets the kept one first.
 */
export function cacheTableDescriptions(store: DynaliteStore): void {
  const read = store.getTable.bind(store);
  const kept = new Map<string, TableDescription>();
  store.getTable = (name, checkStatus, cb) => {
    if (typeof checkStatus !== 'function') return read(name, checkStatus, cb);
    const callback = checkStatus;
    const table = kept.get(name);
    if (table) return process.nextTick(callback, null, table);
    read(name, (error, found) => {
      if (!error && found && isSettled(found)) kept.set(name, found);
      callback(error, found);
    });
  };
  const { tableDb } = store;
  const put = tableDb.put.bind(tableDb);
  const del = tableDb.del.bind(tableDb);
  tableDb.put = (key, value, cb) => {
    kept.delete(key);
    put(key, value, cb);
  };
  tableDb.del = (key, cb) => {
    kept.delete(key);
    del(key, cb);
  };
}

function asCallError(error: NonNullable<Parameters<Callback<unknown>>[0]>): DynamoCallError {
  const type = String(error.body?.__type ?? error.name ?? 'InternalFailure')
    .split('#')
    .pop() as string;
  return new DynamoCallError(error.statusCode ?? 500, type, `${type}: ${error.message}`);
}

function describeTable(store: DynaliteStore, name: string): Promise<TableDescription> {
  return new Promise((resolve, reject) =>
    store.getTable(name, (error, table) =>
      error || !table ? reject(asCallError(error ?? new Error(name))) : resolve(table),
    ),
  );
}

/**
 * Replicated changes (at most one per item, already valid where they were first written) stored as dynalite stores
 * items: per table, one read of the items as they are now (for the index entries they leave), then one batch of
 * index entries and one of items. Index entries go first, so a crash between the two leaves what a retry of the
 * same changes repairs. The caller holds the items' locks (every write to dynalite goes through them).
 */
export async function writeChanges(store: DynaliteStore, changes: readonly ReplicatedChange[]): Promise<void> {
  const byTable = new Map<string, ReplicatedChange[]>();
  for (const change of changes) byTable.set(change.table, [...(byTable.get(change.table) ?? []), change]);
  // Tables are independent: their reads and writes overlap (LevelDB serves them from its thread pool).
  await Promise.all([...byTable].map(([name, list]) => writeTableChanges(store, name, list)));
}

async function writeTableChanges(store: DynaliteStore, name: string, list: readonly ReplicatedChange[]): Promise<void> {
  const table = await describeTable(store, name);
  const keys = list.map((change) => `item-${name}~${dynaliteDb().createKey(change.image ?? change.key, table)}`);
  const existing = await store.db.getMany(keys);
  const indexOperations: LevelOperation[] = [];
  const itemOperations: LevelOperation[] = list.map((change, i) => {
    const item = change.op === 'put' ? (change.image as WireItem) : null;
    for (const [kind, indexes] of [
      ['local', table.LocalSecondaryIndexes],
      ['global', table.GlobalSecondaryIndexes],
    ] as const) {
      if (!indexes?.length) continue;
      const actions = dynaliteDb().getIndexActions(indexes, existing[i] ?? null, item, table);
      const prefix = (index: string) => `index-${kind}~${name}~${index}~`;
      for (const del of actions.deletes) indexOperations.push({ type: 'del', key: prefix(del.index) + del.key });
      for (const put of actions.puts)
        indexOperations.push({ type: 'put', key: prefix(put.index) + put.key, value: put.item });
    }
    return item ? { type: 'put', key: keys[i], value: item } : { type: 'del', key: keys[i] };
  });
  if (indexOperations.length) await store.db.batch(indexOperations);
  await store.db.batch(itemOperations);
}
