import path from 'node:path';
import { Listr } from 'listr2';
import type { TsrConfig } from '../../config/model.js';
import { ExitCode, UserError } from '../../errors.js';
import { checkAwsCredentials, type CallerIdentity } from './credentials.js';
import type { AwsDeploymentOptions, AwsDeploymentResult } from './deployment-result.js';
import {
  deploymentRecordPath,
  readDeploymentRecord,
  removeDeploymentRecord,
  writeDeploymentRecord,
  type AwsDeploymentRecord,
} from './deployment-record.js';
import { DeploymentProgress } from './deployment-progress.js';
import { estimateCost } from './cost.js';
import { databaseWriterRegions } from './database-writers.js';
import { routingControlsAlreadySet, setDeployTimeRoutingStates } from './routing-controls-step.js';
import { deploymentSteps, type DeploymentStep, stackOrder } from './stack-plan.js';
import { runStack, type StackTask } from './stack-runner.js';
import { DEFAULT_OUT_DIR, synthesize } from './synth.js';
import { findTerraform } from './terraform.js';

export {
  AwsDeploymentError,
  type AwsDeploymentMode,
  type AwsDeploymentOptions,
  type AwsDeploymentResult,
  type RoutingControlsOutcome,
  type StackRunResult,
} from './deployment-result.js';

function refuseRegionChange(record: AwsDeploymentRecord | undefined, config: TsrConfig, file: string): void {
  if (!record) return;
  const same =
    record.regions.length === config.regions.length && record.regions.every((r, i) => r === config.regions[i]);
  if (same) return;
  throw new UserError(
    `environment "${config.environment}" is deployed in ${record.regions.join(', ')}, ` +
      `but this run asks for ${config.regions.join(', ')}. Changing the regions (or their order: the first is the ` +
      'primary) of a deployed environment is not supported',
    `use --regions ${record.regions.join(',')}; to move regions, destroy first ` +
      `(\`tsr destroy --target aws --regions ${record.regions.join(',')}\`) or deploy another --env (record: ${file})`,
    ExitCode.usage,
  );
}

function chooseRenderer(requested: AwsDeploymentOptions['renderer']): 'default' | 'simple' | 'silent' {
  if (requested === 'silent') return 'silent';
  if (requested === 'simple' || !process.stdout.isTTY) return 'simple';
  return 'default';
}

/**
 * Synthesizes the stacks, checks terraform/tofu and AWS credentials, then runs each stack in dependency order
 * (global, primary region, other regions; destroy in reverse): `init -input=false`, then `plan -input=false`,
 * `apply -auto-approve -input=false` or `destroy -auto-approve -input=false` in the stack's directory.
 * Stops at the first failing stack (AwsDeploymentError names it); stacks already done stay done.
 */
export async function runAwsDeployment(config: TsrConfig, options: AwsDeploymentOptions): Promise<AwsDeploymentResult> {
  const started = Date.now();
  const env = options.env ?? process.env;
  const outDir = path.resolve(options.outDir ?? DEFAULT_OUT_DIR);
  const recordFile = deploymentRecordPath(outDir, config.environment);
  const previous = readDeploymentRecord(recordFile);
  refuseRegionChange(previous, config, recordFile);
  const binary = findTerraform(env);
  const identity: CallerIdentity = await checkAwsCredentials(config.regions[0], config.aws.accountId);
  refuseAccountChange(previous, config, identity);

  const synth = synthesize(config, outDir, { image: options.image });
  const writers = options.mode === 'destroy' ? await databaseWriterRegions(config) : undefined;
  const ordered = stackOrder(synth.stacks, options.mode, writers);
  const setup = { config, options, env, identity, binary, outDir, recordFile, started, ordered };
  const progress = new DeploymentProgress(setup, previous);
  // Record the regions before the first apply: a partial apply already created resources in them.
  if (options.mode === 'apply' && !previous) writeDeploymentRecord(recordFile, progress.record);

  const tasks = new Listr(
    deploymentSteps(ordered, options.mode).map((step) => listrTask(step, progress, synth.stacks[0].dir)),
    {
      concurrent: false,
      exitOnError: true,
      renderer: chooseRenderer(options.renderer),
      fallbackRenderer: 'simple',
      rendererOptions: { collapseErrors: false },
    },
  );
  await tasks.run();

  if (options.mode === 'destroy') removeDeploymentRecord(recordFile);
  const result = progress.result();
  return options.mode === 'plan' ? { ...result, cost: estimateCost(synth) } : result;
}

function refuseAccountChange(
  previous: AwsDeploymentRecord | undefined,
  config: TsrConfig,
  identity: CallerIdentity,
): void {
  if (!previous?.account || previous.account === identity.account) return;
  throw new UserError(
    `environment "${config.environment}" was deployed to account ${previous.account}, but the credentials are for ${identity.account}`,
    'switch to a profile of the deployed account',
    ExitCode.usage,
  );
}

interface ListrStep {
  title: string;
  task: (ctx: unknown, task: StackTask) => Promise<void>;
  skip?: () => boolean | string;
}

/** One step as a progress line. */
function listrTask(step: DeploymentStep, progress: DeploymentProgress, globalStackDir: string): ListrStep {
  const verb = { apply: 'Apply', plan: 'Plan', destroy: 'Destroy' }[progress.setup.options.mode];
  switch (step.kind) {
    case 'stack':
      return {
        title: `${verb} ${step.stack.id}${step.stack.region ? '' : ' (ARC, global tables, global databases)'}`,
        task: (_ctx, task) => runStack(progress, step.stack, task),
      };
    case 'reapply':
      // Earlier regions were applied before later regions' brokers existed: apply them again for TSR_BROKER_URLS.
      return {
        title: `Apply ${step.stack.id} again with the other regions' broker endpoints`,
        skip: () =>
          progress.needsReapply(step.stack).length === 0 ? 'other regions’ broker endpoints unchanged' : false,
        task: (_ctx, task) => runStack(progress, step.stack, task, progress.needsReapply(step.stack)),
      };
    case 'routing-controls':
      return {
        title: 'Set the routing controls to their deploy-time states (first apply only)',
        skip: () => routingControlsAlreadySet(progress),
        task: (_ctx, task) => setDeployTimeRoutingStates(progress, task, globalStackDir),
      };
  }
}
