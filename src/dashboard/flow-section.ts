import { assessFlow, type FlowSample } from '../platform/flow-health.js';
import type { FlowHealthView } from './view-model.js';

/**
 * The Flow view's "keeping up / FALLING BEHIND" section: the judgement `tsr status`, `tsr generator status` and the
 * rotation preflight make (src/platform/flow-health.ts), over the dashboard's own recent samples, with the total
 * waiting in the services' inputs beside it. No second judgement lives in the dashboard.
 */
export function flowHealthSection(
  samples: readonly FlowSample[],
  options: { readonly thresholdMs?: number } = {},
): FlowHealthView | undefined {
  if (!samples.length) return undefined;
  const health = assessFlow(samples, options);
  const backlogTotal = health.stages.filter((s) => s.kind === 'stage').reduce((sum, s) => sum + (s.backlog ?? 0), 0);
  return { ...health, backlogTotal };
}
