import { decodeCompressedJson, encodeCompressedJson } from '../../src/infra/local/engines/dynamo/compressed-json.js';
import { compactLevelOptions } from '../../src/infra/local/engines/dynamo/dynalite-loader.js';
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

describe("dynalite's LevelDB options", () => {
  it('swap JSON values for the deflated encoding and ask for 16 KiB blocks and a small cache, keeping the rest', () => {
    const options = compactLevelOptions({ valueEncoding: 'json', keyEncoding: 'utf8' });
    expect(options).toMatchObject({ blockSize: 16 * 1024, cacheSize: 2 * 2 ** 20, keyEncoding: 'utf8' });
    expect(options.valueEncoding).not.toBe('json');
    expect(decodeCompressedJson((options.valueEncoding as { encode(v: unknown): Buffer }).encode({ a: 1 }))).toEqual({
      a: 1,
    });
    const sizes = { blockSize: 16 * 1024, cacheSize: 2 * 2 ** 20 };
    expect(compactLevelOptions({ valueEncoding: 'utf8' })).toEqual({ valueEncoding: 'utf8', ...sizes });
    expect(compactLevelOptions()).toEqual(sizes);
  });
});
