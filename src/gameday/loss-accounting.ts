/**
 * The loss a regional failover accepts, counted twice and compared: by the failover reports (what only the lost
 * region held, from the generator's ledger, plus what replay could not bring back) and by the verdict (pairs sent
 * inside a loss window that did not end as predicted). Both in pairs, the verdict's unit. They should agree: a pair
 * the verdict finds at risk that no report counted, or the reverse, means one of the two measures is wrong.
 */
import { readJournal } from '../runbooks/journal.js';
import type { LostWithRegionCheck } from '../verdict/model.js';
import type { RecoveryResult } from './steps.js';

export interface LossAccounting {
  /** Pairs the failovers counted as lost with the region; undefined when some failover could not count them. */
  readonly lostWithRegionPairs?: number;
  /** Records still missing from the replicated safe stores after replay, over every failover (not in pairs). */
  readonly missingAfterReplay?: number;
  /** Pairs the verdict found at risk (sent inside a loss window, not ended as predicted). */
  readonly atRisk?: number;
  /** Of the pairs counted lost with the region, those that ended as predicted once it came back (pair by pair). */
  readonly cameBack?: number;
  /** Pairs at risk that no failover counted (pair by pair). */
  readonly atRiskNotCounted?: number;
  /** Undefined when either side is unknown. */
  readonly agrees?: boolean;
  readonly detail: string;
}

const sumOf = (values: readonly (number | undefined)[]): number | undefined =>
  values.some((v) => v === undefined) ? undefined : values.reduce<number>((sum, v) => sum + (v as number), 0);

/** What the verdict says of the run's loss: its counts, and how the pairs the failovers counted ended. */
export interface VerdictLoss {
  readonly counts?: Readonly<Record<string, number>>;
  readonly lostWithRegion?: LostWithRegionCheck;
}

/**
 * The trade sides every trade failover of the run counted as lost with its region, read from their journals; undefined
 * when some failover did not list them (no ledger, or too many to list): the check then falls back to counts.
 */
export function lostSidesOfFailovers(
  workspace: string,
  recoveries: readonly RecoveryResult[],
): Set<string> | undefined {
  const failovers = recoveries.filter((r) => r.runbook === 'failover' && r.app === 'trade');
  if (failovers.length === 0) return undefined;
  const ids = new Set<string>();
  for (const failover of failovers) {
    let samples;
    try {
      samples = readJournal(workspace, failover.runId).rpo.filter((s) => s.phase === 'lost-in-region');
    } catch {
      return undefined; // its journal is gone
    }
    if (samples.length === 0 || samples.some((s) => !s.ids)) return undefined;
    for (const sample of samples) for (const id of sample.ids ?? []) ids.add(id);
  }
  return ids;
}

/** Undefined when the run failed over nothing (no region loss to account for). */
export function accountLoss(
  recoveries: readonly RecoveryResult[],
  verdict: VerdictLoss | undefined,
): LossAccounting | undefined {
  const failovers = recoveries.filter((r) => r.runbook === 'failover');
  if (failovers.length === 0) return undefined;
  // Only trade counts what the lost region held (settlement's inputs are trade's replicated records).
  const counted = failovers.filter((r) => r.app === 'trade');
  const lostWithRegionPairs = counted.length ? sumOf(counted.map((r) => r.lostPairsInRegion)) : 0;
  const missingAfterReplay = sumOf(failovers.map((r) => r.rpoAfterReplay ?? r.rpoBeforeReplay));
  const atRisk = verdict?.counts ? (verdict.counts.atRisk ?? 0) : undefined;
  if (lostWithRegionPairs === undefined || atRisk === undefined || missingAfterReplay === undefined) {
    const unknown = [
      lostWithRegionPairs === undefined ? 'pairs lost with the region (no generator ledger)' : undefined,
      missingAfterReplay === undefined ? 'records missing after replay' : undefined,
      atRisk === undefined ? 'the verdict' : undefined,
    ].filter(Boolean);
    return {
      lostWithRegionPairs,
      missingAfterReplay,
      atRisk,
      detail: `cannot compare: ${unknown.join(', ')} not measured`,
    };
  }
  const check = verdict?.lostWithRegion;
  if (check) return comparePairByPair(lostWithRegionPairs, missingAfterReplay, atRisk, check);
  // Counts only: records replay could not bring back may each stop one more pair, widening what the verdict may find.
  const agrees = atRisk >= lostWithRegionPairs && atRisk <= lostWithRegionPairs + missingAfterReplay;
  const expected =
    missingAfterReplay === 0
      ? `${lostWithRegionPairs}`
      : `${lostWithRegionPairs} to ${lostWithRegionPairs + missingAfterReplay}`;
  return {
    lostWithRegionPairs,
    missingAfterReplay,
    atRisk,
    agrees,
    detail: agrees
      ? `the failover reports and the verdict agree: ${atRisk} pair${atRisk === 1 ? '' : 's'} lost with the region`
      : `the failover reports count ${expected} pair(s) lost with the region (${lostWithRegionPairs} in the ` +
        `generator's ledger, ${missingAfterReplay} record(s) missing after replay), the verdict finds ${atRisk} at risk`,
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Pair by pair: every pair a failover counted either came back (the region returned and what it held went on) or is
 * at risk, and nothing is at risk that no failover counted — beyond what replay could not bring back.
 */
function comparePairByPair(
  lostWithRegionPairs: number,
  missingAfterReplay: number,
  atRisk: number,
  check: LostWithRegionCheck,
): LossAccounting {
  const stillLost = check.pairs - check.cameBack;
  const agrees =
    check.pairs === lostWithRegionPairs &&
    atRisk - check.atRiskNotCounted === stillLost &&
    check.atRiskNotCounted <= missingAfterReplay;
  const back = check.cameBack
    ? `; ${check.cameBack} of them ended as predicted once the region came back (what it held went on)`
    : '';
  const uncounted = check.atRiskNotCounted
    ? `; ${plural(check.atRiskNotCounted, 'pair')} at risk that no failover counted` +
      ` (${plural(missingAfterReplay, 'record')} missing after replay may account for them)`
    : '';
  const judged =
    check.pairs === lostWithRegionPairs
      ? ''
      : ` (the verdict judged ${check.pairs} of them: the rest lie outside the run)`;
  return {
    lostWithRegionPairs,
    missingAfterReplay,
    atRisk,
    cameBack: check.cameBack,
    atRiskNotCounted: check.atRiskNotCounted,
    agrees,
    detail:
      `${agrees ? 'the failover reports and the verdict agree pair by pair' : 'the failover reports and the verdict DISAGREE'}: ` +
      `${plural(lostWithRegionPairs, 'pair')} counted lost with the region${judged}${back}; the verdict finds ` +
      `${atRisk} at risk${uncounted}`,
  };
}
