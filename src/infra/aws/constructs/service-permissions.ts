import { STAGES, type AppName, type StageName } from '../../../config/apps.js';
import type { ResourceNames } from '../../../config/model.js';
import { TIME_INDEX } from '../../../config/table-schema.js';

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: readonly string[];
  readonly Resource: readonly string[];
  readonly Condition?: Record<string, Record<string, string | readonly string[]>>;
}

export interface PermissionContext {
  readonly names: ResourceNames;
  readonly region: string;
  /** Terraform expressions of the account id and partition. */
  readonly account: string;
  readonly partition: string;
  readonly controlPanelArn: string;
  /** KMS keys the task uses: the regional key (streams, leases) and this region's copy of the global key (tables). */
  readonly regionalKeyArn: string;
  readonly globalKeyArn: string;
  /** The generator's ledger table (src/clients/generator-ledger.ts). */
  readonly generatorLedger: string;
}

const STREAM_READ = [
  'kinesis:DescribeStreamSummary',
  'kinesis:ListShards',
  'kinesis:GetShardIterator',
  'kinesis:GetRecords',
];
const STREAM_WRITE = ['kinesis:DescribeStreamSummary', 'kinesis:PutRecord', 'kinesis:PutRecords'];
const TABLE_READ_WRITE = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:Query',
];
const LEASES = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'];
const ROUTING_READ = [
  'route53-recovery-cluster:GetRoutingControlState',
  'route53-recovery-cluster:ListRoutingControls',
];

/**
 * The task-role statements of one service: read its input stream, write the next stage's stream, its own safe
 * store and the leases, read the routing controls, and publish metrics in the `tsr` namespace. No `*` action; every
 * data resource is named.
 */
export function servicePermissions(
  app: AppName | 'generator',
  stage: StageName | undefined,
  ctx: PermissionContext,
): PolicyStatement[] {
  const streamArn = (name: string) => `arn:${ctx.partition}:kinesis:${ctx.region}:${ctx.account}:stream/${name}`;
  const tableArn = (name: string) => `arn:${ctx.partition}:dynamodb:${ctx.region}:${ctx.account}:table/${name}`;
  const streamOf = (s: StageName) => {
    const stream = ctx.names.streams.find((x) => x.app === app && x.stage === s);
    if (!stream) throw new Error(`no stream feeds ${app}/${s}`);
    return stream.name;
  };
  const statements: PolicyStatement[] = [
    {
      Sid: 'ReadRoutingControls',
      Effect: 'Allow',
      Action: ROUTING_READ,
      Resource: [ctx.controlPanelArn, `${ctx.controlPanelArn}/routingcontrol/*`],
    },
    {
      Sid: 'PublishMetrics',
      Effect: 'Allow',
      Action: ['cloudwatch:PutMetricData'],
      // PutMetricData has no resource type; the namespace condition scopes it.
      Resource: ['*'],
      Condition: { StringEquals: { 'cloudwatch:namespace': 'tsr' } },
    },
  ];
  if (app === 'generator') {
    // Its ledger, its status and the rate it polls: read the settings item, write batches; nothing else.
    statements.push(
      {
        Sid: 'GeneratorLedger',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
        Resource: [tableArn(ctx.generatorLedger)],
      },
      {
        Sid: 'UseDataKeys',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        Resource: [ctx.globalKeyArn],
      },
    );
    return statements;
  }
  if (!stage) return statements;

  const index = STAGES.indexOf(stage);
  const next = STAGES[index + 1];
  const keys: string[] = [ctx.globalKeyArn];
  if (index > 0) {
    statements.push({
      Sid: 'ReadInputStream',
      Effect: 'Allow',
      Action: STREAM_READ,
      Resource: [streamArn(streamOf(stage))],
    });
    const leases = ctx.names.tables.find((t) => t.purpose === 'leases');
    if (leases) {
      statements.push({ Sid: 'ShardLeases', Effect: 'Allow', Action: LEASES, Resource: [tableArn(leases.name)] });
    }
    keys.push(ctx.regionalKeyArn);
  }
  if (next) {
    statements.push({
      Sid: 'WriteNextStream',
      Effect: 'Allow',
      Action: STREAM_WRITE,
      Resource: [streamArn(streamOf(next))],
    });
    if (!keys.includes(ctx.regionalKeyArn)) keys.push(ctx.regionalKeyArn);
  }
  const store = ctx.names.tables.find((t) => t.purpose === 'safe-store' && t.app === app && t.stage === stage);
  if (store) {
    statements.push({
      Sid: 'SafeStore',
      Effect: 'Allow',
      Action: TABLE_READ_WRITE,
      Resource: [tableArn(store.name), `${tableArn(store.name)}/index/${TIME_INDEX.name}`],
    });
  }
  statements.push({
    Sid: 'UseDataKeys',
    Effect: 'Allow',
    Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
    Resource: keys,
  });
  return statements;
}
