import { Args, Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { onInterrupt } from '../../lib/interrupt.js';
import { contextOfConfig, progressWriter } from '../../lib/next-command.js';
import { openPlatform } from '../../platform/open.js';
import { exitCodeFor, rollbackRun, type RunResult } from '../../runbooks/index.js';

export default class RunbookRollback extends TsrCommand<typeof RunbookRollback> {
  static override summary = 'Undo an interrupted or failed run: its rollback steps, last step first';
  static override description =
    'Runs the rollback steps the runbook declares for every step that completed (or was cut short), in reverse ' +
    'order, journaling each. An interrupted or failed rollback continues where it stopped when run again. A ' +
    'completed run is not rolled back: run the runbook the other way instead (e.g. rotate back).';
  static override examples = [
    '<%= config.bin %> runbook rollback',
    '<%= config.bin %> runbook rollback <run-id> --yes',
  ];
  static override args = {
    runId: Args.string({ description: 'run id (default: the newest run that can be rolled back)' }),
  };
  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
  };

  async run(): Promise<RunResult> {
    const config = this.loadConfig();
    const platform = await openPlatform(config);
    try {
      const result = await onInterrupt((signal) =>
        rollbackRun(this.args.runId, {
          platform,
          workspace: config.workspace,
          write: progressWriter(contextOfConfig(config)),
          yes: this.flags.yes,
          json: this.jsonEnabled(),
          signal,
        }),
      );
      process.exitCode = exitCodeFor(result.journal.status, 'rollback');
      return result;
    } finally {
      await platform.close();
    }
  }
}
