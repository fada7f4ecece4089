import { formatDuration, parseDuration } from '../runbooks/duration.js';
import { accountLoss } from './loss-accounting.js';
import type { LostWithRegionCheck } from '../verdict/model.js';
import type { Objectives } from './scenario.js';
import type { RecoveryResult } from './steps.js';

/** One objective judged: passed, failed, or not applicable (nothing in the run to measure it by). */
export interface ObjectiveResult {
  readonly name: keyof Objectives;
  /** As the scenario wrote it, e.g. "≤ 30s". */
  readonly target: string;
  readonly actual?: string;
  /** Measured number (ms or a count), for comparisons across runs. */
  readonly value?: number;
  readonly passed?: boolean;
  readonly detail: string;
}

/** What the objectives are judged on. */
export interface RunFigures {
  readonly recoveries: readonly RecoveryResult[];
  /** Verdict counts; undefined when no verdict could be reached. */
  readonly counts?: Readonly<Record<string, number>>;
  /** How the pairs the failovers counted as lost with a region ended, where the verdict was told them. */
  readonly lostWithRegion?: LostWithRegionCheck;
  readonly steadyP99Ms?: number;
}

const maxOf = (values: readonly (number | undefined)[]): number | undefined =>
  values.some((v) => v === undefined) || values.length === 0 ? undefined : Math.max(...(values as number[]));

function durationObjective(
  name: keyof Objectives,
  limit: string,
  values: readonly (number | undefined)[],
  what: string,
): ObjectiveResult {
  const limitMs = parseDuration(limit) ?? 0;
  if (values.length === 0) return { name, target: `≤ ${limit}`, detail: `no ${what} in this run: not applicable` };
  const worst = maxOf(values);
  if (worst === undefined)
    return { name, target: `≤ ${limit}`, passed: false, detail: `${what}: not measured for every recovery` };
  return {
    name,
    target: `≤ ${limit}`,
    actual: formatDuration(worst),
    value: worst,
    passed: worst <= limitMs,
    detail: `worst of ${values.length} ${what}`,
  };
}

function countObjective(
  name: keyof Objectives,
  limit: number,
  value: number | undefined,
  what: string,
): ObjectiveResult {
  if (value === undefined) return { name, target: `≤ ${limit}`, passed: false, detail: `${what}: not measured` };
  return { name, target: `≤ ${limit}`, actual: String(value), value, passed: value <= limit, detail: what };
}

/** Judges every objective the scenario sets against what the run measured. */
export function judgeObjectives(objectives: Objectives, figures: RunFigures): ObjectiveResult[] {
  const results: ObjectiveResult[] = [];
  const { recoveries } = figures;
  if (objectives.rto !== undefined)
    results.push(
      durationObjective(
        'rto',
        objectives.rto,
        recoveries.map((r) => r.rtoMs),
        'recoveries (RTO)',
      ),
    );
  if (objectives.unavailability !== undefined) {
    results.push(
      durationObjective(
        'unavailability',
        objectives.unavailability,
        recoveries.map((r) => r.unavailabilityMs),
        'unavailability windows',
      ),
    );
  }
  if (objectives.rpo !== undefined) {
    const planned = recoveries.filter((r) => r.runbook === 'rotate');
    results.push(
      planned.length === 0
        ? { name: 'rpo', target: `≤ ${objectives.rpo}`, detail: 'no planned move in this run: not applicable' }
        : countObjective(
            'rpo',
            objectives.rpo,
            maxOf(planned.map((r) => r.rpoAfterReplay ?? r.rpoBeforeReplay)),
            `records missing after replay, worst of ${planned.length} planned move(s)`,
          ),
    );
  }
  for (const name of ['lost', 'duplicated', 'wrong', 'late'] as const) {
    const limit = objectives[name];
    if (limit !== undefined)
      results.push(countObjective(name, limit, figures.counts?.[name], `pairs ${name} (verdict)`));
  }
  if (objectives.p99ToMatched !== undefined) {
    const limitMs = parseDuration(objectives.p99ToMatched) ?? 0;
    const p99 = figures.steadyP99Ms;
    results.push(
      p99 === undefined
        ? {
            name: 'p99ToMatched',
            target: `≤ ${objectives.p99ToMatched}`,
            passed: false,
            detail: 'steady-state latency not measured',
          }
        : {
            name: 'p99ToMatched',
            target: `≤ ${objectives.p99ToMatched}`,
            actual: formatDuration(p99),
            value: p99,
            passed: p99 <= limitMs,
            detail: 'submit → MATCHED p99 in steady state',
          },
    );
  }
  if (objectives.lossAgrees) {
    const loss = accountLoss(recoveries, figures.counts ? figures : undefined);
    results.push(
      loss === undefined
        ? { name: 'lossAgrees', target: 'reports = verdict', detail: 'no region was failed over: not applicable' }
        : {
            name: 'lossAgrees',
            target: 'reports = verdict',
            actual:
              `${loss.lostWithRegionPairs ?? '?'} counted` +
              `${loss.cameBack ? `, ${loss.cameBack} came back` : ''} / ${loss.atRisk ?? '?'} at risk`,
            passed: loss.agrees === true,
            detail: loss.detail,
          },
    );
  }
  return results;
}
