import { ItemLocks } from '../../src/infra/local/engines/dynamo/item-locks.js';
import { isNewer, LastWriteClock, newestPerItem } from '../../src/infra/local/engines/dynamo/last-writer-wins.js';
import { itemId, type ReplicatedChange } from '../../src/infra/local/engines/dynamo/wire.js';

const put = (id: string, ts: number, origin: string, table = 't'): ReplicatedChange => ({
  table,
  key: { id: { S: id } },
  op: 'put',
  image: { id: { S: id }, v: { N: String(ts) } },
  ts,
  origin,
});

/** Pure: last-writer-wins resolution, the batches a replicated apply writes, and per-item locks. No engine. */
describe('DynamoDB engine last-writer-wins', () => {
  it('orders writes by origin timestamp, ties broken by origin region (every region picks the same winner)', () => {
    expect(isNewer({ ts: 2, origin: 'a' }, { ts: 1, origin: 'z' })).toBe(true);
    expect(isNewer({ ts: 1, origin: 'us-west-2' }, { ts: 1, origin: 'us-east-1' })).toBe(true);
    expect(isNewer({ ts: 1, origin: 'us-east-1' }, { ts: 1, origin: 'us-west-2' })).toBe(false);
    expect(isNewer({ ts: 1, origin: 'a' }, { ts: 1, origin: 'a' })).toBe(false);
  });

  it('keeps only the newest change per item of a batch', () => {
    const newest = newestPerItem([put('a', 5, 'r1'), put('a', 3, 'r1'), put('b', 1, 'r1'), put('a', 5, 'r2')]);
    expect([...newest.values()].map((c) => [c.key.id, c.ts, c.origin])).toEqual([
      [{ S: 'a' }, 5, 'r2'],
      [{ S: 'b' }, 1, 'r1'],
    ]);
  });

  it('applies only changes newer than what the region holds, then holds them', () => {
    const a = itemId('t', { id: { S: 'a' } });
    const clock = new LastWriteClock([[a, 10, 'us-east-1']]);
    const older = clock.winners(newestPerItem([put('a', 9, 'us-west-2'), put('b', 1, 'us-west-2')]));
    expect(older.map(([, c]) => c.key.id)).toEqual([{ S: 'b' }]);
    const newer = clock.winners(newestPerItem([put('a', 11, 'us-west-2')]));
    clock.commit(newer);
    expect(clock.entries()).toContainEqual([a, 11, 'us-west-2']);
    expect(clock.winners(newestPerItem([put('a', 11, 'us-west-2')]))).toEqual([]); // the same change again
  });

  it('stamps a local write after everything the region has seen of the item, so it wins', () => {
    const clock = new LastWriteClock();
    const id = itemId('t', { id: { S: 'a' } });
    clock.commit([[id, put('a', 5_000, 'us-west-2')]]); // replicated, from a clock ahead of ours
    expect(clock.stampLocal(id, 'us-east-1', 1_000)).toBe(5_001);
    expect(clock.stampLocal(id, 'us-east-1', 9_000)).toBe(9_000);
    expect(clock.stampLocal(itemId('t', { id: { S: 'new' } }), 'us-east-1', 7)).toBe(7);
  });

  it('forgets items written before every peer has delivered its changes up to a margin, and no others', () => {
    const clock = new LastWriteClock([], ['us-west-2', 'eu-west-1'], 100);
    const id = (key: string) => itemId('t', { id: { S: key } });
    clock.stampLocal(id('old'), 'us-east-1', 1_000);
    clock.commit([[id('replicated'), put('replicated', 1_500, 'us-west-2')]], [put('replicated', 1_500, 'us-west-2')]);
    clock.stampLocal(id('recent'), 'us-east-1', 1_950);
    // eu-west-1 has delivered nothing yet: its old changes may still come, so nothing is forgotten.
    expect(clock.horizon()).toBeUndefined();
    expect(clock.size).toBe(3);
    clock.noteDelivered('eu-west-1', 2_000);
    clock.noteDelivered('us-west-2', 2_000);
    expect(clock.horizon()).toBe(1_900);
    expect(clock.forgetSettled()).toBe(2);
    expect(clock.entries().map(([key]) => key)).toEqual([id('recent')]);
    // A late change cannot be older than the horizon, so a forgotten item's next change still wins as it should.
    expect(clock.winners(newestPerItem([put('old', 1_950, 'us-west-2')]))).toHaveLength(1);
    // The slowest peer holds the horizon back; a delivered stamp never moves it backwards.
    clock.noteDelivered('us-west-2', 500);
    expect(clock.horizon()).toBe(1_900);
  });

  it('remembers every item when it knows no peers', () => {
    const clock = new LastWriteClock();
    for (let i = 0; i < 10; i++) clock.stampLocal(itemId('t', { id: { S: `k${i}` } }), 'us-east-1', i);
    clock.noteDelivered('us-west-2', 1e12);
    expect(clock.forgetSettled()).toBe(0);
    expect(clock.size).toBe(10);
  });

  it('identifies an item by table and key, whatever the order of its key attributes', () => {
    expect(itemId('t', { a: { S: '1' }, b: { S: '2' } })).toBe(itemId('t', { b: { S: '2' }, a: { S: '1' } }));
    expect(itemId('t', { a: { S: '1' } })).not.toBe(itemId('u', { a: { S: '1' } }));
  });
});

describe('DynamoDB engine item locks', () => {
  it('serializes holders of one item in arrival order, and never blocks other items', async () => {
    const locks = new ItemLocks();
    const order: string[] = [];
    const first = await locks.acquire(['a', 'b']);
    const second = locks.acquire(['b']).then((release) => {
      order.push('second');
      release();
    });
    const other = locks.acquire(['c']).then((release) => {
      order.push('other');
      release();
    });
    await other;
    expect(order).toEqual(['other']);
    order.push('first done');
    first();
    await second;
    expect(order).toEqual(['other', 'first done', 'second']);
  });
});
