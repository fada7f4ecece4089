import { Flags } from '@oclif/core';
import { ExitCode, UserError } from '../errors.js';
import { TsrCommand } from '../lib/base-command.js';
import { confirmDestructive } from '../lib/confirm.js';
import { destroyLocal, type LocalDestroyResult } from '../infra/local/destroy.js';

export default class Destroy extends TsrCommand<typeof Destroy> {
  static override summary = 'Stop and remove the platform (local processes, or the AWS stacks)';
  static override description =
    'Local: stops the control process, every engine and every service it started, checks that no process and no port ' +
    'is left behind, and forgets the deployment. Data (streams, tables, databases) is kept for the next deploy unless ' +
    '--purge. Asks first; --yes skips the question for scripts. AWS: destroys the stacks in reverse order after you ' +
    'type the environment name (or pass --confirm <environment>).';
  static override examples = [
    '<%= config.bin %> destroy',
    '<%= config.bin %> destroy --yes --purge',
    '<%= config.bin %> destroy --target aws --confirm dev',
  ];
  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation (local target)' }),
    confirm: Flags.string({
      description: 'the environment name, to confirm without a prompt (required for aws in scripts)',
    }),
    purge: Flags.boolean({ description: 'local target: also delete all data and logs in the workspace' }),
  };

  async run(): Promise<unknown> {
    const config = this.loadConfig();
    if (config.target === 'aws') {
      await confirmDestructive({
        typed: config.environment,
        given: this.flags.confirm,
        what: `destroy every AWS stack of "${config.environment}"`,
      });
      const { AwsDeploymentError, runAwsDeployment } = await import('../infra/aws/orchestrate.js');
      const { renderAwsDeployment, renderAwsFailure } = await import('../infra/aws/render.js');
      try {
        const result = await runAwsDeployment(config, {
          mode: 'destroy',
          renderer: this.jsonEnabled() ? 'silent' : undefined,
        });
        if (!this.jsonEnabled()) this.log(renderAwsDeployment(result));
        return result;
      } catch (error) {
        if (error instanceof AwsDeploymentError && !this.jsonEnabled()) this.logToStderr(renderAwsFailure(error));
        throw error;
      }
    }
    if (!this.flags.yes && this.flags.confirm !== config.environment) {
      await confirmDestructive({
        question: `Stop the local platform in ${config.workspace}${this.flags.purge ? ' and delete its data' : ''}?`,
      });
    }
    const result: LocalDestroyResult = await destroyLocal(config, { purge: this.flags.purge });
    if (result.portsStillOpen.length) {
      throw new UserError(
        `stopped ${result.stopped} processes, but ports ${result.portsStillOpen.join(', ')} still answer`,
        'find the owner with `ss -ltnp` and stop it',
        ExitCode.failure,
      );
    }
    if (!this.jsonEnabled()) {
      this.log(
        result.wasDeployed
          ? `Stopped ${result.stopped} processes in ${(result.durationMs / 1000).toFixed(1)} s; nothing left running.${result.purged ? ' Data and logs deleted.' : ''}`
          : `Nothing was running in ${config.workspace}.${result.purged ? ' Data and logs deleted.' : ''}`,
      );
    }
    return result;
  }
}
