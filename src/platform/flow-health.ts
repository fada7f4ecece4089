/**
 * Is the platform keeping up? A pure judgement over samples of what waits where — shared by `tsr status`, `tsr
 * generator status`, the rotation/failover preflight and the dashboard. Samples come from `sampleFlow`
 * (flow-sampler.ts); everything here is plain JSON-able data.
 *
 * Falling behind means a backlog has grown for longer than a threshold (docs/domain.md#flow-health). Growth is read
 * from a series of looks at one backlog: over a window, the medians of its first, middle and last thirds rise, by at
 * least `MIN_RISE` records and half the first third's level (so noise and a single spike are not growth), with no
 * look in between finding it empty. Where a count is only a lower bound (a long stream backlog is counted up to a
 * limit), the age of its oldest record must rise instead.
 */

/** What waits in front of one stage at one moment. */
export interface StageReading {
  /** Stable name across samples, e.g. `trade/core@us-east-1`, `tables us-east-1→us-west-2`, `end to end`. */
  readonly id: string;
  /** A service stage (records in its input), a replication link, or the generator's pairs awaiting confirmation. */
  readonly kind: 'stage' | 'replication' | 'end-to-end';
  /** Records (messages, stream records, changes, pairs) waiting; undefined when it could not be measured. */
  readonly backlog?: number;
  /** True when `backlog` is a lower bound (counted up to a limit). */
  readonly atLeast?: boolean;
  /** Age of the oldest record waiting, ms; undefined where the engine cannot tell (a broker's queue). */
  readonly oldestAgeMs?: number;
  /** Why a figure is missing. */
  readonly detail?: string;
}

/** A look back at one backlog: `at` in epoch ms. */
export interface SeriesPoint {
  readonly at: number;
  readonly backlog: number;
  readonly atLeast?: boolean;
  readonly oldestAgeMs?: number;
}

/** The generator's view (local target): offered vs confirmed, and its own history of pairs awaiting confirmation. */
export interface GeneratorReading {
  readonly enabled: boolean;
  /** Pairs per second set now. */
  readonly rate: number;
  /** `--rate auto`: what the feedback loop is doing and what it found. */
  readonly auto?: { readonly state: 'searching' | 'holding'; readonly found?: number; readonly settledAt?: string };
  readonly offeredPerSecond: number;
  readonly confirmedPerSecond: number;
  readonly backlog: number;
  readonly oldestAgeMs: number;
  /** Oldest first; the generator keeps it, so one look already sees how the end-to-end backlog moved. */
  readonly history: readonly SeriesPoint[];
}

export interface FlowSample {
  /** Epoch ms. */
  readonly at: number;
  readonly stages: readonly StageReading[];
  readonly generator?: GeneratorReading;
}

export type Trend = 'empty' | 'shrinking' | 'steady' | 'growing' | 'unknown';

export interface StageFlow extends StageReading {
  /** Over the last `TREND_WINDOW_MS` of looks; `unknown` with too few looks to tell. */
  readonly trend: Trend;
  /** How long the backlog has grown without being emptied, ms (0 when it is not growing). */
  readonly growingForMs: number;
  /** Grown for longer than the threshold and not shrinking now. */
  readonly fallingBehind: boolean;
}

export interface FlowHealth {
  /** ISO 8601 time of the latest sample. */
  readonly measuredAt: string;
  /** Pairs per second the generator offered and the platform confirmed (absent without a generator). */
  readonly offeredPerSecond?: number;
  readonly confirmedPerSecond?: number;
  /** The stage whose oldest waiting record is the oldest, and that age (the end-to-end wait included). */
  readonly oldestUnprocessed?: { readonly id: string; readonly ageMs: number };
  readonly stages: readonly StageFlow[];
  readonly fallingBehind: boolean;
  /** The stage that limits: the one falling behind longest, else where records wait longest. */
  readonly limitingStage?: string;
  /** How long the limiting backlog has grown, ms. */
  readonly behindForMs?: number;
  readonly thresholdMs: number;
  /** How far back the looks reach, ms: growth longer than this cannot be seen yet. */
  readonly historyMs: number;
  /** One line for people: "keeping up", or "FALLING BEHIND at …". */
  readonly summary: string;
}

