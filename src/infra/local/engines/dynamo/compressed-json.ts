/**
 * The value encoding of the local DynamoDB's LevelDB: JSON deflated against a dictionary of typical safe-store items
 * (deflated-values.ts). Every stage keeps each record it accepted (the whole record, with its by-time index entry)
 * and both regions hold every table: at 10 pairs/s that was 580 MB an hour per region with snappy alone. Deflated,
 * the values of an hour-long soak take 1/8 of their JSON, for ~30 µs of CPU a write and ~12 µs a read.
 */
import { type DeflatedLayout, deflateValue, inflateValue } from '../deflated-values.js';
import { SAFE_STORE_DICTIONARY_V1 } from './compression-dictionary.js';

const SAFE_STORE_V1: DeflatedLayout = {
  version: 0x01,
  dictionary: Buffer.from(SAFE_STORE_DICTIONARY_V1.join(''), 'utf8'),
};

export function encodeCompressedJson(value: unknown): Buffer {
  return deflateValue(SAFE_STORE_V1, Buffer.from(JSON.stringify(value), 'utf8'));
}

export function decodeCompressedJson(stored: Uint8Array): unknown {
  return JSON.parse(inflateValue([SAFE_STORE_V1], stored).bytes.toString('utf8'));
}

/** As abstract-level takes a custom encoding (level-transcoder's interface): values stored as bytes. */
export const COMPRESSED_JSON_ENCODING = {
  name: 'tsr-deflated-json',
  format: 'buffer',
  encode: encodeCompressedJson,
  decode: decodeCompressedJson,
} as const;
