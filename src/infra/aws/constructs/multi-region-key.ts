import { Construct } from 'constructs';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { KmsReplicaKey } from '@cdktf/provider-aws/lib/kms-replica-key/index.js';
import { providerIn } from '../stacks/provider.js';

export interface MultiRegionKeyProps {
  /** The region holding the primary key (the provider's region). */
  readonly primaryRegion: string;
  /** Every region, the primary included; each other region gets a replica key. */
  readonly regions: readonly string[];
  readonly alias: string;
  readonly description: string;
}

/**
 * A KMS multi-region key: the primary in the primary region and a replica in every other region, so global tables
 * and replicated secrets are encrypted with a customer-managed key in each region.
 */
export class MultiRegionKey extends Construct {
  /** Key ARN per region (primary and replicas). */
  readonly arnByRegion: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: MultiRegionKeyProps) {
    super(scope, id);
    const primary = new KmsKey(this, 'primary', {
      description: props.description,
      multiRegion: true,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
    });
    new KmsAlias(this, 'alias', { name: props.alias, targetKeyId: primary.keyId });
    const arns: Record<string, string> = { [props.primaryRegion]: primary.arn };
    for (const region of props.regions) {
      if (region === props.primaryRegion) continue;
      const provider = providerIn(this, region);
      const replica = new KmsReplicaKey(this, `replica-${region}`, {
        provider,
        primaryKeyArn: primary.arn,
        description: `${props.description} (${region} replica)`,
        deletionWindowInDays: 30,
      });
      new KmsAlias(this, `alias-${region}`, { provider, name: props.alias, targetKeyId: replica.keyId });
      arns[region] = replica.arn;
    }
    this.arnByRegion = arns;
  }
}
