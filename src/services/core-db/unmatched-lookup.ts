import type { Migration } from './migration.js';

/**
 * The matching lookup ("UNMATCHED rows of one key") as a partial hash index instead of a partial B-tree.
 *
 * Why: the keys rise with time (they hold the trade id), so a B-tree adds at the right edge of each key prefix, and
 * every page to the left keeps the few rows that stay UNMATCHED for good (one-sided trades) — vacuum frees the rest
 * of the page but new keys never land there. The B-tree grew ~200 bytes a trade side added while holding a few
 * thousand live rows. A hash index keeps a 4-byte hash per row and spreads inserts over its buckets, so what vacuum
 * frees is reused; the lookup is an equality on the key and sorts the few rows it finds. Applied on every region's
 * database like all DDL.
 */
export function unmatchedLookupByHash(
  version: number,
  table: 'trade_sides' | 'settlements',
  keyColumn: 'match_key' | 'pair_key',
  btreeIndex: string,
): Migration {
  return {
    version,
    name: 'unmatched lookup by hash',
    sql: `
CREATE INDEX IF NOT EXISTS ${table}_unmatched_hash_idx ON ${table} USING hash (${keyColumn})
  WHERE status = 'UNMATCHED';
DROP INDEX IF EXISTS ${btreeIndex};`,
  };
}
