/**
 * The value encoding of the local DynamoDB's LevelDB: JSON, deflated against a preset dictionary of typical safe-store
 * values. Every stage keeps each record it accepted (the whole record, with its by-time index entry), both regions
 * hold every table, and LevelDB's own block compression (snappy) takes a ~1 KB item only to ~40%: at 10 pairs/s that
 * was 580 MB an hour per region. Deflated with the dictionary an item takes ~12% of its JSON (8× smaller on the
 * values of an hour-long soak), for ~30 µs of CPU a write and ~12 µs a read.
 *
 * Stored form: a version byte, then the raw deflate stream. Values written before this encoding existed are plain
 * JSON (they start with `{`, `[` or `"`) and still read as they are, so an existing workspace keeps working.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { SAFE_STORE_DICTIONARY_V1 } from './compression-dictionary.js';

/** Version byte of values deflated with SAFE_STORE_DICTIONARY_V1 (never valid as the first byte of JSON). */
const DEFLATED_V1 = 0x01;
const DICTIONARY_V1 = Buffer.from(SAFE_STORE_DICTIONARY_V1.join(''), 'utf8');

export function encodeCompressedJson(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const deflated = deflateRawSync(json, { dictionary: DICTIONARY_V1 });
  const stored = Buffer.allocUnsafe(deflated.length + 1);
  stored[0] = DEFLATED_V1;
  deflated.copy(stored, 1);
  return stored;
}

export function decodeCompressedJson(stored: Uint8Array): unknown {
  const bytes = Buffer.isBuffer(stored) ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (bytes.length > 0 && bytes[0] === DEFLATED_V1) {
    return JSON.parse(inflateRawSync(bytes.subarray(1), { dictionary: DICTIONARY_V1 }).toString('utf8'));
  }
  if (bytes.length > 0 && bytes[0] < 0x20 && !isJsonWhitespace(bytes[0])) {
    throw new Error(`stored value has unknown encoding version ${bytes[0]} (written by a newer tsr?)`);
  }
  return JSON.parse(bytes.toString('utf8'));
}

const isJsonWhitespace = (byte: number) => byte === 0x09 || byte === 0x0a || byte === 0x0d;

/** As abstract-level takes a custom encoding (level-transcoder's interface): values stored as bytes. */
export const COMPRESSED_JSON_ENCODING = {
  name: 'tsr-deflated-json',
  format: 'buffer',
  encode: encodeCompressedJson,
  decode: decodeCompressedJson,
} as const;
