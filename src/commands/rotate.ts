import { TsrCommand } from '../lib/base-command.js';
import { drillArgs, drillFlags, drillParams } from '../lib/drill-flags.js';
import { executeRunbook, type ExecuteResult } from '../runbooks/execute.js';

export default class Rotate extends TsrCommand<typeof Rotate> {
  static override summary = 'Move an app to another region with zero data loss (planned rotation)';
  static override description = `Runs runbooks/rotate.yaml (DOMAIN §6): preflight → gate ON → swap dns in one atomic batch → publish the canary pair to the target broker (held there) → wait until the source broker is drained, the streams are idle and replication has caught up (each measured, with a timeout) → queue and app OFF in the source → database switchover → app ON in the target → reconcile and replay → queue ON in the target → canary confirmed → observe when the target accepted again (safe stores) → verify → gate OFF → report with RTO, unavailability window (observed) and RPO.

Every step is journaled: an interrupted rotation can be resumed (\`tsr runbook resume\`) or rolled back (\`tsr runbook rollback\`). Rotating to where the app already runs is a no-op.`;
  static override examples = [
    '<%= config.bin %> rotate trade --to secondary --dry-run',
    '<%= config.bin %> rotate trade --to secondary --yes',
    '<%= config.bin %> rotate settlement --to us-east-1',
  ];
  static override args = drillArgs;
  static override flags = drillFlags;

  async run(): Promise<ExecuteResult> {
    return executeRunbook(this.loadConfig(), 'rotate', drillParams(this.args.app, this.flags), {
      dryRun: this.flags['dry-run'],
      yes: this.flags.yes,
      json: this.jsonEnabled(),
      log: (text) => this.log(text),
    });
  }
}
