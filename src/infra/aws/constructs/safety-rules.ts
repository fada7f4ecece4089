import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { Route53RecoverycontrolconfigSafetyRule } from '@cdktf/provider-aws/lib/route53recoverycontrolconfig-safety-rule/index.js';
import type { SafetyRuleName } from '../../../config/model.js';

export interface SafetyRulesProps {
  readonly controlPanelArn: string;
  /** Every safety rule, from deriveNames(): per app one assertion (>= 1 dns ON) and one gating rule. */
  readonly rules: readonly SafetyRuleName[];
  /** Routing-control ARN by control name. */
  readonly controlArns: Readonly<Record<string, string>>;
  readonly waitPeriodMs?: number;
  /** Created after this (the last routing control), and one rule at a time: see RoutingControls. */
  readonly after: ITerraformDependable;
}

/** ARC's evaluation period after a change to a rule's controls, during which further changes to them fail. */
export const SAFETY_RULE_WAIT_MS = 5000;

/** ARC safety rules: assertion rules keep a dns control ON per app; gating rules lock queue/app behind the gate. */
export class SafetyRules extends Construct {
  readonly arnByName: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: SafetyRulesProps) {
    super(scope, id);
    const arn = (name: string): string => {
      const value = props.controlArns[name];
      if (!value) throw new Error(`safety rule refers to unknown routing control ${name}`);
      return value;
    };
    const arns: Record<string, string> = {};
    let previous = props.after;
    for (const rule of props.rules) {
      const common = {
        dependsOn: [previous],
        name: rule.name,
        controlPanelArn: props.controlPanelArn,
        waitPeriodMs: props.waitPeriodMs ?? SAFETY_RULE_WAIT_MS,
        ruleConfig: { type: 'ATLEAST', threshold: rule.minOn, inverted: false },
      };
      const resource =
        rule.kind === 'assertion'
          ? new Route53RecoverycontrolconfigSafetyRule(this, rule.name, {
              ...common,
              assertedControls: rule.assertedOrGating.map(arn),
            })
          : new Route53RecoverycontrolconfigSafetyRule(this, rule.name, {
              ...common,
              gatingControls: rule.assertedOrGating.map(arn),
              targetControls: rule.targets.map(arn),
            });
      arns[rule.name] = resource.arn;
      previous = resource;
    }
    this.arnByName = arns;
  }
}
