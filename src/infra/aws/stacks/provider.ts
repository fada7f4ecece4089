import type { Construct } from 'constructs';
import { DataTerraformRemoteStateLocal, DataTerraformRemoteStateS3, LocalBackend, S3Backend } from 'cdktf';
import type { TerraformRemoteState } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import type { TsrConfig } from '../../../config/model.js';

/** Where the stacks keep their Terraform state. */
export type StateBackend =
  | { readonly kind: 'local' }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      /** The bucket's region: the primary region. */
      readonly region: string;
      /** DynamoDB lock table; absent: S3 native locking (`use_lockfile`). */
      readonly lockTable?: string;
    };

export function stateBackendOf(config: Pick<TsrConfig, 'aws' | 'regions'>): StateBackend {
  const bucket = config.aws.stateBucket;
  if (!bucket) return { kind: 'local' };
  return { kind: 's3', bucket, region: config.regions[0], lockTable: config.aws.stateLockTable };
}

/** Object key of a stack's state in the state bucket. */
export function stateKey(environment: string, stackId: string): string {
  return `tsr/${environment}/${stackId}.tfstate`;
}

export function stateFileName(stackId: string): string {
  return `terraform.${stackId}.tfstate`;
}

/**
 * The AWS provider of a stack, with tags that mark every resource as tsr's, and its state backend: a local file
 * next to the synthesized stack (cdktf.out/stacks/<id>/) by default, or an encrypted object in the configured S3
 * bucket (`aws.stateBucket`, locked by `aws.stateLockTable` or S3 native locking) for shared use.
 */
export function configureStack(stack: Construct, stackId: string, region: string, config: TsrConfig): AwsProvider {
  const backend = stateBackendOf(config);
  if (backend.kind === 'local') {
    new LocalBackend(stack, { path: stateFileName(stackId) });
  } else {
    const s3 = new S3Backend(stack, {
      bucket: backend.bucket,
      key: stateKey(config.environment, stackId),
      region: backend.region,
      encrypt: true,
      dynamodbTable: backend.lockTable,
    });
    // cdktf 0.21 has no typed `use_lockfile` yet (terraform/tofu >= 1.10: a lock object next to the state).
    if (!backend.lockTable) s3.addOverride('use_lockfile', true);
  }
  return new AwsProvider(stack, 'aws', {
    region,
    defaultTags: [{ tags: { 'tsr:environment': config.environment, 'tsr:managed-by': 'tsr', 'tsr:stack': stackId } }],
  });
}

/**
 * Reads another stack's outputs from its state, in the same backend as this stack's. `defaults` stand in for
 * outputs of a stack that is not applied yet, so a plan works before it exists (apply order guarantees the real
 * values wherever they are needed for resources).
 */
export function remoteStackState(
  scope: Construct,
  id: string,
  stackId: string,
  config: TsrConfig,
  defaults: Record<string, unknown>,
): TerraformRemoteState {
  const backend = stateBackendOf(config);
  if (backend.kind === 'local') {
    return new DataTerraformRemoteStateLocal(scope, id, {
      path: `../${stackId}/${stateFileName(stackId)}`,
      defaults,
    });
  }
  return new DataTerraformRemoteStateS3(scope, id, {
    bucket: backend.bucket,
    key: stateKey(config.environment, stackId),
    region: backend.region,
    defaults,
  });
}
