import { AUTO_RATE, AutoRate } from '../../src/services/generator/auto-rate.js';
import { ConfirmationFlow, expectedConfirmations } from '../../src/services/generator/flow.js';

const pair = (seq: number, statuses: Record<string, string>) => ({
  seq,
  expected: { tradeStatus: statuses as never, settlementStatus: {} },
});

describe('confirmation flow (offered vs confirmed, end to end)', () => {
  it('expects MATCHED then SETTLED for a settled side, one for a decided side, none for an unmatched one', () => {
    expect(expectedConfirmations(pair(1, { a: 'SETTLED', b: 'MATCHED', c: 'MISMATCHED', d: 'UNMATCHED' }))).toEqual([
      'a#MATCHED',
      'a#SETTLED',
      'b#MATCHED',
      'c#MISMATCHED',
    ]);
  });

  it('a pair is confirmed once every confirmation came back; duplicates and strangers change nothing', () => {
    let now = 1_000;
    const flow = new ConfirmationFlow(() => now);
    flow.sentPairs([pair(1, { a: 'SETTLED', b: 'SETTLED' }), pair(2, { c: 'UNMATCHED' })]);
    now += 3_000;
    flow.confirmation('a', 'MATCHED');
    flow.confirmation('a', 'MATCHED');
    flow.confirmation('canary-1', 'MATCHED');
    flow.confirmation('b', 'MATCHED');
    flow.confirmation('a', 'SETTLED');
    // Two pairs sent, one of which expects confirmations: counts are scaled to pairs of every scenario.
    expect(flow.point()).toMatchObject({ sent: 2, confirmed: 0, backlog: 2, oldestAgeMs: 3_000 });
    flow.confirmation('b', 'SETTLED');
    expect(flow.point()).toMatchObject({ sent: 2, confirmed: 2, backlog: 0, oldestAgeMs: 0 });
  });

  it('rates over the last seconds, and a bounded history', () => {
    let now = 0;
    const flow = new ConfirmationFlow(() => now);
    let seq = 0;
    for (let second = 0; second < 900; second++) {
      now = second * 1_000;
      const sent = Array.from({ length: 10 }, () => pair(++seq, { [`s${seq}`]: 'MISMATCHED' }));
      flow.sentPairs(sent);
      for (const p of sent.slice(0, 8)) flow.confirmation(`s${p.seq}`, 'MISMATCHED');
      flow.point();
    }
    const figures = flow.figures();
    expect(figures.offeredPerSecond).toBeCloseTo(10, 0);
    expect(figures.confirmedPerSecond).toBeCloseTo(8, 0);
    // A point every 5 s over 10 minutes, and the one of now.
    expect(figures.history.length).toBeLessThanOrEqual(10 * 12 + 2);
    // Unconfirmed pairs older than 15 minutes are given up on, so memory stays bounded.
    now += 20 * 60_000;
    expect(flow.figures()).toMatchObject({ backlog: 0, expired: 1_800 });
  });
});

describe('--rate auto', () => {
  /**
   * A platform that processes at most `capacity(t)` pairs a second, first in first out, and confirms each pair
   * `latency` seconds after it was processed (a slow machine's pipeline takes seconds even without a queue).
   */
  function simulate(capacity: number | ((t: number) => number), seconds: number, latency = 0, lumpSeconds = 1) {
    const auto = new AutoRate(10, 0);
    let rate = 10;
    let sent = 0;
    let processed = 0;
    const processedAt: number[] = [];
    const sentAt: number[] = [];
    let latencySumMs = 0;
    let confirmed = 0;
    for (let t = 1; t <= seconds; t++) {
      sent += rate;
      sentAt.push(sent);
      processed = Math.min(sent, processed + (typeof capacity === 'number' ? capacity : capacity(t)));
      processedAt.push(processed);
      // Confirmations may come back in lumps (a busy machine): only every `lumpSeconds`, all that was ready.
      const ready = t > latency ? processedAt[t - 1 - latency] : 0;
      const nowConfirmed = t % lumpSeconds === 0 ? ready : confirmed;
      // Latency of each newly confirmed pair: now minus the second it was sent in.
      for (let n = confirmed; n < nowConfirmed; n++) latencySumMs += (t - (sentAt.findIndex((s) => s > n) + 1)) * 1_000;
      confirmed = nowConfirmed;
      const point = { at: t * 1_000, sent, confirmed, confirmedRaw: confirmed, scale: 1, latencySumMs };
      const next = auto.observe({ ...point, latencyCount: confirmed, backlog: sent - confirmed, oldestAgeMs: 0 });
      if (next !== undefined) rate = next;
    }
    return auto.state();
  }

  it('settles near what the platform confirms and says what it found', () => {
    const state = simulate(37, 300);
    expect(state.state).toBe('holding');
    expect(state.found).toBeGreaterThan(37 * 0.8);
    expect(state.found).toBeLessThan(37 * 1.25);
    expect(state.settledAt).toBeDefined();
  });

  it.each([
    [25, 2],
    [20, 6],
    [6, 14],
  ])('settles near capacity %i pairs/s when the pipeline itself takes %i s', (capacity, latency) => {
    const state = simulate(capacity, 900, latency);
    expect(state.state).toBe('holding');
    expect(state.found).toBeGreaterThan(capacity * 0.75);
    expect(state.found).toBeLessThan(capacity * 1.25);
  });

  it('settles when confirmations come back in lumps, as on a busy machine', () => {
    // 45 pairs/s on average, 38 and 52 in turn, confirmed every 5 s, 4 s of pipeline latency (measured: a loop that
    // followed each 5 s look swung between 33 and 55 pairs/s and did not settle within 300 s).
    const state = simulate((t) => (Math.floor(t / 10) % 2 ? 38 : 52), 300, 4, 5);
    expect(state.state).toBe('holding');
    expect(state.found).toBeGreaterThan(45 * 0.8);
    expect(state.found).toBeLessThan(45 * 1.25);
  });

  it('stays within bounds, and never claims a rate, on a platform that confirms nothing', () => {
    const state = simulate(0, 120);
    expect(state.rate).toBe(AUTO_RATE.minRate);
    expect(state.state).toBe('searching');
    expect(state.found).toBeUndefined();
  });

  it('does not settle at the floor while a slow platform has not answered yet', () => {
    const slowStart = (t: number) => (t <= 90 ? 0 : 20);
    expect(simulate(slowStart, 90).state).toBe('searching');
    const state = simulate(slowStart, 400);
    expect(state.state).toBe('holding');
    expect(state.found).toBeGreaterThan(20 * 0.8);
    expect(state.found).toBeLessThan(20 * 1.25);
  });
});
