import { Args } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import {
  buildReport,
  findRun,
  inspectRunLock,
  renderRun,
  type RunJournal,
  type RunReport,
} from '../../runbooks/index.js';

export default class RunbookShow extends TsrCommand<typeof RunbookShow> {
  static override summary = 'Show a run: its steps, timings, RTO, RPO (default: the newest run)';
  static override description =
    'Builds the report from the journal, so it also works while a run is going on or after it was interrupted. ' +
    '--json gives the whole journal and the report.';
  static override examples = ['<%= config.bin %> runbook show', '<%= config.bin %> runbook show <run-id> --json'];
  static override args = {
    runId: Args.string({ description: 'run id (default: the newest run)' }),
  };

  async run(): Promise<{ journal: RunJournal; report: RunReport; live: boolean }> {
    const config = this.loadConfig();
    const journal = findRun(config.workspace, this.args.runId, () => true, 'run');
    const report = buildReport(journal);
    const lock = inspectRunLock(config.workspace, journal.lockKey);
    const holds = lock?.holder?.runId === journal.runId;
    const live = holds && !lock?.stale;
    const note =
      journal.status === 'running' || journal.status === 'rolling-back'
        ? live
          ? `Run ${journal.runId} is in progress (pid ${lock?.holder?.pid}).`
          : `Run ${journal.runId} says ${journal.status} but its process is gone (crashed?): ` +
            `\`tsr runbook resume ${journal.runId}\` or \`tsr runbook rollback ${journal.runId}\`.`
        : undefined;
    if (!this.jsonEnabled()) this.log(renderRun(report, note));
    return { journal, report, live: Boolean(live) };
  }
}
