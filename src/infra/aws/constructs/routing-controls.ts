import { Construct } from 'constructs';
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

  constructor(scope: Construct, id: string, props: RoutingControlsProps) {
    super(scope, id);
    const cluster = new Route53RecoverycontrolconfigCluster(this, 'cluster', { name: props.clusterName });
    const panel = new Route53RecoverycontrolconfigControlPanel(this, 'panel', {
      name: props.controlPanelName,
      clusterArn: cluster.arn,
    });
    const arns: Record<string, string> = {};
    for (const control of props.controls) {
      const resource = new Route53RecoverycontrolconfigRoutingControl(this, control.name, {
        name: control.name,
        clusterArn: cluster.arn,
        controlPanelArn: panel.arn,
      });
      arns[control.name] = resource.arn;
    }
    this.clusterArn = cluster.arn;
    this.clusterEndpoints = `\${join(",", [for e in ${cluster.fqn}.cluster_endpoints : format("%s=%s", e.region, e.endpoint)])}`;
    this.controlPanelArn = panel.arn;
    this.arnByName = arns;
  }
}
