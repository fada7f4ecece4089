import { ExitCode } from '../errors.js';
import { table } from '../lib/table.js';
import { FAILING, type Outcome, OUTCOMES, type Verdict } from './model.js';
import { diverged } from './verdict.js';

const LABEL: Record<Outcome, string> = {
  ok: 'ok',
  lost: 'lost',
  duplicated: 'duplicated',
  wrong: 'wrong',
  late: 'late',
  atRisk: 'at risk',
};

const MEANING: Record<Outcome, string> = {
  ok: 'reached the predicted final state, once',
  lost: 'a broker acknowledged it; it never reached a final state',
  duplicated: 'two core rows, or contradictory confirmations',
  wrong: 'a final state other than the prediction',
  late: 'final only after the deadline',
  atRisk: 'sent inside a loss window (the loss DR accepts)',
};

/** 0 when nothing is lost, duplicated or wrong; 6 otherwise. */
export function verdictExitCode(verdict: Verdict): number {
  return verdict.passed ? ExitCode.ok : ExitCode.gapsFound;
}

/** The verdict for a person: the headline, counts per outcome, divergence, and the ids when asked for. */
export function renderVerdict(verdict: Verdict): string {
  const failed = FAILING.filter((o) => verdict.counts[o] > 0).map((o) => `${verdict.counts[o]} ${LABEL[o]}`);
  const headline = verdict.passed
    ? `PASSED: ${verdict.pairs} pair(s), nothing lost, duplicated or wrong`
    : `FAILED: ${failed.join(', ')} of ${verdict.pairs} pair(s)`;
  const lines = [headline, ''];
  lines.push(
    table(
      ['outcome', 'pairs', 'meaning'],
      OUTCOMES.map((o) => [LABEL[o], String(verdict.counts[o]), MEANING[o]]),
    ),
  );
  if (verdict.lossWindows.length) {
    lines.push(
      '',
      `Loss windows: ${verdict.lossWindows.map((w) => `${w.region} ${w.from} → ${w.to}`).join('; ')} ` +
        `(${verdict.sentInLossWindows} pair(s) sent inside them)`,
    );
  }
  if (verdict.divergence.length) {
    const rows = verdict.divergence.map((d) => [
      d.name,
      `${d.reference} → ${d.region}`,
      d.error ? 'unchecked' : `${d.referenceRows} / ${d.rows}`,
      d.error ?? `${d.onlyInReference} / ${d.onlyInRegion} / ${d.differing}`,
      d.sample?.length ? d.sample.slice(0, 3).join(', ') : '',
    ]);
    const differing = verdict.divergence.filter(diverged).length;
    const unchecked = verdict.divergence.filter((d) => d.error).length;
    lines.push(
      '',
      differing
        ? `Divergence: ${differing - unchecked} of ${verdict.divergence.length} copies differ from their reference` +
            (unchecked ? `, ${unchecked} could not be compared` : '')
        : `Divergence: none (${verdict.divergence.length} copies compared)`,
    );
    if (differing) {
      lines.push(
        table(
          ['store', 'regions', 'rows', 'only ref / only copy / differ', 'e.g.'],
          rows.filter((_, i) => diverged(verdict.divergence[i])),
        ),
      );
    }
  }
  if (verdict.ids) {
    for (const outcome of OUTCOMES) {
      if (outcome === 'ok') continue;
      const listed = verdict.ids[outcome];
      if (!listed.length) continue;
      lines.push('', `${LABEL[outcome]}:`);
      for (const pair of listed) lines.push(`  ${pair.tradeId} (${pair.scenario}, ${pair.region}): ${pair.detail}`);
      const more = verdict.idsLeftOut?.[outcome];
      if (more) lines.push(`  … and ${more} more`);
    }
  } else if (!verdict.passed) {
    lines.push('', 'Which pairs: run again with --ids (or --json).');
  }
  for (const note of verdict.notes) lines.push(`Note: ${note}`);
  lines.push(
    '',
    `Judged in ${(verdict.durationMs / 1000).toFixed(1)} s from ${verdict.ledgers.length} ledger file(s).`,
  );
  return lines.join('\n');
}
