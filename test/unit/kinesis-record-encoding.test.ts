import { decodeStreamValue, encodeStreamValue } from '../../src/infra/local/engines/kinesis-record-encoding.js';
import { streamRecord } from '../helpers/typical-records.js';

/** Pure: how the local Kinesis stores a record. No engine. */
describe('stored records of the local Kinesis', () => {
  it('reads back exactly the record it stored, whatever bytes its data holds', () => {
    const binary = Buffer.from([0x00, 0x0a, 0xff, 0x0a, 0x7b, 0x22, 0x0d, 0x80]);
    const records = [
      streamRecord(1),
      { PartitionKey: 'p|with\nnewline', Data: binary.toString('base64'), ApproximateArrivalTimestamp: 1.5 },
      { PartitionKey: 'empty', Data: '', ApproximateArrivalTimestamp: 2 },
    ];
    for (const record of records) expect(decodeStreamValue(encodeStreamValue(record))).toEqual(record);
  });

  it('keeps other values (no base64 data) as they were', () => {
    for (const value of [{ StreamName: 's', Shards: [{ ShardId: 'shardId-000000000000' }] }, 'text', 7, null]) {
      expect(decodeStreamValue(encodeStreamValue(value))).toEqual(value);
    }
  });

  it('stores a typical record in under a quarter of the JSON kinesalite kept', () => {
    const record = streamRecord(42);
    const stored = encodeStreamValue(record);
    expect(stored[0]).toBe(0x01);
    expect(stored.length).toBeLessThan(Buffer.byteLength(JSON.stringify(record)) / 4);
  });

  it('reads records stored as JSON by an older workspace, and refuses an unknown version', () => {
    const record = streamRecord(5);
    expect(decodeStreamValue(Buffer.from(JSON.stringify(record)))).toEqual(record);
    expect(() => decodeStreamValue(Buffer.from([0x07, 0x01]))).toThrow(/unknown encoding version 7/);
  });
});