export const FLOW_DEFAULTS = {
  /** Default threshold for "falling behind". */
  thresholdMs: 30_000,
  minThresholdMs: 5_000,
  maxThresholdMs: 60 * 60_000,
} as const;

const MIN_RISE = 10;
const MIN_AGE_RISE_MS = 2_000;
const TREND_WINDOW_MS = 30_000;
/** Two looks further apart than this do not make one window (a status run now and one an hour ago). */
const MAX_GAP_MS = 60_000;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

/**
 * The medians of the thirds of `values` rise, each by a third of `minRise(first)` at least and the last above the
 * first by all of it: steady growth does, noise and a spike confined to the last third do not.
 */
function thirdsRise(values: number[], minRise: (first: number) => number): boolean {
  if (values.length < 3) return false;
  const third = values.length / 3;
  const [a, b, c] = [0, 1, 2].map((k) => median(values.slice(Math.round(k * third), Math.round((k + 1) * third))));
  const rise = minRise(a);
  return b - a >= rise / 3 && c - b >= rise / 3 && c - a >= rise;
}

/**
 * Rises (or, with `direction` -1, falls) over the window, by count or by the oldest record's age. `share`: how much
 * of the first third's level a count must rise by (half to call it growth for long; less for the recent trend).
 */
function moves(points: readonly SeriesPoint[], counted: boolean, direction: 1 | -1 = 1, share = 0.5): boolean {
  const values = points.map((p) => direction * (counted ? p.backlog : (p.oldestAgeMs ?? 0)));
  const spanMs = points[points.length - 1].at - points[0].at;
  const minRise = (first: number) =>
    counted
      ? Math.max(MIN_RISE, Math.abs(first) * share)
      : Math.max(MIN_AGE_RISE_MS, direction === 1 ? spanMs / 10 : 0);
  return thirdsRise(values, minRise);
}

/**
 * How long the series has grown (ms) up to its last point, and its trend over the last `TREND_WINDOW_MS`. Where a
 * count was only a lower bound (`atLeast`), the oldest record's age must grow instead.
 */
export function seriesGrowth(series: readonly SeriesPoint[]): { growingForMs: number; trend: Trend } {
  const last = series[series.length - 1];
  if (!last) return { growingForMs: 0, trend: 'unknown' };
  if (last.backlog === 0) return { growingForMs: 0, trend: 'empty' };
  let start = series.length - 1;
  while (start > 0 && series[start - 1].backlog > 0 && series[start].at - series[start - 1].at <= MAX_GAP_MS) start--;
  const run = series.slice(start);
  const counted = !run.some((p) => p.atLeast);
  let growingForMs = 0;
  for (let i = run.length - 3; i >= 0; i--) {
    if (moves(run.slice(i), counted)) growingForMs = last.at - run[i].at;
  }
  const recent = run.filter((p) => last.at - p.at <= TREND_WINDOW_MS);
  const trend: Trend =
    recent.length < 3
      ? 'unknown'
      : moves(recent, counted, 1, 0.1)
        ? 'growing'
        : moves(recent, counted, -1, 0.1)
          ? 'shrinking'
          : 'steady';
  return { growingForMs, trend };
}

