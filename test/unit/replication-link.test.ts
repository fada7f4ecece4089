import { ChangeQueue, type Queued, Waker } from '../../src/infra/local/replication/change-queue.js';
import { measureLag } from '../../src/infra/local/replication/lag.js';
import { buildTopology, cursor } from '../../src/infra/local/replication/link-topology.js';

const queued = (seq: number, table: string, ts: number, epoch = 'e1', bytes = 100): Queued => ({
  change: { seq, table, key: { id: { S: String(seq) } }, op: 'put', image: {}, ts, origin: 'us-east-1' },
  bytes,
  epoch,
});

/** Pure: the link's queue, topology, cursors and lag measurement. No engine, no network, no link loops. */
describe('replication link parts', () => {
  it('queues per target in order, takes bounded batches up to the first change not yet due, and counts per table', () => {
    const queue = new ChangeQueue();
    for (const [seq, table, ts] of [
      [1, 'a', 10],
      [2, 'b', 20],
      [3, 'a', 30],
    ] as const)
      queue.push(queued(seq, table, ts));
    expect(queue.take(10, 1_000, (e) => e.change.ts <= 20).map((e) => e.change.seq)).toEqual([1, 2]);
    expect(queue.take(10, 150, () => true).map((e) => e.change.seq)).toEqual([1]); // about maxBytes, at least one
    queue.drop(1);
    expect(queue.length).toBe(2);
    expect([queue.count('a'), queue.count('b')]).toEqual([1, 1]);
    expect(queue.oldest('a')?.change.seq).toBe(3);
  });

  it('builds one pair per ordered region pair', () => {
    const { sources, pairs } = buildTopology(
      [
        { region: 'r1', endpoint: 'http://127.0.0.1:1/' },
        { region: 'r2', endpoint: 'http://127.0.0.1:2' },
        { region: 'r3', endpoint: 'http://127.0.0.1:3' },
      ],
      0,
    );
    expect(pairs.map((p) => `${p.source.region}>${p.to}`)).toEqual([
      'r1>r2',
      'r1>r3',
      'r2>r1',
      'r2>r3',
      'r3>r1',
      'r3>r2',
    ]);
    expect(sources[0].endpoint).toBe('http://127.0.0.1:1');
  });

  it("lets a source be trimmed up to what a pair no longer needs (nothing from another epoch's queue)", () => {
    const { sources, pairs } = buildTopology(
      [
        { region: 'r1', endpoint: 'x' },
        { region: 'r2', endpoint: 'y' },
      ],
      0,
    );
    const [source] = sources;
    const [pair] = pairs;
    source.epoch = 'e1';
    source.fetchedSeq = 9;
    expect(cursor(pair)).toBe(9); // nothing queued: all fetched is applied
    pair.queue.push(queued(5, 't', 1));
    expect(cursor(pair)).toBe(4);
    source.epoch = 'e2'; // the feed restarted: the queued change's seq means nothing there
    expect(cursor(pair)).toBe(0);
  });

  it('measures lag as the age of the oldest change not applied, and at least the silence of a source', () => {
    const { sources, pairs } = buildTopology(
      [
        { region: 'r1', endpoint: 'x' },
        { region: 'r2', endpoint: 'y' },
      ],
      1_000,
    );
    pairs[0].queue.push(queued(1, 't', 1_500));
    const inputs = { pairs, tables: new Set(['t']), paused: false, maxBuffered: 10, now: 2_000 };
    expect(measureLag(inputs)).toEqual([
      { table: 't', from: 'r1', to: 'r2', pending: 1, lagMs: 500, healthy: true },
      { table: 't', from: 'r2', to: 'r1', pending: 0, lagMs: 0, healthy: true },
    ]);
    sources[1].error = 'source r2 did not answer';
    const [, silent] = measureLag({ ...inputs, paused: true, now: 11_000 });
    expect(silent).toMatchObject({ lagMs: 10_000, healthy: false });
    expect(silent.detail).toBe('source r2 did not answer; replication paused');
  });

  it('wakes a sleeping loop early, and keeps a wake that came while it was busy', async () => {
    expect.assertions(0);
    const waker = new Waker();
    const sleeping = waker.sleep(60_000);
    waker.wake();
    await sleeping;
    waker.wake(); // nobody asleep: the next sleep returns at once
    await waker.sleep(60_000); // with the 60 s sleeps, only the wakes can end this test within its timeout
  });
});
