import { Construct } from 'constructs';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import { Route } from '@cdktf/provider-aws/lib/route/index.js';
import { VpcPeeringConnection } from '@cdktf/provider-aws/lib/vpc-peering-connection/index.js';
import { VpcPeeringConnectionAccepterA } from '@cdktf/provider-aws/lib/vpc-peering-connection-accepter/index.js';
import { VpcPeeringConnectionOptions } from '@cdktf/provider-aws/lib/vpc-peering-connection-options/index.js';
import { providerIn } from '../stacks/provider.js';

/** One side of a peering: a region's VPC and its private route tables. */
export interface PeeringSide {
  readonly region: string;
  readonly vpcId: string;
  readonly cidr: string;
  /** Private route tables (one per zone), as ids or Terraform expressions (a fixed count, so a plan needs no apply). */
  readonly routeTableIds: readonly string[];
}

export interface RegionPeeringProps {
  readonly name: string;
  /** This stack's region: requests the peering. */
  readonly requester: PeeringSide;
  /** A region applied earlier (its VPC already exists): accepts it, through resources placed in its region. */
  readonly accepter: PeeringSide;
}

/**
 * Inter-region VPC peering of two tsr VPCs in one account, so a region's senders reach another region's broker
 * over MQTT/TLS on private addresses: the requester side (`peer_region`, not auto-accepted, as inter-region
 * peering requires), the accepter side in the other region, DNS resolution of private hostnames across the
 * peering on both sides, and a route to the other VPC in every private route table of both. Lives in the stack of
 * the region applied later, the first point where both VPCs exist; destroying that stack removes it first.
 */
export class RegionPeering extends Construct {
  readonly connectionId: string;

  constructor(scope: Construct, id: string, props: RegionPeeringProps) {
    super(scope, id);
    const { requester, accepter } = props;
    const connection = new VpcPeeringConnection(this, 'requester', {
      vpcId: requester.vpcId,
      peerVpcId: accepter.vpcId,
      peerRegion: accepter.region,
      autoAccept: false,
      tags: { Name: props.name, 'tsr:peering-side': 'requester' },
    });
    const inAccepterRegion = providerIn(this, accepter.region);
    const accepted = new VpcPeeringConnectionAccepterA(this, 'accepter', {
      provider: inAccepterRegion,
      vpcPeeringConnectionId: connection.id,
      autoAccept: true,
      tags: { Name: props.name, 'tsr:peering-side': 'accepter' },
    });
    // Options and routes need an active connection: they refer to the accepter, so they follow the acceptance.
    // Inter-region options are set in each side's own region.
    new VpcPeeringConnectionOptions(this, 'requester-options', {
      vpcPeeringConnectionId: accepted.vpcPeeringConnectionId,
      requester: { allowRemoteVpcDnsResolution: true },
    });
    new VpcPeeringConnectionOptions(this, 'accepter-options', {
      provider: inAccepterRegion,
      vpcPeeringConnectionId: accepted.vpcPeeringConnectionId,
      accepter: { allowRemoteVpcDnsResolution: true },
    });
    const routes = (side: PeeringSide, other: PeeringSide, label: string, provider?: AwsProvider) => {
      side.routeTableIds.forEach((table, i) => {
        new Route(this, `${label}-route-${i}`, {
          ...(provider ? { provider } : {}),
          routeTableId: table,
          destinationCidrBlock: other.cidr,
          vpcPeeringConnectionId: accepted.vpcPeeringConnectionId,
        });
      });
    };
    routes(requester, accepter, 'requester');
    routes(accepter, requester, 'accepter', inAccepterRegion);
    this.connectionId = accepted.vpcPeeringConnectionId;
  }
}
