import { Args, Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { confirmDestructive } from '../../lib/confirm.js';
import { restartServices } from '../../platform/local-services.js';
import { openLocalPlatform } from '../../platform/open.js';

export default class ServicesRestart extends TsrCommand<typeof ServicesRestart> {
  static override summary = 'Restart service processes (all, or those whose id contains FILTER)';
  static override description =
    'Each service stops cleanly (finishing the batch in hand) and starts again; delivery is at least once and every ' +
    'write idempotent, so nothing is lost or duplicated.';
  static override examples = [
    '<%= config.bin %> services restart trade/core@us-east-1',
    '<%= config.bin %> services restart @us-west-2',
    '<%= config.bin %> services restart --yes',
  ];
  static override args = {
    filter: Args.string({ description: 'part of a service id, e.g. trade/core or @us-west-2', default: '' }),
  };
  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'do not ask before restarting every service (no filter)' }),
  };

  async run(): Promise<{ restarted: string[] }> {
    const platform = await openLocalPlatform(this.loadConfig());
    try {
      if (!this.args.filter) {
        await confirmDestructive({ question: 'Restart every service in every region?', yes: this.flags.yes });
      }
      const restarted = await restartServices(platform.state, this.args.filter ?? '');
      if (!this.jsonEnabled()) this.log(`Restarted ${restarted.length}: ${restarted.join(', ')}`);
      return { restarted };
    } finally {
      await platform.close();
    }
  }
}