function stageFlow(reading: StageReading, series: readonly SeriesPoint[], thresholdMs: number): StageFlow {
  if (reading.backlog === undefined) return { ...reading, trend: 'unknown', growingForMs: 0, fallingBehind: false };
  const { growingForMs, trend } = seriesGrowth(series);
  return { ...reading, trend, growingForMs, fallingBehind: growingForMs >= thresholdMs && trend !== 'shrinking' };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** A stage in a line: "trade/core@us-east-1 (1,200 waiting, oldest 80 s, growing for 95 s)". */
export function describeStage(stage: StageFlow): string {
  const parts = [
    stage.backlog === undefined
      ? (stage.detail ?? 'not measured')
      : `${stage.atLeast ? '≥ ' : ''}${stage.backlog.toLocaleString('en-US')} waiting`,
    ...(stage.oldestAgeMs ? [`oldest ${seconds(stage.oldestAgeMs)}`] : []),
    ...(stage.growingForMs ? [`growing for ${seconds(stage.growingForMs)}`] : []),
  ];
  return `${stage.id} (${parts.join(', ')})`;
}

/**
 * Judges the flow from samples (any order, any spacing; the latest decides what is shown now). Each stage's series
 * is its readings across the samples; the end-to-end series is the generator's own history in the latest sample.
 */
export function assessFlow(
  samples: readonly FlowSample[],
  options: { readonly thresholdMs?: number } = {},
): FlowHealth {
  const thresholdMs = options.thresholdMs ?? FLOW_DEFAULTS.thresholdMs;
  const ordered = [...samples].sort((a, b) => a.at - b.at);
  const latest = ordered[ordered.length - 1];
  if (!latest) throw new Error('assessFlow needs at least one sample');
  const seriesOf = (id: string): SeriesPoint[] =>
    ordered.flatMap((sample) => {
      const reading = sample.stages.find((s) => s.id === id);
      return reading?.backlog === undefined
        ? []
        : [{ at: sample.at, backlog: reading.backlog, atLeast: reading.atLeast, oldestAgeMs: reading.oldestAgeMs }];
    });
  const stages = latest.stages.map((reading) => stageFlow(reading, seriesOf(reading.id), thresholdMs));
  const generator = latest.generator;
  if (generator) {
    const endToEnd: StageReading = {
      id: 'end to end',
      kind: 'end-to-end',
      backlog: generator.backlog,
      oldestAgeMs: generator.oldestAgeMs,
      detail: 'pairs the generator sent that are not confirmed yet',
    };
    const history = [...generator.history.filter((p) => p.at < latest.at), { at: latest.at, ...endToEnd }];
    stages.push(stageFlow(endToEnd, history as SeriesPoint[], thresholdMs));
  }

  const oldest = stages
    .filter((s) => (s.oldestAgeMs ?? 0) > 0)
    .sort((a, b) => (b.oldestAgeMs ?? 0) - (a.oldestAgeMs ?? 0))[0];
  const behind = stages.filter((s) => s.fallingBehind);
  const fallingBehind = behind.length > 0;
  const byGrowth = (list: StageFlow[]) =>
    [...list].sort((a, b) => b.growingForMs - a.growingForMs || (b.oldestAgeMs ?? 0) - (a.oldestAgeMs ?? 0))[0];
  const inner = (list: StageFlow[]) => list.filter((s) => s.kind !== 'end-to-end');
  // Where the wait is: the inner stage falling behind longest; else (only the end-to-end backlog grows) the stage
  // whose records wait longest, else the one with most waiting.
  const waiting = inner(stages).filter((s) => (s.backlog ?? 0) > 0);
  const limiting = fallingBehind
    ? (byGrowth(inner(behind)) ??
      [...waiting].sort(
        (a, b) => (b.oldestAgeMs ?? 0) - (a.oldestAgeMs ?? 0) || (b.backlog ?? 0) - (a.backlog ?? 0),
      )[0] ??
      behind[0])
    : undefined;
  const behindForMs = fallingBehind ? Math.max(...behind.map((s) => s.growingForMs)) : undefined;
  const historyMs = Math.max(
    latest.at - ordered[0].at,
    generator?.history.length ? latest.at - generator.history[0].at : 0,
  );
  const rates = generator
    ? `; offered ${generator.offeredPerSecond} pairs/s, confirmed ${generator.confirmedPerSecond} pairs/s`
    : '';
  const summary = limiting
    ? `FALLING BEHIND: a backlog has grown for ${seconds(behindForMs ?? 0)} (threshold ${seconds(thresholdMs)}); ` +
      `limiting stage ${describeStage(limiting)}${rates}`
    : `keeping up: no backlog has grown for ${seconds(thresholdMs)}` +
      (historyMs < thresholdMs ? ` (looked back ${seconds(historyMs)} so far)` : '') +
      rates;
  return {
    measuredAt: new Date(latest.at).toISOString(),
    ...(generator
      ? { offeredPerSecond: generator.offeredPerSecond, confirmedPerSecond: generator.confirmedPerSecond }
      : {}),
    ...(oldest ? { oldestUnprocessed: { id: oldest.id, ageMs: oldest.oldestAgeMs as number } } : {}),
    stages,
    fallingBehind,
    ...(limiting ? { limitingStage: limiting.id, behindForMs } : {}),
    thresholdMs,
    historyMs,
    summary,
  };
}
