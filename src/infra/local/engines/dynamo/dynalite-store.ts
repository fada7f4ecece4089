/**
 * dynalite's item store, reached in-process: replicated applies write through dynalite's own PutItem and DeleteItem
 * actions (its item locks, secondary-index upkeep and encoding) without an HTTP round trip, JSON re-encoding and
 * request validation for changes that were already valid where they were first written; and item operations find
 * their table's description in memory instead of reading and decoding it from LevelDB on every call.
 *
 * dynalite (pinned, 4.0.0) does not export its store: it is captured as dynalite creates it, through its `db`
 * module (one CommonJS instance shared with dynalite's server).
 */
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { DynamoCallError, type ReplicatedChange } from './wire.js';

const require = createRequire(import.meta.url);

type Callback<T> = (error: (Error & { statusCode?: number; body?: { __type?: string } }) | null, value?: T) => void;

interface TableDescription {
  readonly TableStatus?: string;
  readonly GlobalSecondaryIndexes?: readonly { IndexStatus?: string }[];
}

/** The parts of dynalite's store used here. */
export interface DynaliteStore {
  getTable(name: string, checkStatus: boolean | Callback<TableDescription>, cb?: Callback<TableDescription>): void;
  readonly tableDb: {
    put(key: string, value: unknown, cb: Callback<void>): void;
    del(key: string, cb: Callback<void>): void;
  };
}

type Action = (store: DynaliteStore, data: Record<string, unknown>, cb: Callback<unknown>) => void;

const dynaliteDb = require('dynalite/db') as { create(options: unknown): DynaliteStore };
const putItem = require('dynalite/actions/putItem') as Action;
const deleteItem = require('dynalite/actions/deleteItem') as Action;

/** Starts dynalite's server through `start` and returns it with the store it created. */
export function captureStore(start: () => Server): { server: Server; store: DynaliteStore } {
  const create = dynaliteDb.create;
  let store: DynaliteStore | undefined;
  dynaliteDb.create = (options: unknown) => (store = create(options));
  try {
    const server = start();
    if (!store) throw new Error('dynalite did not create its store through dynalite/db (version changed?)');
    return { server, store };
  } finally {
    dynaliteDb.create = create;
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

/** One replicated change written through dynalite's own PutItem or DeleteItem (never through the front's feed). */
export function writeChange(store: DynaliteStore, change: ReplicatedChange): Promise<void> {
  return new Promise((resolve, reject) => {
    const done: Callback<unknown> = (error) => (error ? reject(asCallError(error)) : resolve());
    if (change.op === 'put') putItem(store, { TableName: change.table, Item: change.image }, done);
    else deleteItem(store, { TableName: change.table, Key: change.key }, done);
  });
}
