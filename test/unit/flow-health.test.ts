import { assessFlow, type FlowSample, seriesGrowth, type StageReading } from '../../src/platform/flow-health.js';

const T0 = 1_800_000_000_000;

/** Samples every `stepMs` of one stage whose backlog follows `backlog(i)`. */
function samplesOf(
  id: string,
  count: number,
  backlog: (i: number) => number,
  { stepMs = 2_000, extra = [] as StageReading[], age = (_i: number) => 0 as number, atLeast = false } = {},
): FlowSample[] {
  return Array.from({ length: count }, (_, i) => ({
    at: T0 + i * stepMs,
    stages: [
      { id, kind: 'stage' as const, backlog: backlog(i), oldestAgeMs: age(i), ...(atLeast ? { atLeast } : {}) },
      ...extra,
    ],
  }));
}

// A deterministic wobble, so "noise" is the same on every run.
const wobble = (i: number) => [0, 7, -5, 9, -8, 3, -2, 6, -9, 4][i % 10];

describe('flow health', () => {
  it('a backlog that grows for longer than the threshold is falling behind, and names the stage', () => {
    const samples = samplesOf('trade/core@us-east-1', 40, (i) => 20 + i * 15, {
      extra: [{ id: 'trade/ingestion@us-east-1', kind: 'stage', backlog: 3, oldestAgeMs: 100 }],
    });
    const flow = assessFlow(samples, { thresholdMs: 30_000 });
    expect(flow.fallingBehind).toBe(true);
    expect(flow.limitingStage).toBe('trade/core@us-east-1');
    expect(flow.behindForMs).toBeGreaterThanOrEqual(70_000);
    expect(flow.summary).toMatch(/^FALLING BEHIND: .*limiting stage trade\/core@us-east-1/);
    const core = flow.stages.find((s) => s.id === 'trade/core@us-east-1');
    expect(core?.trend).toBe('growing');
  });

  it('growth shorter than the threshold is not falling behind yet', () => {
    const flow = assessFlow(
      samplesOf('trade/core@us-east-1', 8, (i) => 20 + i * 15),
      { thresholdMs: 30_000 },
    );
    expect(flow.fallingBehind).toBe(false);
    expect(flow.stages[0].trend).toBe('growing');
    expect(flow.summary).toMatch(/^keeping up/);
  });

  it('a steady backlog with noise keeps up, however long it lasts', () => {
    const flow = assessFlow(
      samplesOf('trade/core@us-east-1', 120, (i) => 60 + wobble(i)),
      { thresholdMs: 30_000 },
    );
    expect(flow.fallingBehind).toBe(false);
    expect(flow.stages[0].growingForMs).toBeLessThan(30_000);
    expect(flow.stages[0].trend).toBe('steady');
  });

  it('a spike at the end is not growth for the threshold', () => {
    const flow = assessFlow(
      samplesOf('trade/core@us-east-1', 60, (i) => (i >= 55 ? 400 : 40 + wobble(i))),
      { thresholdMs: 30_000 },
    );
    expect(flow.fallingBehind).toBe(false);
  });

  it('a backlog draining after an overload is shrinking, not falling behind', () => {
    const flow = assessFlow(
      samplesOf('trade/core@us-east-1', 60, (i) => (i < 40 ? 10 + i * 30 : 1_200 - (i - 40) * 50)),
      { thresholdMs: 30_000 },
    );
    expect(flow.stages[0].trend).toBe('shrinking');
    expect(flow.fallingBehind).toBe(false);
  });

  it('an emptied backlog starts the count again', () => {
    const flow = assessFlow(
      samplesOf('trade/core@us-east-1', 40, (i) => (i === 30 ? 0 : 20 + (i % 30) * 15)),
      { thresholdMs: 30_000 },
    );
    expect(flow.stages[0].growingForMs).toBeLessThanOrEqual(18_000);
    expect(flow.fallingBehind).toBe(false);
  });

  it('looks far apart are not one window', () => {
    const samples = samplesOf('trade/core@us-east-1', 10, (i) => 20 + i * 100, { stepMs: 120_000 });
    expect(assessFlow(samples, { thresholdMs: 30_000 }).fallingBehind).toBe(false);
  });

  it('where the count is a lower bound, a growing age of the oldest record is the growth', () => {
    const samples = samplesOf('trade/core@us-east-1', 40, () => 1_000, {
      atLeast: true,
      age: (i) => 2_000 + i * 1_500,
    });
    const flow = assessFlow(samples, { thresholdMs: 30_000 });
    expect(flow.fallingBehind).toBe(true);
    expect(flow.oldestUnprocessed).toEqual({ id: 'trade/core@us-east-1', ageMs: 2_000 + 39 * 1_500 });
  });

  it("the generator's history shows end-to-end growth at once; the limit is where records wait longest", () => {
    const history = Array.from({ length: 20 }, (_, i) => ({ at: T0 + i * 5_000, backlog: 50 + i * 40 }));
    const at = T0 + 20 * 5_000;
    const flow = assessFlow(
      [
        {
          at,
          stages: [
            { id: 'trade/ingestion@us-east-1', kind: 'stage', backlog: 40, oldestAgeMs: 900 },
            { id: 'trade/core@us-east-1', kind: 'stage', backlog: 700, oldestAgeMs: 41_000 },
            { id: 'tables us-east-1→us-west-2', kind: 'replication', backlog: 0, oldestAgeMs: 0 },
          ],
          generator: {
            enabled: true,
            rate: 80,
            offeredPerSecond: 80,
            confirmedPerSecond: 72,
            backlog: 850,
            oldestAgeMs: 45_000,
            history,
          },
        },
      ],
      { thresholdMs: 30_000 },
    );
    expect(flow.fallingBehind).toBe(true);
    expect(flow.limitingStage).toBe('trade/core@us-east-1');
    expect(flow).toMatchObject({ offeredPerSecond: 80, confirmedPerSecond: 72 });
    expect(flow.oldestUnprocessed).toEqual({ id: 'end to end', ageMs: 45_000 });
    expect(JSON.parse(JSON.stringify(flow))).toEqual(flow);
  });

  it('a stage that cannot be measured says why and never counts as growing', () => {
    const flow = assessFlow([
      { at: T0, stages: [{ id: 'trade/inbound-gateway@us-east-1', kind: 'stage', detail: 'broker does not answer' }] },
    ]);
    expect(flow.stages[0]).toMatchObject({ trend: 'unknown', fallingBehind: false, detail: 'broker does not answer' });
  });

  it('series: empty, unknown with too few looks', () => {
    expect(seriesGrowth([{ at: T0, backlog: 0 }]).trend).toBe('empty');
    expect(seriesGrowth([{ at: T0, backlog: 5 }]).trend).toBe('unknown');
  });
});
