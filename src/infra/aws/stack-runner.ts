/**
 * Running one stack: its terraform steps in its directory (progress on the task line, full output in its log), then,
 * after an apply, its outputs; the result and the deployment record are updated whatever happens.
 */
import type { DefaultRenderer, ListrTaskWrapper, SimpleRenderer } from 'listr2';
import { ExitCode, UserError } from '../../errors.js';
import { AwsDeploymentError, type StackRunResult } from './deployment-result.js';
import { parseGlobalOutputs, parseRegionalOutputs, type DeployedRegion } from './deployment-record.js';
import type { DeploymentProgress } from './deployment-progress.js';
import { addChanges, logFileOf, planChanges, terraformSteps, type PlanChanges } from './stack-plan.js';
import type { SynthesizedStack } from './synth.js';
import { runTerraform } from './terraform.js';

// The renderers runAwsDeployment's Listr may use (it picks one at run time).
export type StackTask = ListrTaskWrapper<
  unknown,
  typeof DefaultRenderer | typeof SimpleRenderer,
  typeof SimpleRenderer
>;

/** Runs a stack (again, with `reapplyFor`: the regions whose brokers it had not seen as they are now). */
export async function runStack(
  progress: DeploymentProgress,
  stack: SynthesizedStack,
  task: StackTask,
  reapplyFor?: readonly string[],
): Promise<void> {
  const { mode } = progress.setup.options;
  const stackStarted = Date.now();
  const earlier = progress.stackResult(stack.id);
  if (mode === 'apply' && stack.region && !reapplyFor) progress.rememberBrokersSeen(stack);
  const changes = await runSteps(progress, stack, task, stackStarted);
  const regionOutputs = mode === 'apply' ? await readOutputs(progress, stack) : undefined;
  const status = mode === 'apply' ? 'applied' : mode === 'plan' ? 'planned' : ('destroyed' as const);
  progress.setStackResult(stack.id, {
    ...earlier,
    status,
    durationMs: Date.now() - stackStarted + (reapplyFor ? (earlier.durationMs ?? 0) : 0),
    changes: reapplyFor && earlier.changes && changes ? addChanges(earlier.changes, changes) : changes,
    ...(reapplyFor ? { reappliedFor: reapplyFor } : {}),
  });
  if (status !== 'planned') {
    progress.saveStack(stack.id, status, stack.kind === 'global' ? progress.globalOutputs : undefined, regionOutputs);
  }
  task.title = `${stack.id}: ${status}${changes ? ` (+${changes.add} ~${changes.change} -${changes.destroy})` : ''}`;
}

/** init, then plan/apply/destroy; the first failure (or an interrupt) marks the stack failed and throws. */
async function runSteps(
  progress: DeploymentProgress,
  stack: SynthesizedStack,
  task: StackTask,
  stackStarted: number,
): Promise<PlanChanges | undefined> {
  const { binary, env, options } = progress.setup;
  const failed = (result: Partial<StackRunResult>) => {
    progress.setStackResult(stack.id, { ...progress.stackResult(stack.id), status: 'failed', ...result });
    if (options.mode !== 'plan') progress.saveStack(stack.id, 'failed');
  };
  let changes: PlanChanges | undefined;
  for (const step of terraformSteps(options.mode)) {
    task.output = `${binary.name} ${step.args.join(' ')}`;
    const outcome = await runTerraform(binary, {
      args: step.args,
      cwd: stack.dir,
      logFile: logFileOf(stack, options.mode),
      signal: options.signal,
      env,
      onLine: (line) => (task.output = line),
    });
    changes = planChanges(outcome.stdout) ?? changes;
    if (outcome.interrupted) {
      failed({ error: 'interrupted' });
      throw new UserError(
        `interrupted while running terraform ${step.name} on stack ${stack.id}`,
        'run the same command again to continue; terraform keeps the state of what it finished',
        ExitCode.interrupted,
      );
    }
    if (outcome.code !== 0) {
      failed({ durationMs: Date.now() - stackStarted, error: outcome.tail });
      throw new AwsDeploymentError(stack.id, step.name, outcome.tail || `exit code ${outcome.code}`, progress.result());
    }
  }
  return changes;
}

/**
 * Outputs tell the AWS platform where ARC, brokers and databases are; the apply succeeded either way, so unreadable
 * outputs keep what the record had. The global stack's go to `progress.globalOutputs`, a region's are returned.
 */
async function readOutputs(
  progress: DeploymentProgress,
  stack: SynthesizedStack,
): Promise<[string, DeployedRegion] | undefined> {
  const { binary, env, options } = progress.setup;
  const outputs = await runTerraform(binary, {
    args: ['output', '-json'],
    cwd: stack.dir,
    logFile: logFileOf(stack, options.mode),
    signal: options.signal,
    env,
  });
  if (outputs.code !== 0) return undefined;
  try {
    if (stack.kind === 'global') progress.globalOutputs = parseGlobalOutputs(outputs.stdout);
    else if (stack.region) return [stack.region, parseRegionalOutputs(outputs.stdout)];
  } catch {
    // unreadable outputs: keep what the record had
  }
  return undefined;
}
