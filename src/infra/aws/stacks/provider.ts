import type { Construct } from 'constructs';
import {
  DataTerraformRemoteStateLocal,
  DataTerraformRemoteStateS3,
  LocalBackend,
  S3Backend,
  TerraformStack,
} from 'cdktf';
import type { TerraformRemoteState } from 'cdktf';
import { AwsProvider, type AwsProviderConfig } from '@cdktf/provider-aws/lib/provider/index.js';
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
  const defaultTags = [
    { tags: { 'tsr:environment': config.environment, 'tsr:managed-by': 'tsr', 'tsr:stack': stackId } },
  ];
  const provider = new AwsProvider(stack, 'aws', { region, defaultTags });
  // A constraint, not cdktf's exact pin of the provider it was generated from: the stacks avoid v6-only arguments
  // (resources in another region go through an aliased provider, see providerIn), so 5.100 and 6.x both apply them.
  (stack as TerraformStack).addOverride('terraform.required_providers.aws.version', AWS_PROVIDER_CONSTRAINT);
  PROVIDERS.set(stack, { home: region, defaultTags, byRegion: new Map([[region, provider]]) });
  return provider;
}

/** The AWS provider versions the synthesized stacks are written for (checked by `npm run validate:aws`). */
export const AWS_PROVIDER_CONSTRAINT = '>= 5.100.0, < 7.0.0';

const PROVIDERS = new WeakMap<
  Construct,
  { home: string; defaultTags: AwsProviderConfig['defaultTags']; byRegion: Map<string, AwsProvider> }
>();

/**
 * The provider for resources of `stack` that live in `region`: the stack's own for its region, otherwise an aliased
 * provider (`aws.<region>`) made once per stack. Provider 6 also has a per-resource `region` argument, but 5.x
 * rejects it, and an alias works with both.
 */
export function providerIn(scope: Construct, region: string): AwsProvider {
  const stack = TerraformStack.of(scope);
  const providers = PROVIDERS.get(stack);
  if (!providers) throw new Error(`stack ${stack.node.id} has no AWS provider yet (configureStack first)`);
  let provider = providers.byRegion.get(region);
  if (!provider) {
    provider = new AwsProvider(stack, `aws-${region}`, { region, alias: region, defaultTags: providers.defaultTags });
    providers.byRegion.set(region, provider);
  }
  return provider;
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
