/** Records as a stream consumer's handler sees them. */

export const SHARD_END = 'SHARD_END';

/** One record as the handler sees it. */
export interface ConsumedRecord {
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Buffer;
  readonly approximateArrivalTimestamp?: Date;
  /** `data` parsed as JSON (throws SyntaxError when it is not JSON). */
  json<T = unknown>(): T;
}

export type RecordHandler = (records: ConsumedRecord[], shardId: string) => Promise<void>;

export function toConsumedRecord(record: {
  SequenceNumber?: string;
  PartitionKey?: string;
  Data?: Uint8Array;
  ApproximateArrivalTimestamp?: Date;
}): ConsumedRecord {
  const bytes = record.Data ?? new Uint8Array();
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    sequenceNumber: record.SequenceNumber ?? '',
    partitionKey: record.PartitionKey ?? '',
    data,
    approximateArrivalTimestamp: record.ApproximateArrivalTimestamp,
    json<T>() {
      return JSON.parse(data.toString('utf8')) as T;
    },
  };
}
