import { Args, Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { onInterrupt } from '../../lib/interrupt.js';
import { contextOfConfig, progressWriter } from '../../lib/next-command.js';
import { openPlatform } from '../../platform/open.js';
import { exitCodeFor, resumeRun, type RunResult } from '../../runbooks/index.js';

export default class RunbookResume extends TsrCommand<typeof RunbookResume> {
  static override summary = 'Continue an interrupted or failed run after its last completed step';
  static override description =
    'Reads the run journal (the newest run that can be resumed unless a run id is given), takes the lock (clearing ' +
    'a stale one left by a crashed run), and runs again from the first step that did not complete, with the ' +
    'runbook text and parameters saved in the journal.';
  static override examples = ['<%= config.bin %> runbook resume', '<%= config.bin %> runbook resume <run-id> --yes'];
  static override args = {
    runId: Args.string({ description: 'run id (default: the newest run that can be resumed)' }),
  };
  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation; approvals pass (journaled as such)' }),
  };

  async run(): Promise<RunResult> {
    const config = this.loadConfig();
    const platform = await openPlatform(config);
    try {
      const result = await onInterrupt((signal) =>
        resumeRun(this.args.runId, {
          platform,
          workspace: config.workspace,
          write: progressWriter(contextOfConfig(config)),
          yes: this.flags.yes,
          json: this.jsonEnabled(),
          signal,
        }),
      );
      process.exitCode = exitCodeFor(result.journal.status);
      return result;
    } finally {
      await platform.close();
    }
  }
}
