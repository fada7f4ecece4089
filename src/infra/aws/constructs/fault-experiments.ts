import { Construct } from 'constructs';
import { FisExperimentTemplate } from '@cdktf/provider-aws/lib/fis-experiment-template/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import type { PolicyStatement } from './service-permissions.js';

export interface FaultExperimentsProps {
  /** e.g. `tsr-dev`: prefixes each template's Name tag. */
  readonly prefix: string;
  readonly region: string;
  readonly account: string;
  readonly partition: string;
  /** IAM role name, unique in the account (region-qualified). */
  readonly roleName: string;
  readonly ecsClusterName: string;
  readonly ecsClusterArn: string;
  /** Per app: the ECS service of its core stage. */
  readonly coreServices: Readonly<Record<string, string>>;
  /** Per app: this region's Aurora cluster of its core database (identifier and ARN). */
  readonly databaseClusters: Readonly<Record<string, { readonly identifier: string; readonly arn: string }>>;
  /** This region's VPC and the private subnets the services run in (the partition swaps their route tables). */
  readonly vpcId: string;
  readonly privateSubnetIds: readonly string[];
  /** The regions this one is cut from in a partition. */
  readonly otherRegions: readonly string[];
}

/** FIS's action that cuts a region's subnets from another region (route tables swapped for ones without it). */
export const PARTITION_ACTION = 'aws:network:route-table-disrupt-cross-region-connectivity';
/** How long a partition holds at most if nothing stops it (a game day stops it at its undo; FIS allows 12 h). */
export const PARTITION_MAX_DURATION = 'PT1H';

/** The Name tag of a region's partition template: tsr finds the template by it to start and stop the experiment. */
export function partitionTemplateName(prefix: string): string {
  return `${prefix}-partition`;
}

/**
 * AWS Fault Injection Service experiment templates for the faults FIS offers on this platform, with a role that can
 * do only those: stop every task of an app's core service (ECS starts replacements: a crash of the matching engine),
 * and fail an app's Aurora cluster over to a reader instance in its region (the writer crashes; run it in the region
 * holding the writer — a secondary cluster of a global database has no writer to fail over). Start one with
 * `aws fis start-experiment --experiment-template-id <id>` (ids in the `fis_experiment_templates` output).
 */
export class FaultExperiments extends Construct {
  readonly templateIds: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: FaultExperimentsProps) {
    super(scope, id);
    const role = new IamRole(this, 'role', {
      name: props.roleName,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'fis.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': props.account } },
          },
        ],
      }),
    });
    const statements: PolicyStatement[] = [
      {
        Sid: 'FindTasksOfThisCluster',
        Effect: 'Allow',
        Action: ['ecs:ListTasks'],
        Resource: [
          `arn:${props.partition}:ecs:${props.region}:${props.account}:container-instance/${props.ecsClusterName}/*`,
        ],
        Condition: { ArnEquals: { 'ecs:cluster': props.ecsClusterArn } },
      },
      {
        Sid: 'StopTasksOfThisCluster',
        Effect: 'Allow',
        Action: ['ecs:DescribeTasks', 'ecs:StopTask'],
        Resource: [`arn:${props.partition}:ecs:${props.region}:${props.account}:task/${props.ecsClusterName}/*`],
      },
      {
        Sid: 'FailOverTheCoreClusters',
        Effect: 'Allow',
        Action: ['rds:DescribeDBClusters', 'rds:FailoverDBCluster'],
        Resource: Object.values(props.databaseClusters).map((c) => c.arn),
      },
      ...partitionStatements(props),
    ];
    new IamRolePolicy(this, 'policy', {
      role: role.id,
      name: 'fault-experiments',
      policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    });

    const ids: Record<string, string> = {};
    const stopCondition = [{ source: 'none' }];
    for (const [app, service] of Object.entries(props.coreServices)) {
      const name = `${props.prefix}-${app}-core-tasks-stop`;
      const template = new FisExperimentTemplate(this, `${app}-core-tasks-stop`, {
        description: `Stop every task of ${service} in ${props.region} (ECS replaces them)`,
        roleArn: role.arn,
        stopCondition,
        target: [
          {
            name: 'core-tasks',
            resourceType: 'aws:ecs:task',
            selectionMode: 'ALL',
            parameters: { cluster: props.ecsClusterName, service },
          },
        ],
        action: [{ name: 'stop-tasks', actionId: 'aws:ecs:stop-task', target: { key: 'Tasks', value: 'core-tasks' } }],
        tags: { Name: name },
      });
      ids[name] = template.id;
    }
    for (const [app, cluster] of Object.entries(props.databaseClusters)) {
      const name = `${props.prefix}-${app}-db-writer-failover`;
      const template = new FisExperimentTemplate(this, `${app}-db-writer-failover`, {
        description: `Fail ${cluster.identifier} over to a reader instance (run in the writer's region)`,
        roleArn: role.arn,
        stopCondition,
        target: [
          {
            name: 'writer-cluster',
            resourceType: 'aws:rds:cluster',
            selectionMode: 'ALL',
            resourceArns: [cluster.arn],
          },
        ],
        action: [
          {
            name: 'failover',
            actionId: 'aws:rds:failover-db-cluster',
            target: { key: 'Clusters', value: 'writer-cluster' },
          },
        ],
        tags: { Name: name },
      });
      ids[name] = template.id;
    }
    if (props.otherRegions.length > 0) {
      const name = partitionTemplateName(props.prefix);
      const template = new FisExperimentTemplate(this, 'partition', {
        description: `Cut ${props.region}'s private subnets from ${props.otherRegions.join(', ')} (start one in every region for a two-way partition)`,
        roleArn: role.arn,
        stopCondition,
        target: [
          {
            name: 'private-subnets',
            resourceType: 'aws:ec2:subnet',
            selectionMode: 'ALL',
            resourceArns: props.privateSubnetIds.map(
              (id) => `arn:${props.partition}:ec2:${props.region}:${props.account}:subnet/${id}`,
            ),
          },
        ],
        action: props.otherRegions.map((other) => ({
          name: `isolate-from-${other}`,
          actionId: PARTITION_ACTION,
          parameter: [
            { key: 'region', value: other },
            { key: 'duration', value: PARTITION_MAX_DURATION },
          ],
          target: { key: 'Subnets', value: 'private-subnets' },
        })),
        tags: { Name: name },
      });
      ids[name] = template.id;
    }
    this.templateIds = ids;
  }
}

