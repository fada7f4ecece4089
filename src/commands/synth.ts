import { Flags } from '@oclif/core';
import { TsrCommand } from '../lib/base-command.js';
import { DEFAULT_OUT_DIR, synthesize, type SynthResult } from '../infra/aws/synth.js';

export default class Synth extends TsrCommand<typeof Synth> {
  static override summary = 'Write the AWS infrastructure as Terraform JSON (offline)';
  static override description =
    'Synthesizes one global stack (Route 53 ARC cluster, routing controls and safety rules, DynamoDB global tables, ' +
    'Aurora global databases) and one stack per region (VPC, Amazon MQ, Kinesis, ECS services, regional Aurora ' +
    'clusters, alarms) into --out. Needs neither terraform nor AWS credentials; review the result, then apply it ' +
    'with `tsr deploy --target aws`.';
  static override examples = [
    '<%= config.bin %> synth --regions us-east-1,us-west-2',
    '<%= config.bin %> synth --regions eu-west-1,eu-central-1,eu-north-1 --out build/cdktf --json',
  ];
  static override flags = {
    out: Flags.string({ description: 'output directory', default: DEFAULT_OUT_DIR, env: 'TSR_CDKTF_OUT' }),
    image: Flags.string({
      description: 'services image for every ECS task [default: each region’s ECR repository, tag latest]',
      env: 'TSR_SERVICES_IMAGE',
    }),
  };

  async run(): Promise<SynthResult> {
    const config = this.loadConfig();
    const result = synthesize(config, this.flags.out, { image: this.flags.image });
    if (!this.jsonEnabled()) {
      const width = Math.max(...result.stacks.map((s) => s.id.length));
      this.log(
        `Synthesized ${result.stacks.length} stacks for "${result.environment}" (${result.regions.join(', ')}) in ${(result.durationMs / 1000).toFixed(1)} s:`,
      );
      for (const stack of result.stacks) {
        const after = stack.dependsOn.length ? `  after ${stack.dependsOn.join(', ')}` : '';
        this.log(`  ${stack.id.padEnd(width)}  ${String(stack.resourceCount).padStart(4)} resources${after}`);
      }
      this.log(`  ${'total'.padEnd(width)}  ${String(result.resourceCount).padStart(4)} resources`);
      this.log(`Terraform JSON: ${result.outDir}/stacks/<stack>/cdk.tf.json`);
      this.log(`Terraform state: ${result.state.location}`);
      for (const note of result.notes) this.log(`Note: ${note}`);
    }
    return result;
  }
}
