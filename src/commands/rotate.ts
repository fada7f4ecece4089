import { Flags } from '@oclif/core';
import { TsrCommand } from '../lib/base-command.js';
import { drillArgs, drillFlags, drillParams, DRILL_EXIT_CODES } from '../lib/drill-flags.js';
import { executeRunbook, type ExecuteResult } from '../runbooks/execute.js';

export default class Rotate extends TsrCommand<typeof Rotate> {
  static override summary = 'Move an app to another region with zero data loss (planned rotation)';
  static override description = `Runs runbooks/rotate.yaml: preflight (waits for replication with --wait-replication) → gate ON → swap dns in one atomic batch → publish the canary pair to the target broker → queue ON in the target (its gateway and ingestion accept into safe stores; its core waits for the database) → wait until the source broker is drained, the streams are idle and replication has caught up (each measured, with a timeout) → queue and app OFF in the source → database switchover → app ON in the target → canary confirmed → reconcile what was accepted before the swap and replay any gap → observe when the target accepted again (safe stores) → verify → gate OFF → report with RTO, unavailability window (observed) and RPO.

Every step is journaled: an interrupted rotation can be resumed (\`tsr runbook resume\`) or rolled back (\`tsr runbook rollback\`). Rotating to where the app already runs is a no-op.`;
  static override examples = [
    '<%= config.bin %> rotate trade --to secondary --dry-run',
    '<%= config.bin %> rotate trade --to secondary --yes',
    '<%= config.bin %> rotate settlement --to us-east-1',
    '<%= config.bin %> rotate trade --to primary --wait-replication 2m --yes   # failing back after a region-up',
  ];
  static exitCodes = DRILL_EXIT_CODES;
  static override args = drillArgs;
  static override flags = {
    ...drillFlags,
    'wait-replication': Flags.string({
      description:
        'let preflight wait up to this long (e.g. 2m, at most 30m) for replication into the target to catch up, ' +
        'instead of refusing at once (after `tsr chaos region-up`, say)',
      helpValue: '<duration>',
    }),
  };

  async run(): Promise<ExecuteResult> {
    const params = {
      ...drillParams(this.args.app, this.flags),
      ...(this.flags['wait-replication'] ? { waitReplication: this.flags['wait-replication'] } : {}),
    };
    return executeRunbook(this.loadConfig(), 'rotate', params, {
      dryRun: this.flags['dry-run'],
      yes: this.flags.yes,
      json: this.jsonEnabled(),
      log: (text) => this.log(text),
    });
  }
}
