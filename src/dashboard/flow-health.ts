import type { FlowHealthView, StageFlow } from './view-model.js';

/** What the flow looked like at one moment: cumulative counters and backlogs. */
export interface FlowSample {
  readonly t: number;
  /** Trade sides the generator has sent (cumulative). */
  readonly offered?: number;
  /** Trade sides the trade cores have decided (matched, mismatched or parked as unmatched; cumulative). */
  readonly confirmed: number;
  /** Records waiting, per "app/stage@region". */
  readonly backlog: Readonly<Record<string, number>>;
  /** How long the last record read had waited, per "app/stage@region" (stream-fed stages). */
  readonly lagMs: Readonly<Record<string, number>>;
}

/** Behind when, over the window, less than this share of what was offered got through. */
const BEHIND_RATIO = 0.9;
/** …or the backlog grew by more than this many records over the window. */
const BACKLOG_GROWTH = 50;
/** …or records wait longer than this in a stage's stream. */
const LAG_BEHIND_MS = 5_000;

export function flowSample(t: number, offered: number | undefined, stages: readonly StageFlow[]): FlowSample {
  const confirmed = stages
    .filter((s) => s.app === 'trade' && s.stage === 'core')
    .reduce((sum, s) => sum + (s.in ?? 0), 0);
  const backlog = Object.fromEntries(
    stages.filter((s) => s.backlog !== undefined).map((s) => [`${s.app}/${s.stage}@${s.region}`, s.backlog ?? 0]),
  );
  const lagMs = Object.fromEntries(
    stages.filter((s) => s.lagMs !== undefined).map((s) => [`${s.app}/${s.stage}@${s.region}`, s.lagMs ?? 0]),
  );
  return { t, offered, confirmed, backlog, lagMs };
}

const perSecond = (delta: number, ms: number) => (ms > 0 ? Math.max(0, (delta * 1000) / ms) : 0);

/**
 * Offered vs confirmed rate over a window of samples (oldest first), whether the platform is falling behind, and
 * the stage that limits: the one whose backlog grew most. One small pure function, so a richer assessment (per-stage
 * rates, a module of its own) can replace it without touching the collector or the page.
 */
export function assessFlow(window: readonly FlowSample[]): FlowHealthView {
  const last = window.at(-1);
  const first = window[0];
  const backlogTotal = last ? Object.values(last.backlog).reduce((a, b) => a + b, 0) : 0;
  if (!last || !first || last === first) {
    return { offeredPerSec: 0, confirmedPerSec: 0, behind: false, backlogTotal, detail: 'measuring…' };
  }
  const ms = last.t - first.t;
  const offeredPerSec = perSecond((last.offered ?? 0) - (first.offered ?? 0), ms);
  const confirmedPerSec = perSecond(last.confirmed - first.confirmed, ms);
  let limitingStage: string | undefined;
  let growth = 0;
  for (const [stage, now] of Object.entries(last.backlog)) {
    const grew = now - (first.backlog[stage] ?? 0);
    if (grew > growth) [limitingStage, growth] = [stage, grew];
  }
  // No backlog growing: the stage whose records wait longest in its stream limits.
  const [slowest, slowestMs] = Object.entries(last.lagMs).reduce<[string | undefined, number]>(
    (worst, [stage, lag]) => (lag > worst[1] ? [stage, lag] : worst),
    [undefined, 0],
  );
  if (!limitingStage && slowestMs > LAG_BEHIND_MS) limitingStage = slowest;
  const starved = offeredPerSec >= 1 && confirmedPerSec < offeredPerSec * BEHIND_RATIO;
  const behind = starved || growth > BACKLOG_GROWTH || slowestMs > LAG_BEHIND_MS;
  const seconds = Math.round(ms / 1000);
  const detail = behind
    ? `FALLING BEHIND: ${confirmedPerSec.toFixed(1)} of ${offeredPerSec.toFixed(1)} sides/s confirmed over ${seconds} s` +
      (limitingStage
        ? growth > 0
          ? `; backlog grows at ${limitingStage} (+${growth})`
          : `; records wait ${Math.round(slowestMs / 1000)} s at ${limitingStage}`
        : '')
    : offeredPerSec >= 1
      ? `keeping up: ${confirmedPerSec.toFixed(1)} of ${offeredPerSec.toFixed(1)} sides/s confirmed`
      : 'no load offered';
  return {
    offeredPerSec,
    confirmedPerSec,
    behind,
    limitingStage: behind ? limitingStage : undefined,
    backlogTotal,
    detail,
  };
}
