/**
 * How the local Kinesis keeps a record in LevelDB. kinesalite stores `{ PartitionKey, Data, ApproximateArrivalTimestamp }`
 * as JSON, the data as base64 (a third larger, and opaque to LevelDB's snappy: ~1 KB a record on disk at 10 pairs/s,
 * kept 24 hours). Stored here as the header's JSON on one line, then the data's own bytes, deflated against a
 * dictionary of typical records (deflated-values.ts): ~1/8 of the JSON. Records of older workspaces (plain JSON)
 * read as they are; any other value (no base64 data) is kept as deflated JSON.
 */
import { type DeflatedLayout, deflateValue, inflateValue } from './deflated-values.js';
import { STREAM_RECORD_DICTIONARY_V1 } from './kinesis-record-dictionary.js';

const dictionary = Buffer.from(STREAM_RECORD_DICTIONARY_V1.join(''), 'utf8');
/** Header JSON, a newline, the record's data bytes. */
const RECORD_V1: DeflatedLayout = { version: 0x01, dictionary };
/** Any other JSON value. */
const JSON_V1: DeflatedLayout = { version: 0x02, dictionary };
const NEWLINE = 0x0a;

interface StoredRecord {
  Data?: unknown;
  [field: string]: unknown;
}

const isRecord = (value: unknown): value is StoredRecord & { Data: string } =>
  typeof value === 'object' && value !== null && typeof (value as StoredRecord).Data === 'string';

export function encodeStreamValue(value: unknown): Buffer {
  if (!isRecord(value)) return deflateValue(JSON_V1, Buffer.from(JSON.stringify(value), 'utf8'));
  const { Data, ...header } = value;
  // JSON.stringify never writes a raw newline, so the first one ends the header.
  return deflateValue(
    RECORD_V1,
    Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'), Buffer.from(Data, 'base64')]),
  );
}

export function decodeStreamValue(stored: Uint8Array): unknown {
  const { layout, bytes } = inflateValue([RECORD_V1, JSON_V1], stored);
  if (layout !== RECORD_V1) return JSON.parse(bytes.toString('utf8'));
  const end = bytes.indexOf(NEWLINE);
  const header = JSON.parse(bytes.subarray(0, end).toString('utf8')) as StoredRecord;
  return { ...header, Data: bytes.subarray(end + 1).toString('base64') };
}

/** As level-codec (kinesalite's encoding-down) takes a custom encoding: values stored as bytes. */
export const STREAM_VALUE_ENCODING = {
  type: 'tsr-deflated-stream-record',
  buffer: true,
  encode: encodeStreamValue,
  decode: decodeStreamValue,
} as const;
