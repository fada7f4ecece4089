import { jest } from '@jest/globals';
import { startIdleCollector } from '../../src/services/runtime/idle-collector.js';

describe('idle collector', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('collects only after a whole interval without work, and stops when asked', () => {
    let work = 0;
    let collections = 0;
    let reported = 0;
    const stop = startIdleCollector({
      intervalMs: 1_000,
      workDone: () => work,
      collect: () => collections++,
      onCollected: () => reported++,
    });
    work += 5;
    jest.advanceTimersByTime(1_000); // worked during the interval
    expect(collections).toBe(0);
    jest.advanceTimersByTime(1_000); // idle
    expect(collections).toBe(1);
    jest.advanceTimersByTime(2_000); // still idle: once an interval
    expect(collections).toBe(3);
    work++;
    jest.advanceTimersByTime(1_000);
    expect(collections).toBe(3);
    stop();
    jest.advanceTimersByTime(5_000);
    expect(collections).toBe(3);
    expect(reported).toBe(3);
  });

  it('does nothing without a collector (a process started without --expose-gc)', () => {
    const exposed = (globalThis as { gc?: unknown }).gc;
    expect(exposed).toBeUndefined();
    const stop = startIdleCollector({ intervalMs: 1_000, workDone: () => 0 });
    expect(jest.getTimerCount()).toBe(0);
    stop();
  });
});
