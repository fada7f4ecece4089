import { Args, Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { confirmDestructive } from '../../lib/confirm.js';
import { openLocalPlatform } from '../../platform/open.js';

export default class ChaosRegionUp extends TsrCommand<typeof ChaosRegionUp> {
  static override summary =
    'Bring a lost region back (local target); a database that lost its writer role rejoins as a replica';
  static override description =
    'Engines restart on the same ports with their data, then the services start. If another region became the ' +
    'writer while this one was down (a failover), this region drops what only it had and copies the current writer.';
  static override examples = ['<%= config.bin %> chaos region-up us-east-1 --yes'];
  static override args = { region: Args.string({ description: 'the region to restore', required: true }) };
  static override flags = { yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }) };

  async run(): Promise<{ region: string; down: false }> {
    const platform = await openLocalPlatform(this.loadConfig());
    try {
      platform.endpoints(this.args.region);
      await confirmDestructive({
        question: `Bring ${this.args.region} back? What only it had (not replicated before a failover) is dropped.`,
        yes: this.flags.yes,
      });
      await platform.drills.regionUp(this.args.region);
      if (!this.jsonEnabled()) this.log(`${this.args.region} is back up.`);
      return { region: this.args.region, down: false };
    } finally {
      await platform.close();
    }
  }
}
