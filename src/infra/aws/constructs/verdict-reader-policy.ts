import { Construct } from 'constructs';
import { IamPolicy } from '@cdktf/provider-aws/lib/iam-policy/index.js';
import { secretArnIn } from './replicated-secret.js';
import type { PolicyStatement } from './service-permissions.js';

export interface VerdictReaderProps {
  readonly name: string;
  /** Terraform expressions of the account id and partition. */
  readonly account: string;
  readonly partition: string;
  readonly primaryRegion: string;
  readonly regions: readonly string[];
  /** Every app's global cluster, and its regional cluster identifier per region. */
  readonly databases: readonly { readonly globalCluster: string; regionalCluster(region: string): string }[];
  /** The core databases' master secrets in the primary region (each replicated to every region). */
  readonly secretArns: readonly string[];
  /** The key the secrets are encrypted with, per region. */
  readonly keyArnByRegion: Readonly<Record<string, string>>;
}

const DATA_API = [
  'rds-data:ExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:RollbackTransaction',
];

/**
 * What the verdict needs to read the core databases through the RDS Data API, and nothing more: find each global
 * database's writer, run statements in transactions on the core clusters, and open their master secrets (Secrets
 * Manager decrypts them with the global key on the caller's behalf, hence kms:Decrypt only through it).
 */
export function verdictReaderStatements(props: VerdictReaderProps): PolicyStatement[] {
  const { account, partition } = props;
  const clusters = props.databases.flatMap((d) =>
    props.regions.map((r) => `arn:${partition}:rds:${r}:${account}:cluster:${d.regionalCluster(r)}`),
  );
  return [
    {
      Sid: 'FindWriters',
      Effect: 'Allow',
      Action: ['rds:DescribeGlobalClusters', 'rds:DescribeDBClusters'],
      Resource: [
        ...props.databases.map((d) => `arn:${partition}:rds::${account}:global-cluster:${d.globalCluster}`),
        ...clusters,
      ],
    },
    { Sid: 'ReadThroughDataApi', Effect: 'Allow', Action: DATA_API, Resource: clusters },
    {
      Sid: 'OpenDatabaseSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: props.secretArns.flatMap((arn) => props.regions.map((r) => secretArnIn(arn, props.primaryRegion, r))),
    },
    {
      Sid: 'DecryptDatabaseSecrets',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: props.regions.map((r) => props.keyArnByRegion[r]),
      Condition: { StringEquals: { 'kms:ViaService': props.regions.map((r) => `secretsmanager.${r}.amazonaws.com`) } },
    },
  ];
}

/**
 * The IAM managed policy an operator attaches to the credentials that run `tsr verify` and game days on AWS
 * (docs/gamedays.md#on-aws). Made once for the environment: IAM is account-wide.
 */
export class VerdictReaderPolicy extends Construct {
  readonly arn: string;

  constructor(scope: Construct, id: string, props: VerdictReaderProps) {
    super(scope, id);
    const policy = new IamPolicy(this, 'policy', {
      name: props.name,
      description: 'tsr verdict: read the core databases through the RDS Data API',
      policy: JSON.stringify({ Version: '2012-10-17', Statement: verdictReaderStatements(props) }),
    });
    this.arn = policy.arn;
  }
}
