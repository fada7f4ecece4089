import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { DataAwsSecretsmanagerRandomPassword } from '@cdktf/provider-aws/lib/data-aws-secretsmanager-random-password/index.js';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret/index.js';
import { SecretsmanagerSecretVersion } from '@cdktf/provider-aws/lib/secretsmanager-secret-version/index.js';

export interface ReplicatedSecretProps {
  readonly name: string;
  readonly description: string;
  readonly username: string;
  readonly primaryRegion: string;
  readonly regions: readonly string[];
  readonly kmsKeyArnByRegion: Readonly<Record<string, string>>;
}

/**
 * A `{"username","password"}` credential in Secrets Manager, generated once (Secrets Manager's random password,
 * letters and digits only so brokers and PostgreSQL accept it) and replicated to every region, so ECS tasks in any
 * region read it locally through the task definition's `secrets`.
 */
export class ReplicatedSecret extends Construct {
  /** ARN in the primary region; a replica's ARN differs only in the region. */
  readonly arn: string;
  readonly name: string;
  /** Terraform expression of the password (sensitive). */
  readonly password: string;

  constructor(scope: Construct, id: string, props: ReplicatedSecretProps) {
    super(scope, id);
    const generated = new DataAwsSecretsmanagerRandomPassword(this, 'generated', {
      passwordLength: 32,
      excludePunctuation: true,
      includeSpace: false,
    });
    const secret = new SecretsmanagerSecret(this, 'secret', {
      name: props.name,
      description: props.description,
      kmsKeyId: props.kmsKeyArnByRegion[props.primaryRegion],
      // Deleted at once: a recovery window keeps the name taken, so a redeploy after destroy would fail on it.
      // The values are generated and live in the databases and brokers they open.
      recoveryWindowInDays: 0,
      replica: props.regions
        .filter((region) => region !== props.primaryRegion)
        .map((region) => ({ region, kmsKeyId: props.kmsKeyArnByRegion[region] })),
    });
    const version = new SecretsmanagerSecretVersion(this, 'value', {
      secretId: secret.id,
      secretString: Fn.jsonencode({ username: props.username, password: generated.randomPassword }),
      // The data source yields a new password on every plan: keep the first one (rotation is a separate step).
      lifecycle: { ignoreChanges: ['secret_string'] },
    });
    this.arn = secret.arn;
    this.name = props.name;
    this.password = Fn.lookup(Fn.jsondecode(version.secretString), 'password', '');
  }
}

/** The ARN of a replicated secret's copy in `region`. */
export function secretArnIn(primaryArn: string, primaryRegion: string, region: string): string {
  return region === primaryRegion ? primaryArn : Fn.replace(primaryArn, `:${primaryRegion}:`, `:${region}:`);
}
