import type { Construct } from 'constructs';
import { LocalBackend } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';

/** The AWS provider of a stack, with tags that mark every resource as tsr's, and a local state file. */
export function configureStack(stack: Construct, stackId: string, region: string, environment: string): AwsProvider {
  // State lives next to the synthesized stack (cdktf.out/stacks/<id>/): keep the out dir, or move to a remote
  // backend (S3) for shared use; regional stacks read the global stack's outputs from this path.
  new LocalBackend(stack, { path: stateFileName(stackId) });
  return new AwsProvider(stack, 'aws', {
    region,
    defaultTags: [{ tags: { 'tsr:environment': environment, 'tsr:managed-by': 'tsr', 'tsr:stack': stackId } }],
  });
}

export function stateFileName(stackId: string): string {
  return `terraform.${stackId}.tfstate`;
}
