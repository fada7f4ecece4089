import { Flags } from '@oclif/core';
import { ExitCode, UserError } from '../errors.js';
import { TsrCommand } from '../lib/base-command.js';
import { confirmDestructive } from '../lib/confirm.js';
import { destroyLocal, type LocalDestroyResult } from '../infra/local/destroy.js';
import { checkPurgeable, HISTORY_ENTRIES, type PurgeResult } from '../infra/local/workspace.js';

function describePurge(purge: PurgeResult): string[] {
  const lines = [purge.deleted.length ? `Deleted: ${purge.deleted.join(', ')}.` : 'Nothing of tsr’s to delete.'];
  const history = purge.kept.filter((name) => HISTORY_ENTRIES.includes(name));
  if (history.length)
    lines.push(`Kept the drill history (${history.map((h) => `${h}/`).join(', ')}): add --purge-history.`);
  const foreign = purge.kept.filter((name) => !HISTORY_ENTRIES.includes(name));
  if (foreign.length) lines.push(`Kept what tsr did not create: ${foreign.join(', ')}.`);
  return lines;
}

export default class Destroy extends TsrCommand<typeof Destroy> {
  static override summary = 'Stop and remove the platform (local processes, or the AWS stacks)';
  static override description =
    'Local: stops the control process, every engine and every service it started, checks that no process and no port ' +
    'is left behind, and forgets the deployment. Data (streams, tables, databases) is kept for the next deploy unless ' +
    '--purge. Asks first; --yes skips the question for scripts. AWS: destroys the stacks in reverse order after you ' +
    'type the environment name (or pass --confirm <environment>).\n\n' +
    '--purge deletes only what tsr created, and only in a workspace carrying the .tsr-workspace marker tsr writes ' +
    'when it creates one; anything else there stays, links are removed without being followed, and the drill ' +
    'history (runbook journals and reports, game-day bundles) is kept unless --purge-history. Purging needs the environment name ' +
    'typed, or --confirm <environment> (--yes is not enough).';
  static override examples = [
    '<%= config.bin %> destroy',
    '<%= config.bin %> destroy --purge --confirm dev',
    '<%= config.bin %> destroy --target aws --confirm dev',
  ];
  static exitCodes = [ExitCode.ok, ExitCode.usage, ExitCode.refused];
  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation (local target)' }),
    confirm: Flags.string({
      description: 'the environment name, to confirm without a prompt (required for aws in scripts)',
    }),
    purge: Flags.boolean({
      description: 'local target: also delete the data and logs tsr created in the workspace (not the drill history)',
    }),
    'purge-history': Flags.boolean({
      description: 'with --purge: also delete the drill history (runbook journals and reports)',
      dependsOn: ['purge'],
    }),
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
    const { purge, yes, confirm } = this.flags;
    const purgeHistory = this.flags['purge-history'];
    let purgeRefused: UserError | undefined;
    if (purge) {
      checkPurgeable(config.workspace); // refuse a foreign directory before asking anything
      const what =
        `stop the local platform and delete its data and logs in ${config.workspace}` +
        (purgeHistory ? ', drill history included' : ' (drill history kept)');
      try {
        await confirmDestructive({ typed: config.environment, given: confirm, yes, what });
      } catch (error) {
        // --yes still stops the platform (that much it confirms); the data stays.
        if (!(error instanceof UserError) || !yes) throw error;
        purgeRefused = error;
      }
    } else {
      await confirmDestructive({
        question: `Stop the local platform in ${config.workspace}?`,
        yes: yes || confirm === config.environment,
      });
    }
    const result: LocalDestroyResult = await destroyLocal(config, { purge: purge && !purgeRefused, purgeHistory });
    if (result.portsStillOpen.length) {
      throw new UserError(
        `stopped ${result.stopped} processes, but ports ${result.portsStillOpen.join(', ')} still answer`,
        'find the owner with `ss -ltnp` and stop it',
        ExitCode.failure,
      );
    }
    if (purgeRefused) {
      throw new UserError(
        `stopped the platform, but kept its data: ${purgeRefused.message}`,
        `to delete it, pass --confirm ${config.environment} with --purge`,
        ExitCode.refused,
      );
    }
    if (!this.jsonEnabled()) {
      const stopped = result.wasDeployed
        ? `Stopped ${result.stopped} processes in ${(result.durationMs / 1000).toFixed(1)} s; nothing left running.`
        : `Nothing was running in ${config.workspace}.`;
      this.log([stopped, ...(result.purge ? describePurge(result.purge) : [])].join('\n'));
    }
    return result;
  }
}
