import { Flags } from '@oclif/core';
import { TsrCommand } from '../lib/base-command.js';
import { targetDriver, type DeployOutput } from '../lib/targets.js';

export type { DeployOutput };

export default class Deploy extends TsrCommand<typeof Deploy> {
  static override summary = 'Stand up the two-region platform (local engines by default, or AWS)';
  static override description = `Target local (the default) starts, per region, PostgreSQL with logical replication from the primary, Kinesis (kinesalite) with every stream, DynamoDB (dynalite) with every table plus a replication link that makes the global tables global, an MQTT broker, and one Route 53 ARC cluster with every routing control (primary ON) and the safety rules. Everything binds 127.0.0.1 and runs detached under a control process; state and logs live in the workspace (./.tsr). Deploying again is harmless.

Target aws synthesizes the CDKTF stacks and applies them with terraform or tofu (use --plan to review first).`;
  static override examples = [
    '<%= config.bin %> deploy',
    '<%= config.bin %> deploy --regions us-east-1,us-west-2 --workspace /tmp/tsr',
    '<%= config.bin %> deploy --target aws --regions us-east-1,us-west-2 --plan',
  ];
  static override flags = {
    plan: Flags.boolean({ description: 'aws target: show the changes without applying them' }),
    image: Flags.string({
      description: 'aws target: services image for every ECS task [default: each region’s ECR repository, tag latest]',
      env: 'TSR_SERVICES_IMAGE',
    }),
    'base-port': Flags.integer({
      description: 'local target: first of a range of consecutive ports to use (default: any free ports)',
      env: 'TSR_BASE_PORT',
    }),
  };

  async run(): Promise<DeployOutput> {
    const config = this.loadConfig();
    return targetDriver(config.target).deploy(
      config,
      { plan: this.flags.plan, image: this.flags.image, basePort: this.flags['base-port'] },
      {
        json: this.jsonEnabled(),
        log: (text) => this.log(text),
        logToStderr: (text) => this.logToStderr(text),
        withContext: (text) => this.withContext(text),
      },
    );
  }
}
