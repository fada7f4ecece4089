/**
 * Judging one pair (docs/domain.md#game-days): Jepsen's set checker applied to trades. Pure: the ledger line and the
 * evidence for that pair in, an outcome and the reason out.
 */
import type { Judgement, LedgerPair, LossWindow, PairEvidence } from './model.js';

type Progress = 'final' | 'not final' | 'wrong';

/**
 * Where a found status stands against the predicted one. Statuses only move forward — UNMATCHED → MATCHED → SETTLED,
 * or UNMATCHED → MISMATCHED — so an earlier status is a record still on its way; anything else is another outcome.
 */
export function progress(expected: string, found: string): Progress {
  if (found === expected) return 'final';
  if (found === 'UNMATCHED') return 'not final';
  if (expected === 'SETTLED' && found === 'MATCHED') return 'not final';
  return 'wrong';
}

/** Statuses a sender may hear for one side, in any order, without a contradiction: the life cycle's own steps. */
const COMPATIBLE: readonly (readonly string[])[] = [
  ['UNMATCHED', 'MATCHED', 'SETTLED'],
  ['UNMATCHED', 'MISMATCHED'],
];

/** Two confirmations for one side no single life cycle can produce (MATCHED and MISMATCHED, or REJECTED and any). */
export function contradictory(statuses: readonly string[]): boolean {
  return !COMPATIBLE.some((cycle) => statuses.every((status) => cycle.includes(status)));
}

export function inLossWindow(
  pair: Pick<LedgerPair, 'region' | 'submittedAt'>,
  windows: readonly LossWindow[],
): boolean {
  return windows.some(
    (w) => w.region === pair.region && pair.submittedAt >= w.from.getTime() && pair.submittedAt <= w.to.getTime(),
  );
}

/**
 * The outcome of one pair. Precedence: duplicated (two core rows or contradictory confirmations) over wrong (a final
 * state other than the prediction) over lost (a record missing, or never final) over late (final after the
 * deadline). A pair sent inside a loss window that is lost or wrong is `atRisk` instead: the loss DR accepts.
 */
export function judgePair(
  pair: LedgerPair,
  evidence: PairEvidence,
  options: { deadlineMs?: number; atRisk?: boolean } = {},
): Judgement {
  const duplicated: string[] = [];
  const wrong: string[] = [];
  const lost: string[] = [];
  const { tradeStatus, settlementStatus } = pair.expected;
  const sideIds = Object.keys(tradeStatus);
  let finalAt: number | undefined;
  const saw = (at: number) => (finalAt = Math.max(finalAt ?? at, at));

  const sidesById = new Map<string, PairEvidence['sides'][number]>();
  for (const side of evidence.sides) {
    if (!(side.id in tradeStatus)) duplicated.push(`core holds another row for this trade: ${side.id}`);
    else if (sidesById.has(side.id)) duplicated.push(`core holds ${side.id} twice`);
    sidesById.set(side.id, side);
  }
  for (const id of sideIds) {
    const side = sidesById.get(id);
    if (!side) {
      lost.push(`trade side ${id} is not in core`);
      continue;
    }
    saw(side.updatedAt);
    const state = progress(tradeStatus[id], side.status);
    if (state === 'wrong') wrong.push(`trade side ${id} is ${side.status}, expected ${tradeStatus[id]}`);
    if (state === 'not final') lost.push(`trade side ${id} is still ${side.status}, expected ${tradeStatus[id]}`);
    const other = sideIds.find((s) => s !== id);
    if (other && side.counterpartId && side.counterpartId !== other) {
      wrong.push(`trade side ${id} was paired with ${side.counterpartId}, expected ${other}`);
    }
    for (const allocation of side.allocations) {
      const expected = settlementStatus[allocation.settlementId];
      // Pairs that never settle keep their allocations UNMATCHED.
      const result = progress(expected ?? 'UNMATCHED', allocation.status);
      if (expected) saw(allocation.updatedAt);
      if (result === 'wrong') {
        wrong.push(
          `allocation ${allocation.settlementId} is ${allocation.status} in trade, expected ${expected ?? 'no result'}`,
        );
      }
      if (result === 'not final') lost.push(`the settlement result for ${allocation.settlementId} never reached trade`);
    }
  }

  const settlementsById = new Map<string, PairEvidence['settlements'][number]>();
  for (const settlement of evidence.settlements) {
    if (!(settlement.id in settlementStatus))
      duplicated.push(`settlement holds an instruction not predicted: ${settlement.id}`);
    else if (settlementsById.has(settlement.id)) duplicated.push(`settlement holds ${settlement.id} twice`);
    settlementsById.set(settlement.id, settlement);
  }
  for (const [id, expected] of Object.entries(settlementStatus)) {
    const settlement = settlementsById.get(id);
    if (!settlement) {
      lost.push(`settlement instruction ${id} is not in settlement's core`);
      continue;
    }
    saw(settlement.updatedAt);
    const state = progress(expected, settlement.status);
    if (state === 'wrong') wrong.push(`settlement ${id} is ${settlement.status}, expected ${expected}`);
    if (state === 'not final') lost.push(`settlement ${id} is still ${settlement.status}, expected ${expected}`);
  }

  for (const heard of evidence.confirmations) {
    if (heard.id in tradeStatus && contradictory(heard.statuses)) {
      duplicated.push(`the sender of ${heard.id} was confirmed ${heard.statuses.join(' and ')}`);
    }
  }

  const outcome = duplicated.length
    ? 'duplicated'
    : wrong.length
      ? 'wrong'
      : lost.length
        ? 'lost'
        : options.deadlineMs !== undefined && finalAt !== undefined && finalAt > options.deadlineMs
          ? 'late'
          : 'ok';
  const detail =
    outcome === 'late'
      ? `final at ${new Date(finalAt as number).toISOString()}, after the deadline`
      : [...duplicated, ...wrong, ...lost].join('; ');
  if (options.atRisk && (outcome === 'lost' || outcome === 'wrong')) {
    return { outcome: 'atRisk', detail: `sent to ${pair.region} inside its loss window: ${detail}`, finalAt };
  }
  return { outcome, detail, finalAt };
}
