import { initialControlState, type ResourceNames, type RoutingControlName } from '../../config/model.js';
import { describeError, ExitCode, UserError } from '../../errors.js';
import type { RoutingControls, RoutingControlUpdate, RoutingState } from '../../clients/types.js';
import { SAFETY_RULE_WAIT_MS } from './constructs/safety-rules.js';

/** One step of the initialisation: a single UpdateRoutingControlState(s) call. */
export interface RoutingBatch {
  readonly purpose: string;
  readonly updates: readonly RoutingControlUpdate[];
}

export interface RoutingInitialisation {
  /**
   * `initialized`: the deploy-time states were set. `adopted`: some control was already ON (set by someone else, or
   * a deployment record from another machine), so nothing was changed.
   */
  readonly action: 'initialized' | 'adopted';
  /** The states read before (adopted) or set (initialized), by control name. */
  readonly states: Readonly<Record<string, RoutingState>>;
  readonly batches: readonly RoutingBatch[];
}

/**
 * The deploy-time states (`initialControlState`: the primary region's dns/queue/app ON, every other region OFF,
 * gates and the generator OFF) as batches that pass the safety rules from ARC's initial all-OFF state:
 *
 * 1. every app's dns controls (the assertion rule needs one ON per app, so all apps in one call), every gate ON,
 *    the generator OFF;
 * 2. queue and app controls, changed while the gates (step 1) hold;
 * 3. every gate OFF again.
 */
export function initialRoutingBatches(names: ResourceNames, primary: string): RoutingBatch[] {
  const desired = (c: RoutingControlName): RoutingControlUpdate => ({
    control: c.name,
    state: initialControlState(c, primary),
  });
  const controls = names.routingControls;
  const gates = controls.filter((c) => c.scope === 'gate');
  return [
    {
      purpose: 'dns controls, gates open',
      updates: [
        ...controls.filter((c) => c.scope === 'dns').map(desired),
        ...gates.map((c) => ({ control: c.name, state: 'On' as const })),
        ...controls.filter((c) => c.scope === 'generator').map(desired),
      ],
    },
    {
      purpose: 'queue and app controls behind the open gates',
      updates: controls.filter((c) => c.scope === 'queue' || c.scope === 'app').map(desired),
    },
    { purpose: 'gates closed', updates: gates.map(desired) },
  ];
}

export interface InitialiseOptions {
  /** Pause between batches so each safety rule's wait period has passed (default: the rules' wait period + 1 s). */
  readonly settleMs?: number;
  /** Set when a previous run started the initialisation and did not finish it: continue regardless of states. */
  readonly resume?: boolean;
  /** Called just before the first change, so the caller can record that the initialisation has started. */
  readonly onStart?: () => void;
  readonly onBatch?: (batch: RoutingBatch, index: number) => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sets the deploy-time routing-control states through the ARC cluster after the first apply (ARC creates every
 * control OFF). Changes nothing when any control is already ON and this is not a resumed initialisation: that is a
 * live environment, and setting the deploy-time states would undo a rotation.
 */
export async function initialiseRoutingControls(
  controls: RoutingControls,
  names: ResourceNames,
  primary: string,
  options: InitialiseOptions = {},
): Promise<RoutingInitialisation> {
  const before = Object.fromEntries((await controls.list()).map((c) => [c.name, c.state]));
  const missing = names.routingControls.filter((c) => before[c.name] === undefined).map((c) => c.name);
  if (missing.length) {
    throw new UserError(
      `the ARC control panel lacks routing controls ${missing.join(', ')}`,
      'the global stack does not match this configuration: check --env/--regions and apply again',
      ExitCode.notDeployed,
    );
  }
  const batches = initialRoutingBatches(names, primary);
  if (!options.resume && Object.values(before).some((state) => state === 'On')) {
    return { action: 'adopted', states: before, batches: [] };
  }
  options.onStart?.();
  const settleMs = options.settleMs ?? SAFETY_RULE_WAIT_MS + 1000;
  for (const [index, batch] of batches.entries()) {
    if (index > 0 && settleMs > 0) await sleep(settleMs);
    options.onBatch?.(batch, index);
    try {
      await controls.set(batch.updates);
    } catch (error) {
      // Never leave a gate open behind a failure (step 1 opened them): queue/app could then change unchecked.
      let closed = '';
      if (index > 0) {
        try {
          await controls.set(batches[batches.length - 1].updates);
          closed = ' The gates were closed again.';
        } catch (closeError) {
          closed = ` Closing the gates failed too (${describeError(closeError)}): close them with \`tsr routing-control set <app>-gate off\`.`;
        }
      }
      throw new UserError(
        `setting the initial routing-control states failed at step ${index + 1} of ${batches.length} ` +
          `(${batch.purpose}): ${describeError(error)}.${closed}`,
        'the stacks are applied; fix the cause and run the same `tsr deploy --target aws` again: it continues the ' +
          'initialisation (check the states with `tsr routing-control list`)',
        error instanceof UserError ? error.exitCode : ExitCode.failure,
      );
    }
  }
  const states = Object.fromEntries(
    names.routingControls.map((c) => [c.name, initialControlState(c, primary)] as const),
  );
  return { action: 'initialized', states, batches };
}
