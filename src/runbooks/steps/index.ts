import { StepRegistry, type StepType } from '../registry.js';
import { approve } from './approve.js';
import { DRILL_STEP_TYPES } from './drills.js';
import { observeAccepting } from './observe-accepting.js';
import { observeLostInRegion } from './observe-lost-in-region.js';
import { preflight } from './preflight.js';
import { routingControlSet } from './routing-control-set.js';
import { pause, sleep } from './sleep.js';
import { waitReplicated } from './wait-replicated.js';

/**
 * The step types every runbook can use. Step types that need more than the Platform interface offers today
 * (database switchover, broker drained, streams idle, canary, reconcile, service restart, chaos) are added here
 * or with `registerStepType`.
 */
export const BUILTIN_STEP_TYPES: readonly StepType[] = [
  routingControlSet,
  waitReplicated,
  preflight,
  approve,
  sleep,
  pause,
  ...DRILL_STEP_TYPES,
  observeAccepting,
  observeLostInRegion,
];

/** The shared registry the engine and the `tsr runbook` commands use by default. */
export const stepRegistry = new StepRegistry(BUILTIN_STEP_TYPES);

/** Adds a step type to the shared registry (throws if the name is taken). */
export function registerStepType(type: StepType): void {
  stepRegistry.register(type);
}
