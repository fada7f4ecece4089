import { Construct } from 'constructs';
import { Route53HealthCheck } from '@cdktf/provider-aws/lib/route53-health-check/index.js';
import type { RoutingControlName } from '../../../config/model.js';

export interface DnsHealthChecksProps {
  /** The `<app>-dns-<region>` controls. */
  readonly controls: readonly RoutingControlName[];
  readonly controlArns: Readonly<Record<string, string>>;
}

/** One Route 53 RECOVERY_CONTROL health check per dns routing control, for DNS failover records to follow. */
export class DnsHealthChecks extends Construct {
  readonly idByControl: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: DnsHealthChecksProps) {
    super(scope, id);
    const ids: Record<string, string> = {};
    for (const control of props.controls) {
      const check = new Route53HealthCheck(this, control.name, {
        type: 'RECOVERY_CONTROL',
        routingControlArn: props.controlArns[control.name],
        tags: { Name: control.name },
      });
      ids[control.name] = check.id;
    }
    this.idByControl = ids;
  }
}
