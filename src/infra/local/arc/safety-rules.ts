import type { SafetyRuleName } from '../../../config/model.js';
import type { RoutingState } from '../../../clients/types.js';

/** One requested change, by routing control name. */
export interface StateChange {
  readonly control: string;
  readonly state: RoutingState;
}

/** What a safety rule needs for evaluation (a subset of SafetyRuleName, so tests can build rules by hand). */
export type SafetyRule = Pick<SafetyRuleName, 'name' | 'arn' | 'kind' | 'assertedOrGating' | 'targets' | 'minOn'>;

export type RuleEvaluation =
  | {
      readonly ok: true;
      /** The states after the batch (a new map; the input is never modified). */
      readonly result: ReadonlyMap<string, RoutingState>;
      /** Names of the controls whose state the batch actually changes. */
      readonly changed: readonly string[];
    }
  | {
      readonly ok: false;
      /** The first rule the result violates. */
      readonly rule: SafetyRule;
      /** Why the rule refuses the result, e.g. "at least 1 of a, b must stay On, the update would leave 0 On". */
      readonly reason: string;
    };

function countOn(states: ReadonlyMap<string, RoutingState>, controls: readonly string[]): number {
  return controls.filter((c) => states.get(c) === 'On').length;
}

function isOverridden(rule: SafetyRule, overrides: readonly string[]): boolean {
  return overrides.includes(rule.name) || overrides.includes(rule.arn);
}

/**
 * Evaluates a batch of routing-control changes with Route 53 ARC semantics: the whole batch is applied to a copy
 * of `current`, and every rule not named in `overrides` (by name or ARN) is evaluated on that result.
 *
 * - assertion: at least `minOn` of `assertedOrGating` must be On in the result;
 * - gating: if the batch changes the state of any of `targets`, at least `minOn` of the gating controls
 *   (`assertedOrGating`) must be On in the result (so a batch that opens the gate may also change targets).
 *
 * Controls absent from `current` count as Off. Pure: `current` is never modified.
 */
export function evaluateBatch(
  current: ReadonlyMap<string, RoutingState>,
  changes: readonly StateChange[],
  rules: readonly SafetyRule[],
  overrides: readonly string[] = [],
): RuleEvaluation {
  const result = new Map(current);
  for (const change of changes) result.set(change.control, change.state);
  const changed = [...new Set(changes.map((c) => c.control))].filter(
    (control) => (current.get(control) ?? 'Off') !== result.get(control),
  );

  for (const rule of rules) {
    if (isOverridden(rule, overrides)) continue;
    const on = countOn(result, rule.assertedOrGating);
    if (rule.kind === 'assertion') {
      if (on < rule.minOn) {
        return {
          ok: false,
          rule,
          reason:
            `at least ${rule.minOn} of ${rule.assertedOrGating.join(', ')} must stay On, ` +
            `the update would leave ${on} On`,
        };
      }
    } else {
      const gatedChanges = changed.filter((control) => rule.targets.includes(control));
      if (gatedChanges.length > 0 && on < rule.minOn) {
        return {
          ok: false,
          rule,
          reason:
            `${gatedChanges.join(', ')} may change only while at least ${rule.minOn} of ` +
            `${rule.assertedOrGating.join(', ')} is On, the update would leave ${on} On`,
        };
      }
    }
  }
  return { ok: true, result, changed };
}
