/**
 * The loss a regional failover accepts, counted twice and compared: by the failover reports (what only the lost
 * region held, from the generator's ledger, plus what replay could not bring back) and by the verdict (pairs sent
 * inside a loss window that did not end as predicted). Both in pairs, the verdict's unit. They should agree: a pair
 * the verdict finds at risk that no report counted, or the reverse, means one of the two measures is wrong.
 */
import type { RecoveryResult } from './steps.js';

export interface LossAccounting {
  /** Pairs the failovers counted as lost with the region; undefined when some failover could not count them. */
  readonly lostWithRegionPairs?: number;
  /** Records still missing from the replicated safe stores after replay, over every failover (not in pairs). */
  readonly missingAfterReplay?: number;
  /** Pairs the verdict found at risk (sent inside a loss window, not ended as predicted). */
  readonly atRisk?: number;
  /** Undefined when either side is unknown. */
  readonly agrees?: boolean;
  readonly detail: string;
}

const sumOf = (values: readonly (number | undefined)[]): number | undefined =>
  values.some((v) => v === undefined) ? undefined : values.reduce<number>((sum, v) => sum + (v as number), 0);

/** Undefined when the run failed over nothing (no region loss to account for). */
export function accountLoss(
  recoveries: readonly RecoveryResult[],
  verdictCounts: Readonly<Record<string, number>> | undefined,
): LossAccounting | undefined {
  const failovers = recoveries.filter((r) => r.runbook === 'failover');
  if (failovers.length === 0) return undefined;
  // Only trade counts what the lost region held (settlement's inputs are trade's replicated records).
  const counted = failovers.filter((r) => r.app === 'trade');
  const lostWithRegionPairs = counted.length ? sumOf(counted.map((r) => r.lostPairsInRegion)) : 0;
  const missingAfterReplay = sumOf(failovers.map((r) => r.rpoAfterReplay ?? r.rpoBeforeReplay));
  const atRisk = verdictCounts ? (verdictCounts.atRisk ?? 0) : undefined;
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
  // Records replay could not bring back may each stop one more pair: they widen what the verdict may find.
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
