/** The last step of a first apply: set the routing controls (created OFF) to their deploy-time states. */
import { deriveNames } from '../../config/model.js';
import { UserError } from '../../errors.js';
import { ArcRoutingControls } from '../../clients/arc-routing-controls.js';
import { withDeployedArns } from './deployment-record.js';
import type { DeploymentProgress } from './deployment-progress.js';
import { initialiseRoutingControls } from './initial-routing.js';
import type { StackTask } from './stack-runner.js';

/** Whether an earlier run already set them (a run interrupted while setting them resumes). */
export function routingControlsAlreadySet(progress: DeploymentProgress): string | false {
  const { routingControls } = progress.record;
  return routingControls && routingControls.status !== 'initializing'
    ? `routing controls already set (${routingControls.status} ${routingControls.at})`
    : false;
}

export async function setDeployTimeRoutingStates(
  progress: DeploymentProgress,
  task: StackTask,
  globalStackDir: string,
): Promise<void> {
  const { config, options } = progress.setup;
  const deployed = progress.globalOutputs;
  const names = withDeployedArns(deriveNames(config), { global: deployed });
  const unknown = names.routingControls.filter((c) => !deployed?.routingControlArns[c.name]).map((c) => c.name);
  if (!deployed?.arcEndpoints.length || unknown.length) {
    throw new UserError(
      'the stacks are applied, but the global stack outputs lack ' +
        (deployed?.arcEndpoints.length ? `the ARNs of ${unknown.join(', ')}` : 'the ARC cluster endpoints') +
        ', so the routing controls (created OFF) could not be set to their deploy-time states',
      `run the same command again; check \`terraform output\` in ${globalStackDir}`,
    );
  }
  const primary = config.regions[0];
  const controls = new ArcRoutingControls({
    endpoints: deployed.arcEndpoints.map((e) => ({ url: e.url, region: e.region || primary })),
    names,
  });
  try {
    const outcome = await initialiseRoutingControls(controls, names, primary, {
      settleMs: options.routingSettleMs,
      resume: progress.record.routingControls?.status === 'initializing',
      onStart: () =>
        progress.saveRecord({
          ...progress.record,
          routingControls: { status: 'initializing', at: new Date().toISOString() },
        }),
      onBatch: (batch, index) => (task.output = `step ${index + 1}: ${batch.purpose}`),
    });
    progress.saveRecord({
      ...progress.record,
      routingControls: { status: outcome.action, at: new Date().toISOString() },
      updatedAt: new Date().toISOString(),
    });
    progress.routingControls = outcome;
    task.title =
      outcome.action === 'initialized'
        ? `Routing controls set: ${primary} ON, other regions, gates and generator OFF`
        : 'Routing controls left as they are: some were already ON (set outside this deployment record)';
  } finally {
    await controls.close();
  }
}
