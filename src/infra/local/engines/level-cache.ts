/**
 * LevelDB's block cache for the local DynamoDB and Kinesis engines. The default, 8 MiB per database, fills slowly —
 * a lookup of a key that is not there (every new item's last-writer-wins check) reads a block of each table it may be
 * in, and each block read stays — so over an hour each engine's memory crept towards it. Reads here are mostly of
 * recent data (in the write buffer) and blocks come from the OS page cache, so a smaller cache costs little.
 */
export const LEVEL_BLOCK_CACHE_BYTES = 2 * 2 ** 20;
