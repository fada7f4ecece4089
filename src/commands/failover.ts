import { TsrCommand } from '../lib/base-command.js';
import { drillArgs, drillFlags, drillParams } from '../lib/drill-flags.js';
import { executeRunbook, type ExecuteResult } from '../runbooks/execute.js';

export default class Failover extends TsrCommand<typeof Failover> {
  static override summary = 'Recover an app in another region after losing its region (disaster recovery)';
  static override description = `Runs runbooks/failover.yaml (DOMAIN §6): assumes the source is impaired, so it skips the drain waits, forces the database writer over (the last replicated state wins), turns the target on, reconciles and replays from upstream safe stores, and runs a canary. The report states the data at risk: records accepted in the source that the target never saw, before and after replay.

Drill it for real on the local target: \`tsr chaos region-down us-east-1\`, then \`tsr failover trade --to us-west-2\`.`;
  static override examples = [
    '<%= config.bin %> failover trade --to secondary --dry-run',
    '<%= config.bin %> failover trade --to us-west-2 --yes',
  ];
  static override args = drillArgs;
  static override flags = drillFlags;

  async run(): Promise<ExecuteResult> {
    return executeRunbook(this.loadConfig(), 'failover', drillParams(this.args.app, this.flags), {
      dryRun: this.flags['dry-run'],
      yes: this.flags.yes,
      json: this.jsonEnabled(),
      log: (text) => this.log(text),
    });
  }
}
