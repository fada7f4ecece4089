/**
 * Loads kinesalite with its streams' records stored compactly (kinesis-record-encoding.ts) instead of as JSON, and
 * its LevelDB's block cache small (level-cache.ts).
 *
 * kinesalite (pinned, 3.3.3) keeps each stream in a `subleveldown` sub-database opened with `valueEncoding: 'json'`,
 * through the function its `db` module took from `subleveldown` when it was first loaded, and takes no encoding
 * option. So that module's export is replaced, before kinesalite's modules are loaded, by one that gives stream
 * sub-databases our encoding (stream metadata stays JSON) — which is why the engine loads kinesalite through here.
 */
import { createRequire } from 'node:module';
import type kinesaliteFactory from 'kinesalite';
import { STREAM_VALUE_ENCODING } from './kinesis-record-encoding.js';
import { LEVEL_BLOCK_CACHE_BYTES } from './level-cache.js';

type SubLevel = (db: unknown, prefix: string, options?: { valueEncoding?: unknown }) => unknown;

const require = createRequire(import.meta.url);
const fromKinesaliteDb = createRequire(require.resolve('kinesalite/db'));

let installed = false;

function useCompactRecords(): void {
  if (installed) return;
  if (require.cache[require.resolve('kinesalite/db')]) {
    throw new Error('kinesalite was loaded before its record encoding was set: load it through kinesalite-loader.ts');
  }
  const path = fromKinesaliteDb.resolve('subleveldown');
  const sublevel = fromKinesaliteDb('subleveldown') as SubLevel;
  const cached = fromKinesaliteDb.cache[path];
  if (!cached) throw new Error(`subleveldown is not in the module cache at ${path}`);
  const streamsCompact: SubLevel = (db, prefix, options) =>
    sublevel(
      db,
      prefix,
      prefix.startsWith('stream-') && options?.valueEncoding === 'json'
        ? { ...options, valueEncoding: STREAM_VALUE_ENCODING }
        : options,
    );
  cached.exports = streamsCompact;
  useSmallBlockCache();
  installed = true;
}

type LevelDown = { _open(options: object, callback: unknown): void };

/** kinesalite opens `require('leveldown')(path)` with no options: its export is wrapped to open with a small cache. */
function useSmallBlockCache(): void {
  const path = fromKinesaliteDb.resolve('leveldown');
  const leveldown = fromKinesaliteDb('leveldown') as (location: string) => LevelDown;
  const cached = fromKinesaliteDb.cache[path];
  if (!cached) throw new Error(`leveldown is not in the module cache at ${path}`);
  cached.exports = (location: string) => {
    const db = leveldown(location);
    const open = db._open.bind(db);
    db._open = (options, callback) => open({ ...options, cacheSize: LEVEL_BLOCK_CACHE_BYTES }, callback);
    return db;
  };
}

/** kinesalite's server factory. */
export async function loadKinesalite(): Promise<typeof kinesaliteFactory> {
  useCompactRecords();
  return (await import('kinesalite')).default;
}
