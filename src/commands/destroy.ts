import { Flags } from '@oclif/core';
import { ExitCode } from '../errors.js';
import { TsrCommand } from '../lib/base-command.js';
import { targetDriver, type DestroyOutput } from '../lib/targets.js';

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

  async run(): Promise<DestroyOutput> {
    const config = this.loadConfig();
    const { yes, confirm, purge } = this.flags;
    return targetDriver(config.target).destroy(
      config,
      { yes, confirm, purge, purgeHistory: this.flags['purge-history'] },
      {
        json: this.jsonEnabled(),
        log: (text) => this.log(text),
        logToStderr: (text) => this.logToStderr(text),
        withContext: (text) => this.withContext(text),
      },
    );
  }
}
