import { jest } from '@jest/globals';
import { oldGenerationBytes, startHeapCollector } from '../../src/clients/heap-collector.js';

const MiB = 1024 * 1024;

/** A heap whose old generation the test moves by hand; a collection brings it back to what is live. */
function fakeHeap(live: number) {
  const heap = { live, used: live, collections: [] as string[] };
  return {
    heap,
    collect: () => {
      heap.used = heap.live;
    },
    oldGenerationBytes: () => heap.used,
    onCollected: (reason: string) => heap.collections.push(reason),
  };
}

describe('heap collector', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('collects a busy process once its old generation grew the step since the last full GC', () => {
    const { heap, ...hooks } = fakeHeap(20 * MiB);
    let work = 0;
    const stop = startHeapCollector({ intervalMs: 1_000, growthBytes: 2 * MiB, workDone: () => work, ...hooks });
    work++;
    heap.used += 1.5 * MiB;
    jest.advanceTimersByTime(1_000);
    expect(heap.collections).toEqual([]); // busy, under the step
    work++;
    heap.used += 1 * MiB;
    jest.advanceTimersByTime(1_000);
    expect(heap.collections).toEqual(['growth']);
    expect(heap.used).toBe(20 * MiB);
    stop();
  });

  it('measures growth from the lowest point, so a full GC of V8 its own restarts the count', () => {
    const { heap, ...hooks } = fakeHeap(20 * MiB);
    let work = 0;
    const stop = startHeapCollector({ intervalMs: 1_000, growthBytes: 2 * MiB, workDone: () => work, ...hooks });
    heap.used = 26 * MiB; // garbage piled up, then V8 collected it on its own
    heap.used = 19 * MiB;
    work++;
    jest.advanceTimersByTime(1_000);
    heap.used = 20.5 * MiB;
    work++;
    jest.advanceTimersByTime(1_000);
    expect(heap.collections).toEqual([]); // 1.5 MiB above V8's collection
    heap.used = 21.5 * MiB;
    work++;
    jest.advanceTimersByTime(1_000);
    expect(heap.collections).toEqual(['growth']);
    stop();
  });

  it('collects an idle process whose old generation grew at all, once per interval at most', () => {
    const { heap, ...hooks } = fakeHeap(20 * MiB);
    const stop = startHeapCollector({ intervalMs: 1_000, growthBytes: 2 * MiB, workDone: () => 7, ...hooks });
    jest.advanceTimersByTime(3_000);
    expect(heap.collections).toEqual([]); // idle, nothing to collect
    heap.used += 64 * 1024;
    jest.advanceTimersByTime(1_000);
    expect(heap.collections).toEqual(['idle']);
    jest.advanceTimersByTime(2_000);
    expect(heap.collections).toEqual(['idle']);
    stop();
    heap.used += 10 * MiB;
    jest.advanceTimersByTime(5_000);
    expect(heap.collections).toEqual(['idle']); // stopped
  });

  it('without a measure of work, collects on growth only', () => {
    const { heap, ...hooks } = fakeHeap(20 * MiB);
    const stop = startHeapCollector({ intervalMs: 1_000, growthBytes: 2 * MiB, ...hooks });
    heap.used += 1 * MiB;
    jest.advanceTimersByTime(3_000);
    expect(heap.collections).toEqual([]);
    heap.used += 1 * MiB;
    jest.advanceTimersByTime(1_000);
    expect(heap.collections).toEqual(['growth']);
    stop();
  });

  it('does nothing without a collector (a process started without --expose-gc)', () => {
    const exposed = (globalThis as { gc?: unknown }).gc;
    expect(exposed).toBeUndefined();
    const stop = startHeapCollector({ intervalMs: 1_000, workDone: () => 0 });
    expect(jest.getTimerCount()).toBe(0);
    stop();
  });

  it("reads V8's old generation: it grows with objects that survive", () => {
    const before = oldGenerationBytes();
    expect(before).toBeGreaterThan(0);
    const kept: number[][] = [];
    for (let i = 0; i < 100; i++) kept.push(new Array<number>(100_000).fill(i)); // large arrays land in old space
    expect(oldGenerationBytes() - before).toBeGreaterThan(40 * MiB);
    expect(kept).toHaveLength(100);
  });
});
