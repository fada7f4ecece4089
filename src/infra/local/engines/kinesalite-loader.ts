/**
 * Loads kinesalite with its streams' records stored compactly (kinesis-record-encoding.ts) instead of as JSON.
 *
 * kinesalite (pinned, 3.3.3) keeps each stream in a `subleveldown` sub-database opened with `valueEncoding: 'json'`,
 * through the function its `db` module took from `subleveldown` when it was first loaded, and takes no encoding
 * option. So that module's export is replaced, before kinesalite's modules are loaded, by one that gives stream
 * sub-databases our encoding (stream metadata stays JSON) — which is why the engine loads kinesalite through here.
 */
import { createRequire } from 'node:module';
import type kinesaliteFactory from 'kinesalite';
import { STREAM_VALUE_ENCODING } from './kinesis-record-encoding.js';

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
  installed = true;
}

/** kinesalite's server factory. */
export async function loadKinesalite(): Promise<typeof kinesaliteFactory> {
  useCompactRecords();
  return (await import('kinesalite')).default;
}
