import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChangeFeed, restoreFeed, saveFeed, takeSavedFeed } from '../../src/infra/local/engines/dynamo/change-feed.js';
import type { ChangeRecord } from '../../src/infra/local/engines/dynamo/wire.js';

const change = (n: number, image: Record<string, unknown> = { id: { S: `k${n}` } }): Omit<ChangeRecord, 'seq'> => ({
  table: 't',
  key: { id: { S: `k${n}` } },
  op: 'put',
  image: image as ChangeRecord['image'],
  ts: 1_000 + n,
  origin: 'us-east-1',
});

/** Pure: the change feed's numbering, paging, trimming and bounds, and its save/restore. No engine, no network. */
describe('DynamoDB engine change feed', () => {
  const feedWith = (count: number, maxEntries = 1_000) => {
    const feed = new ChangeFeed('us-east-1', maxEntries, 'epoch-1', 0, []);
    for (let n = 1; n <= count; n++) feed.append(change(n));
    return feed;
  };

  it('numbers changes contiguously and pages them oldest first after a sequence', () => {
    const feed = feedWith(5);
    expect(feed.firstSeq).toBe(1);
    expect(feed.lastSeq).toBe(5);
    const page = feed.page(2, 2);
    expect(page.changes.map((c) => c.seq)).toEqual([3, 4]);
    expect(page).toMatchObject({ region: 'us-east-1', epoch: 'epoch-1', firstSeq: 1, lastSeq: 5 });
    expect(feed.page(5, 10).changes).toEqual([]);
  });

  it('keeps a page about maxBytes, but always returns at least one change', () => {
    const big = { id: { S: 'x' }, blob: { S: 'y'.repeat(1_000) } };
    const feed = new ChangeFeed('us-east-1', 100, 'e', 0, []);
    for (let n = 1; n <= 4; n++) feed.append(change(n, big));
    expect(feed.page(0, 10, 2_500).changes.map((c) => c.seq)).toEqual([1, 2]);
    expect(feed.page(0, 10, 10).changes.map((c) => c.seq)).toEqual([1]);
  });

  it('trims what every consumer applied, and consumers behind the front see the gap through firstSeq', () => {
    const feed = feedWith(5);
    expect(feed.trim(3)).toBe(3);
    expect(feed.trim(3)).toBe(0);
    expect(feed.firstSeq).toBe(4);
    const page = feed.page(0, 10);
    expect(page.firstSeq).toBe(4);
    expect(page.changes.map((c) => c.seq)).toEqual([4, 5]);
    feed.trim(99);
    expect(feed.size).toBe(0);
    expect(feed.firstSeq).toBe(6); // lastSeq + 1 when empty
  });

  it('drops the oldest changes in slices beyond its bound', () => {
    const feed = feedWith(12, 10); // the bound is exceeded past 10 + 10 %: 12 > 11
    expect(feed.size).toBe(10);
    expect(feed.firstSeq).toBe(3);
    expect(feed.lastSeq).toBe(12);
  });

  it('wakes a long poll on the next change, and lets it go when the wait is over', async () => {
    const feed = feedWith(1);
    await feed.waitForChanges(0, 60_000); // already a change after 0: at once
    const waiting = feed.waitForChanges(1, 60_000);
    feed.append(change(2));
    await waiting;
    await feed.waitForChanges(2, 1); // nothing new: returns after 1 ms
    expect(feed.lastSeq).toBe(2);
  });

  describe('persistence', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-feed-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('continues the same epoch and sequence after a clean close, and takes the file away at once', () => {
      const file = path.join(dir, 'feed.json');
      const feed = feedWith(3);
      feed.trim(1);
      saveFeed(file, feed, [['item', 1_003, 'us-east-1']]);
      const saved = takeSavedFeed(file, 'us-east-1');
      expect(existsSync(file)).toBe(false); // a crash from here on starts a new epoch
      expect(saved?.lastWrites).toEqual([['item', 1_003, 'us-east-1']]);
      const restored = restoreFeed('us-east-1', 1_000, saved);
      expect(restored.epoch).toBe('epoch-1');
      expect(restored.firstSeq).toBe(2);
      restored.append(change(4));
      expect(restored.lastSeq).toBe(4);
    });

    it("starts a new epoch without a saved state, or with another region's", () => {
      const file = path.join(dir, 'feed.json');
      saveFeed(file, feedWith(2), []);
      expect(takeSavedFeed(file, 'us-west-2')).toBeUndefined();
      const fresh = restoreFeed('us-west-2', 1_000, undefined);
      expect(fresh.epoch).not.toBe('epoch-1');
      expect(fresh.lastSeq).toBe(0);
    });
  });
});