/**
 * What FIS needs for the cross-Region route-table action, and no more: read the network (EC2 describe calls have no
 * resource-level permissions), swap the route tables of this VPC's subnets, and create, change and delete only the
 * route tables and prefix lists it tags `managedByFIS` (https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html).
 */
function partitionStatements(props: FaultExperimentsProps): PolicyStatement[] {
  if (props.otherRegions.length === 0) return [];
  const arn = (type: string) => `arn:${props.partition}:ec2:${props.region}:${props.account}:${type}`;
  const vpcArn = arn(`vpc/${props.vpcId}`);
  const managed = { StringEquals: { 'aws:ResourceTag/managedByFIS': 'true' } };
  return [
    {
      Sid: 'PartitionReadTheNetwork',
      Effect: 'Allow',
      Action: [
        'ec2:DescribeManagedPrefixLists',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeRouteTables',
        'ec2:DescribeSubnets',
        'ec2:DescribeVpcPeeringConnections',
        'ec2:DescribeVpcs',
        'ec2:GetManagedPrefixListEntries',
      ],
      Resource: ['*'],
    },
    {
      Sid: 'PartitionSwapRouteTablesOfThisVpc',
      Effect: 'Allow',
      Action: [
        'ec2:AssociateRouteTable',
        'ec2:DisassociateRouteTable',
        'ec2:ReplaceRouteTableAssociation',
        'ec2:CreateRoute',
      ],
      Resource: [arn('route-table/*'), arn('subnet/*')],
      Condition: { ArnEquals: { 'ec2:Vpc': vpcArn } },
    },
    {
      Sid: 'PartitionCreateRouteTablesInThisVpc',
      Effect: 'Allow',
      Action: ['ec2:CreateRouteTable'],
      Resource: [vpcArn],
    },
    {
      Sid: 'PartitionCreateOnlyTaggedCopies',
      Effect: 'Allow',
      Action: ['ec2:CreateRouteTable', 'ec2:CreateManagedPrefixList'],
      Resource: [arn('route-table/*'), arn('prefix-list/*')],
      Condition: { StringEquals: { 'aws:RequestTag/managedByFIS': 'true' } },
    },
    {
      Sid: 'PartitionTagWhatItCreates',
      Effect: 'Allow',
      Action: ['ec2:CreateTags'],
      Resource: [arn('route-table/*'), arn('prefix-list/*')],
      Condition: { StringEquals: { 'ec2:CreateAction': ['CreateRouteTable', 'CreateManagedPrefixList'] } },
    },
    {
      Sid: 'PartitionCleanUpOnlyItsOwn',
      Effect: 'Allow',
      Action: ['ec2:DeleteRouteTable', 'ec2:DeleteManagedPrefixList', 'ec2:ModifyManagedPrefixList'],
      Resource: [arn('route-table/*'), arn('prefix-list/*')],
      Condition: managed,
    },
  ];
}
