import { Construct } from 'constructs';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';

export interface RegionalKeyProps {
  readonly alias: string;
  readonly description: string;
}

/** A customer-managed KMS key for one region's streams, broker, database and leases. */
export class RegionalKey extends Construct {
  readonly arn: string;
  readonly keyId: string;

  constructor(scope: Construct, id: string, props: RegionalKeyProps) {
    super(scope, id);
    const key = new KmsKey(this, 'key', {
      description: props.description,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
    });
    new KmsAlias(this, 'alias', { name: props.alias, targetKeyId: key.keyId });
    this.arn = key.arn;
    this.keyId = key.keyId;
  }
}
