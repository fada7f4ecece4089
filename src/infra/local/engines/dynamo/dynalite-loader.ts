/**
 * Loads dynalite with its LevelDB opened the way hours of load need: values stored as deflated JSON
 * (compressed-json.ts) instead of plain JSON, in 16 KiB blocks instead of 4 KiB (LevelDB compresses each block on
 * its own: the keys' repeated parts compress better in larger ones; measured on half an hour's data, 10% less disk and
 * the same random-read time, where 64 KiB blocks read slower).
 *
 * dynalite (pinned, 4.0.0) opens `new Level(path, { valueEncoding: 'json' })` with the class its `db` module took
 * from the `level` package when it was first loaded, and takes no LevelDB options. So `level`'s export is replaced
 * by a subclass that swaps that encoding, before dynalite's modules are loaded — which is why everything that loads
 * them goes through here.
 */
import { createRequire } from 'node:module';
import type dynaliteFactory from 'dynalite';
import { LEVEL_BLOCK_CACHE_BYTES } from '../level-cache.js';
import { COMPRESSED_JSON_ENCODING } from './compressed-json.js';

type LevelOptions = { valueEncoding?: unknown } & Record<string, unknown>;
type LevelClass = new (location: string, options?: LevelOptions) => object;

const require = createRequire(import.meta.url);
const fromDynalite = createRequire(require.resolve('dynalite'));

let installed = false;

/** dynalite's LevelDB options: deflated values where it asks for JSON, 16 KiB blocks, a small cache. */
export function compactLevelOptions(options: LevelOptions = {}): LevelOptions {
  return {
    ...options,
    blockSize: 16 * 1024,
    cacheSize: LEVEL_BLOCK_CACHE_BYTES,
    ...(options.valueEncoding === 'json' ? { valueEncoding: COMPRESSED_JSON_ENCODING } : {}),
  };
}

function useCompressedLevel(): void {
  if (installed) return;
  if (require.cache[require.resolve('dynalite/db')]) {
    throw new Error('dynalite was loaded before its LevelDB encoding was set: load it through dynalite-loader.ts');
  }
  const levelModule = fromDynalite('level') as { Level: LevelClass };
  const Base = levelModule.Level;
  class CompressedValuesLevel extends Base {
    constructor(location: string, options?: LevelOptions) {
      super(location, compactLevelOptions(options));
    }
  }
  levelModule.Level = CompressedValuesLevel;
  installed = true;
}

/** dynalite's server factory. */
export async function loadDynalite(): Promise<typeof dynaliteFactory> {
  useCompressedLevel();
  return (await import('dynalite')).default;
}

/** dynalite's internal `db` module (the same CommonJS instance its server uses). */
export function requireDynaliteDb<T>(): T {
  useCompressedLevel();
  return require('dynalite/db') as T;
}
