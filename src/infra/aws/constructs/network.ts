import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { DataAwsAvailabilityZones } from '@cdktf/provider-aws/lib/data-aws-availability-zones/index.js';
import { Eip } from '@cdktf/provider-aws/lib/eip/index.js';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway/index.js';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway/index.js';
import { Route } from '@cdktf/provider-aws/lib/route/index.js';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table/index.js';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association/index.js';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { Subnet } from '@cdktf/provider-aws/lib/subnet/index.js';
import { Vpc } from '@cdktf/provider-aws/lib/vpc/index.js';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint/index.js';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';

/** brokerConsole: the ActiveMQ web console and its Jolokia API on each Amazon MQ instance (HTTPS). */
export const PORTS = { https: 443, mqttTls: 8883, brokerConsole: 8162, postgres: 5432 } as const;

/** Interface endpoints the services need, so data-plane traffic to AWS APIs stays inside the VPC. */
export const INTERFACE_ENDPOINTS = [
  'kinesis-streams',
  'ecr.api',
  'ecr.dkr',
  'logs',
  'secretsmanager',
  'monitoring',
  'sts',
  'kms',
] as const;
export const GATEWAY_ENDPOINTS = ['dynamodb', 's3'] as const;

/** Availability zones per region (2 is the Amazon MQ active/standby and Aurora minimum): one private route table each. */
export const ZONES = 2;

export interface NetworkProps {
  readonly region: string;
  readonly name: string;
  /** This region's VPC CIDR (a /16). */
  readonly cidr: string;
  /** The VPC CIDRs of every region (this one included): the only sources allowed on the broker port. */
  readonly peerCidrs: readonly string[];
}

/**
 * The region's VPC: private subnets for tasks, broker and database; public subnets holding only the NAT gateways
 * (ARC cluster endpoints are public); gateway and interface endpoints for the AWS APIs; and security groups that
 * admit data ports only from inside tsr's VPCs, never from 0.0.0.0/0.
 */
