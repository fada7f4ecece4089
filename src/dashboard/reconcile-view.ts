import type { SavedReconcile } from '../reconcile/index.js';
import type { ReconcileView } from './view-model.js';

/**
 * The Reconcile view of a saved report (the last one, whoever ran it). After a replay, the figures are those of its
 * re-check: what is still missing.
 */
export function reconcileView(saved: SavedReconcile | undefined): ReconcileView {
  if (!saved) return {};
  const { report } = saved;
  const replayed = report.replay !== undefined && !report.replay.dryRun;
  const final = (replayed ? report.replay?.after : undefined) ?? report;
  return {
    last: {
      at: saved.at,
      by: saved.by,
      window: `${report.window.from} → ${report.window.to}`,
      replayed,
      hops: final.hops.map((h) => ({
        name: h.name,
        upstream: h.upstream.count,
        downstream: h.downstream.count,
        missing: h.missing.length,
        held: h.held?.length ?? 0,
        extra: h.extra.length,
        checked: h.checked,
      })),
      totals: { compared: final.totals.compared, missing: final.totals.missing, extra: final.totals.extra },
      notes: [...final.notes, ...final.unchecked.map((u) => `${u.scope} ${u.name} not checked: ${u.reason}`)],
    },
  };
}
