import { decodeCompressedJson, encodeCompressedJson } from '../../src/infra/local/engines/dynamo/compressed-json.js';
import { tradeItem } from '../helpers/typical-records.js';

/** Pure: the local DynamoDB's stored value encoding. No engine. */
describe('compressed JSON values of the local DynamoDB', () => {
  it('reads back exactly what it stored, for any JSON value', () => {
    const values: unknown[] = [
      tradeItem(1),
      { nested: { list: [1, 'two', null, true, { deep: 'é ✓ 𝄞' }] } },
      'a string',
      42,
      null,
      [],
      { empty: '' },
    ];
    for (const value of values) expect(decodeCompressedJson(encodeCompressedJson(value))).toEqual(value);
  });

  it('stores a typical safe-store item in under a quarter of its JSON', () => {
    const item = tradeItem(7);
    const json = Buffer.byteLength(JSON.stringify(item));
    const stored = encodeCompressedJson(item);
    expect(stored[0]).toBe(0x01);
    expect(stored.length).toBeLessThan(json / 4);
  });

  it('reads values stored as plain JSON before the encoding existed', () => {
    const item = tradeItem(3);
    expect(decodeCompressedJson(Buffer.from(JSON.stringify(item)))).toEqual(item);
    expect(decodeCompressedJson(new Uint8Array(Buffer.from(' \n{"a":1}')))).toEqual({ a: 1 });
  });

  it('refuses a value of an encoding version it does not know, naming it', () => {
    const future = Buffer.concat([Buffer.from([0x02]), Buffer.from('whatever')]);
    expect(() => decodeCompressedJson(future)).toThrow(/unknown encoding version 2/);
  });
});
