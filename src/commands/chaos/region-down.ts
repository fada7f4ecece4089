import { Args, Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { confirmDestructive } from '../../lib/confirm.js';
import { requireConfiguredRegion } from '../../config/regions.js';
import { openLocalPlatform } from '../../platform/open.js';

export default class ChaosRegionDown extends TsrCommand<typeof ChaosRegionDown> {
  static override summary = 'Lose a region: stop every engine and service of it at once (local target)';
  static override description =
    'PostgreSQL, Kinesis, DynamoDB, the broker and all ten services of the region stop together, like a regional ' +
    'disaster: what they had not replicated is at risk. Drill the recovery with `tsr failover <app> --to <region>`, ' +
    'then bring the region back with `tsr chaos region-up`.';
  static override examples = ['<%= config.bin %> chaos region-down us-east-1 --yes'];
  static override args = { region: Args.string({ description: 'the region to lose', required: true }) };
  static override flags = { yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }) };

  async run(): Promise<{ region: string; down: true }> {
    const config = this.loadConfig();
    requireConfiguredRegion(config, this.args.region); // bad input before "not deployed"
    const platform = await openLocalPlatform(config);
    try {
      platform.endpoints(this.args.region); // a clear error for a region that is not deployed
      if (!this.flags.yes)
        await confirmDestructive({ question: `Stop every engine and service in ${this.args.region}?` });
      await platform.drills.regionDown(this.args.region);
      if (!this.jsonEnabled())
        this.log(
          this.withContext(
            `${this.args.region} is down: its engines and services are stopped. Bring it back with \`tsr chaos region-up ${this.args.region}\`.`,
          ),
        );
      return { region: this.args.region, down: true };
    } finally {
      await platform.close();
    }
  }
}
