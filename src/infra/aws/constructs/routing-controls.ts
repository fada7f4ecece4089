import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { Route53RecoverycontrolconfigCluster } from '@cdktf/provider-aws/lib/route53recoverycontrolconfig-cluster/index.js';
import { Route53RecoverycontrolconfigControlPanel } from '@cdktf/provider-aws/lib/route53recoverycontrolconfig-control-panel/index.js';
import { Route53RecoverycontrolconfigRoutingControl } from '@cdktf/provider-aws/lib/route53recoverycontrolconfig-routing-control/index.js';
import type { RoutingControlName } from '../../../config/model.js';

export interface RoutingControlsProps {
  readonly clusterName: string;
  readonly controlPanelName: string;
  /** Every routing control, from deriveNames(): per app/scope/region, the per-app gates and the generator. */
  readonly controls: readonly RoutingControlName[];
}

/**
 * The Route 53 ARC cluster (five regional data-plane endpoints), one control panel, and every routing control.
 * ARC creates routing controls OFF; their initial state is set through the data plane after apply.
 */
export class RoutingControls extends Construct {
  readonly clusterArn: string;
  /**
   * Terraform expression: the cluster's data-plane endpoints as `region=url` pairs, comma-separated (each endpoint
   * must be signed for its own region).
   */
  readonly clusterEndpoints: string;
  readonly controlPanelArn: string;
  /** Routing-control ARN by control name. */
  readonly arnByName: Readonly<Record<string, string>>;
  /** The last ARC resource created: whatever else changes the control panel comes after it. */
  readonly last: ITerraformDependable;

  constructor(scope: Construct, id: string, props: RoutingControlsProps) {
    super(scope, id);
    const cluster = new Route53RecoverycontrolconfigCluster(this, 'cluster', { name: props.clusterName });
    const panel = new Route53RecoverycontrolconfigControlPanel(this, 'panel', {
      name: props.controlPanelName,
      clusterArn: cluster.arn,
    });
    const arns: Record<string, string> = {};
    // One at a time: ARC answers concurrent changes to one control panel with 409 ConflictException, which the
    // AWS provider does not retry everywhere, so a first apply creating them in parallel fails part-way.
    let previous: ITerraformDependable = panel;
    for (const control of props.controls) {
      const resource: Route53RecoverycontrolconfigRoutingControl = new Route53RecoverycontrolconfigRoutingControl(
        this,
        control.name,
        { name: control.name, clusterArn: cluster.arn, controlPanelArn: panel.arn, dependsOn: [previous] },
      );
      arns[control.name] = resource.arn;
      previous = resource;
    }
    this.last = previous;
    this.clusterArn = cluster.arn;
    this.clusterEndpoints = `\${join(",", [for e in ${cluster.fqn}.cluster_endpoints : format("%s=%s", e.region, e.endpoint)])}`;
    this.controlPanelArn = panel.arn;
    this.arnByName = arns;
  }
}
