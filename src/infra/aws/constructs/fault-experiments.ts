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
    this.templateIds = ids;
  }
}
