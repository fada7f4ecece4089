import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository/index.js';
import { EcsCluster } from '@cdktf/provider-aws/lib/ecs-cluster/index.js';
import { EcsService } from '@cdktf/provider-aws/lib/ecs-service/index.js';
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import type { AppName, StageName } from '../../../config/apps.js';
import { TASK_ARCHITECTURE } from '../naming.js';
import type { PolicyStatement } from './service-permissions.js';

/** One ECS service: a stage of an app, or the generator. */
export interface ServiceSpec {
  /** ECS service name and task family. */
  readonly name: string;
  readonly app: AppName | 'generator';
  readonly stage?: StageName;
  readonly desiredCount: number;
  readonly cpu: number;
  readonly memory: number;
  /** Plain environment (see service-environment.ts). */
  readonly environment: Readonly<Record<string, string>>;
  /** Variables injected by ECS from Secrets Manager: name → `secretArn:jsonKey::`. */
  readonly secrets: Readonly<Record<string, string>>;
  /** Secret ARNs the execution role may read (exactly those referenced in `secrets`). */
  readonly secretArns: readonly string[];
  /** Task-role statements (servicePermissions()). */
  readonly permissions: readonly PolicyStatement[];
  /**
   * Never more than one task, not even during a deployment (the old task stops before the new one starts): for a
   * service that owns one broker session per region (inbound gateways) or one generator ledger.
   */
  readonly singleTask?: boolean;
  /** A writable scratch directory (the root filesystem is read-only) mounted here, when the service needs one. */
  readonly scratchDir?: string;
}

export interface ServicesProps {
  readonly region: string;
  readonly clusterName: string;
  readonly repositoryName: string;
  /** Full image reference; default: this region's ECR repository, tag `latest`. */
  readonly image?: string;
  readonly logGroupName: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
  /** Key that encrypts the replicated secrets in this region (the execution role decrypts them). */
  readonly secretsKeyArn: string;
  readonly services: readonly ServiceSpec[];
  /** IAM role name of a service (account-wide: must differ per region). */
  readonly roleName: (service: string, purpose: 'exec' | 'task') => string;
}

const ASSUME_ECS_TASKS = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/**
 * ECS on Fargate: one cluster, one image for every service, and per service a task definition, a least-privilege
 * task role, an execution role that may read only that service's secrets, and a service in the private subnets.
 */
export class Services extends Construct {
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly repositoryUrl: string;
  /** ECS service name by service name (identity; kept for callers that look services up). */
  readonly serviceNames: readonly string[];

  constructor(scope: Construct, id: string, props: ServicesProps) {
    super(scope, id);
    const repository = new EcrRepository(this, 'repository', {
      name: props.repositoryName,
      imageTagMutability: 'MUTABLE',
      // Its images are tsr's own (pushed by `tsr image push`): destroy removes them instead of failing on them.
      forceDelete: true,
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: 'KMS' }],
    });
    const cluster = new EcsCluster(this, 'cluster', {
      name: props.clusterName,
      setting: [{ name: 'containerInsights', value: 'enabled' }],
    });
    const logs = new CloudwatchLogGroup(this, 'logs', { name: props.logGroupName, retentionInDays: 30 });
    const image = props.image ?? `${repository.repositoryUrl}:latest`;

    for (const spec of props.services) {
      const executionRole = new IamRole(this, `${spec.name}-execution`, {
        name: props.roleName(spec.name, 'exec'),
        assumeRolePolicy: ASSUME_ECS_TASKS,
      });
      const executionStatements: PolicyStatement[] = [
        // GetAuthorizationToken has no resource type.
        { Sid: 'EcrLogin', Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: ['*'] },
        {
          Sid: 'PullImage',
          Effect: 'Allow',
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
          Resource: [repository.arn],
        },
        {
          Sid: 'WriteLogs',
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: [`${logs.arn}:log-stream:*`],
        },
      ];
      if (spec.secretArns.length) {
        executionStatements.push(
          {
            Sid: 'ReadSecrets',
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue'],
            Resource: [...spec.secretArns],
          },
          { Sid: 'DecryptSecrets', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: [props.secretsKeyArn] },
        );
      }
      new IamRolePolicy(this, `${spec.name}-execution-policy`, {
        role: executionRole.id,
        name: 'execution',
        policy: JSON.stringify({ Version: '2012-10-17', Statement: executionStatements }),
      });
      const taskRole = new IamRole(this, `${spec.name}-task`, {
        name: props.roleName(spec.name, 'task'),
        assumeRolePolicy: ASSUME_ECS_TASKS,
      });
      new IamRolePolicy(this, `${spec.name}-task-policy`, {
        role: taskRole.id,
        name: 'service',
        policy: JSON.stringify({ Version: '2012-10-17', Statement: spec.permissions }),
      });

      // The image's entrypoint runs the service; TSR_APP/TSR_STAGE in the environment say which one.
      const container = {
        name: 'service',
        image,
        essential: true,
        environment: Object.entries(spec.environment).map(([name, value]) => ({ name, value })),
        secrets: Object.entries(spec.secrets).map(([name, valueFrom]) => ({ name, valueFrom })),
        readonlyRootFilesystem: true,
        ...(spec.scratchDir ? { mountPoints: [{ sourceVolume: 'scratch', containerPath: spec.scratchDir }] } : {}),
        logConfiguration: {
          logDriver: 'awslogs',
          options: {
            'awslogs-group': logs.name,
            'awslogs-region': props.region,
            'awslogs-stream-prefix': spec.name,
          },
        },
      };
      const task = new EcsTaskDefinition(this, `${spec.name}-definition`, {
        family: spec.name,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(spec.cpu),
        memory: String(spec.memory),
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: TASK_ARCHITECTURE },
        containerDefinitions: JSON.stringify([container]),
        ...(spec.scratchDir ? { volume: [{ name: 'scratch' }] } : {}),
      });
      new EcsService(this, spec.name, {
        name: spec.name,
        cluster: cluster.arn,
        taskDefinition: task.arn,
        desiredCount: spec.desiredCount,
        launchType: 'FARGATE',
        platformVersion: 'LATEST',
        propagateTags: 'SERVICE',
        enableEcsManagedTags: true,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: spec.singleTask ? 0 : 100,
        deploymentMaximumPercent: spec.singleTask ? 100 : 200,
        networkConfiguration: {
          subnets: [...props.subnetIds],
          securityGroups: [props.securityGroupId],
          assignPublicIp: false,
        },
        // Scaling and restarts happen at runtime (tsr, runbooks): do not fight them on the next apply.
        lifecycle: { ignoreChanges: ['desired_count'] },
        tags: { 'tsr:app': spec.app, ...(spec.stage ? { 'tsr:stage': spec.stage } : {}) },
      });
    }
    this.clusterArn = cluster.arn;
    this.clusterName = props.clusterName;
    this.repositoryUrl = repository.repositoryUrl;
    this.serviceNames = props.services.map((s) => s.name);
  }
}
