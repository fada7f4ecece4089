import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record/index.js';
import { Route53Zone } from '@cdktf/provider-aws/lib/route53-zone/index.js';
import { Route53ZoneAssociation } from '@cdktf/provider-aws/lib/route53-zone-association/index.js';

export interface EndpointRecordsProps {
  readonly region: string;
  /** e.g. `tsr-dev.internal`: private, resolvable in every tsr VPC. */
  readonly zoneName: string;
  readonly vpcId: string;
  /** The primary region's stack creates the zone; the others associate their VPC with it (its id from its state). */
  readonly zone: { readonly create: true } | { readonly create: false; readonly id: string };
  readonly apps: readonly string[];
  /** This region's broker instances, `mqtts://host:8883` comma-separated (active first). */
  readonly brokerEndpoints: string;
  readonly brokerInstances: number;
  /** The RECOVERY_CONTROL health check of `<app>-dns-<region>`, per app. */
  readonly healthCheckId: (app: string) => string;
}

/**
 * Each app's endpoint in DNS, steered by its ARC dns routing controls: `<app>.<zone>` has one weighted CNAME per
 * region and broker instance, each carrying the health check of that region's `<app>-dns-<region>` control, so Route
 * 53 answers only with the brokers of the region(s) whose control is On (the safety rule keeps one On). The name
 * resolves inside the tsr VPCs (a private zone). Amazon MQ's certificate names the broker's own host, so a client that
 * verifies it connects to the CNAME's target name, not to `<app>.<zone>`; tsr's own senders (generator, gateways)
 * follow the controls directly and do not need the records.
 */
export class EndpointRecords extends Construct {
  readonly zoneId: string;

  constructor(scope: Construct, id: string, props: EndpointRecordsProps) {
    super(scope, id);
    if (props.zone.create) {
      const zone = new Route53Zone(this, 'zone', {
        name: props.zoneName,
        comment: 'tsr app endpoints steered by ARC routing controls',
        vpc: [{ vpcId: props.vpcId, vpcRegion: props.region }],
        forceDestroy: true,
        // Other regions' VPCs are associated from their own stacks.
        lifecycle: { ignoreChanges: ['vpc'] },
      });
      this.zoneId = zone.zoneId;
    } else {
      this.zoneId = props.zone.id;
      new Route53ZoneAssociation(this, 'association', { zoneId: this.zoneId, vpcId: props.vpcId });
    }
    const hosts = Fn.split(',', props.brokerEndpoints);
    for (const app of props.apps) {
      for (let i = 0; i < props.brokerInstances; i++) {
        new Route53Record(this, `${app}-${i + 1}`, {
          zoneId: this.zoneId,
          name: `${app}.${props.zoneName}`,
          type: 'CNAME',
          ttl: 5,
          setIdentifier: `${props.region}-${i + 1}`,
          weightedRoutingPolicy: { weight: 1 },
          healthCheckId: props.healthCheckId(app),
          records: [Fn.replace(Fn.replace(Fn.element(hosts, i), 'mqtts://', ''), ':8883', '')],
        });
      }
    }
  }
}