export class Network extends Construct {
  readonly vpcId: string;
  readonly privateSubnetIds: readonly string[];
  /**
   * One per zone. Their routes are separate `aws_route` resources (never inline), so the peering routes other
   * regions' stacks add to these tables survive this stack's next apply.
   */
  readonly privateRouteTableIds: readonly string[];
  readonly servicesSecurityGroupId: string;
  readonly brokerSecurityGroupId: string;
  readonly databaseSecurityGroupId: string;
  readonly endpointsSecurityGroupId: string;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const azs = new DataAwsAvailabilityZones(this, 'zones', { state: 'available' });
    const vpc = new Vpc(this, 'vpc', {
      cidrBlock: props.cidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: props.name },
    });
    const igw = new InternetGateway(this, 'igw', { vpcId: vpc.id, tags: { Name: props.name } });
    const publicRoutes = new RouteTable(this, 'public-routes', {
      vpcId: vpc.id,
      route: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }],
      tags: { Name: `${props.name}-public` },
    });

    const { privateSubnetIds, privateRouteTableIds } = this.zones(props, vpc, igw, publicRoutes, azs);
    const { endpoints, services, broker, database } = this.securityGroups(props, vpc);
    this.interfaceAndGatewayEndpoints(props, vpc, privateSubnetIds, privateRouteTableIds, endpoints);

    this.vpcId = vpc.id;
    this.privateSubnetIds = privateSubnetIds;
    this.privateRouteTableIds = privateRouteTableIds;
    this.servicesSecurityGroupId = services.id;
    this.brokerSecurityGroupId = broker.id;
    this.databaseSecurityGroupId = database.id;
    this.endpointsSecurityGroupId = endpoints.id;
  }

  /** Per availability zone: a public subnet with a NAT gateway, and a private subnet routed through it. */
  private zones(
    props: NetworkProps,
    vpc: Vpc,
    igw: InternetGateway,
    publicRoutes: RouteTable,
    azs: DataAwsAvailabilityZones,
  ): { privateSubnetIds: string[]; privateRouteTableIds: string[] } {
    const zones = ZONES;
    const privateSubnetIds: string[] = [];
    const privateRouteTableIds: string[] = [];
    for (let i = 0; i < zones; i++) {
      const az = Fn.element(azs.names, i);
      const publicSubnet = new Subnet(this, `public-${i}`, {
        vpcId: vpc.id,
        availabilityZone: az,
        cidrBlock: Fn.cidrsubnet(props.cidr, 8, i),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${props.name}-public-${i}` },
      });
      new RouteTableAssociation(this, `public-${i}-routes`, {
        subnetId: publicSubnet.id,
        routeTableId: publicRoutes.id,
      });
      const eip = new Eip(this, `nat-${i}-ip`, { domain: 'vpc', tags: { Name: `${props.name}-nat-${i}` } });
      const nat = new NatGateway(this, `nat-${i}`, {
        subnetId: publicSubnet.id,
        allocationId: eip.allocationId,
        tags: { Name: `${props.name}-${i}` },
        dependsOn: [igw],
      });
      const privateSubnet = new Subnet(this, `private-${i}`, {
        vpcId: vpc.id,
        availabilityZone: az,
        cidrBlock: Fn.cidrsubnet(props.cidr, 4, i + 1),
        tags: { Name: `${props.name}-private-${i}` },
      });
      const routes = new RouteTable(this, `private-${i}-routes`, {
        vpcId: vpc.id,
        tags: { Name: `${props.name}-private-${i}` },
      });
      new Route(this, `private-${i}-default-route`, {
        routeTableId: routes.id,
        destinationCidrBlock: '0.0.0.0/0',
        natGatewayId: nat.id,
      });
      new RouteTableAssociation(this, `private-${i}-association`, {
        subnetId: privateSubnet.id,
        routeTableId: routes.id,
      });
      privateSubnetIds.push(privateSubnet.id);
      privateRouteTableIds.push(routes.id);
    }

    return { privateSubnetIds, privateRouteTableIds };
  }

  /** Security groups and their rules: nothing inbound to tasks; broker from tsr VPCs; database from tasks only. */
  private securityGroups(props: NetworkProps, vpc: Vpc) {
    const group = (name: string, description: string) =>
      new SecurityGroup(this, `${name}-sg`, {
        name: `${props.name}-${name}`,
        description,
        vpcId: vpc.id,
        tags: { Name: `${props.name}-${name}` },
      });
    const endpoints = group('endpoints', 'AWS API interface endpoints: HTTPS from this VPC');
    const services = group('services', 'ECS tasks: no inbound; outbound to AWS APIs, broker and database');
    const broker = group('broker', 'Amazon MQ: MQTT over TLS from tsr VPCs only');
    const database = group('database', 'Aurora PostgreSQL: from the ECS tasks only');

    new VpcSecurityGroupIngressRule(this, 'endpoints-https', {
      securityGroupId: endpoints.id,
      ipProtocol: 'tcp',
      fromPort: PORTS.https,
      toPort: PORTS.https,
      cidrIpv4: props.cidr,
      description: 'HTTPS from this VPC',
    });
    props.peerCidrs.forEach((cidr, i) => {
      new VpcSecurityGroupIngressRule(this, `broker-mqtts-${i}`, {
        securityGroupId: broker.id,
        ipProtocol: 'tcp',
        fromPort: PORTS.mqttTls,
        toPort: PORTS.mqttTls,
        cidrIpv4: cidr,
        description: `MQTT over TLS from ${cidr}`,
      });
    });
    // The inbound gateways read their sessions' pending count from their own region's broker (Jolokia).
    new VpcSecurityGroupIngressRule(this, 'broker-console', {
      securityGroupId: broker.id,
      ipProtocol: 'tcp',
      fromPort: PORTS.brokerConsole,
      toPort: PORTS.brokerConsole,
      referencedSecurityGroupId: services.id,
      description: 'ActiveMQ console API (Jolokia) from the ECS tasks of this region',
    });
    new VpcSecurityGroupEgressRule(this, 'services-broker-console', {
      securityGroupId: services.id,
      ipProtocol: 'tcp',
      fromPort: PORTS.brokerConsole,
      toPort: PORTS.brokerConsole,
      referencedSecurityGroupId: broker.id,
      description: 'ActiveMQ console API (Jolokia) of this region’s broker',
    });
    new VpcSecurityGroupIngressRule(this, 'database-postgres', {
      securityGroupId: database.id,
      ipProtocol: 'tcp',
      fromPort: PORTS.postgres,
      toPort: PORTS.postgres,
      referencedSecurityGroupId: services.id,
      description: 'PostgreSQL from the ECS tasks',
    });
    // Tasks call AWS APIs (through the endpoints) and the public ARC cluster endpoints over HTTPS.
    new VpcSecurityGroupEgressRule(this, 'services-https', {
      securityGroupId: services.id,
      ipProtocol: 'tcp',
      fromPort: PORTS.https,
      toPort: PORTS.https,
      cidrIpv4: '0.0.0.0/0',
      description: 'HTTPS to AWS APIs and ARC cluster endpoints',
    });
    props.peerCidrs.forEach((cidr, i) => {
      new VpcSecurityGroupEgressRule(this, `services-mqtts-${i}`, {
        securityGroupId: services.id,
        ipProtocol: 'tcp',
        fromPort: PORTS.mqttTls,
        toPort: PORTS.mqttTls,
        cidrIpv4: cidr,
        description: `MQTT over TLS to the broker in ${cidr}`,
      });
    });
    new VpcSecurityGroupEgressRule(this, 'services-postgres', {
      securityGroupId: services.id,
      ipProtocol: 'tcp',
      fromPort: PORTS.postgres,
      toPort: PORTS.postgres,
      referencedSecurityGroupId: database.id,
      description: 'PostgreSQL to this region’s Aurora cluster',
    });

    return { endpoints, services, broker, database };
  }

  /** AWS API endpoints inside the VPC, so tasks reach AWS without the internet. */
  private interfaceAndGatewayEndpoints(
    props: NetworkProps,
    vpc: Vpc,
    privateSubnetIds: string[],
    privateRouteTableIds: string[],
    endpoints: SecurityGroup,
  ): void {
    for (const service of GATEWAY_ENDPOINTS) {
      new VpcEndpoint(this, `endpoint-${service}`, {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: 'Gateway',
        routeTableIds: privateRouteTableIds,
        tags: { Name: `${props.name}-${service}` },
      });
    }
    for (const service of INTERFACE_ENDPOINTS) {
      new VpcEndpoint(this, `endpoint-${service.replace('.', '-')}`, {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${props.region}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds: privateSubnetIds,
        securityGroupIds: [endpoints.id],
        tags: { Name: `${props.name}-${service}` },
      });
    }
  }
}
