import { TsrCommand } from '../../lib/base-command.js';
import {
  listJournals,
  listRunbooks,
  renderRunbookList,
  runListing,
  type RunbookSummary,
} from '../../runbooks/index.js';
import type { RunListing } from '../../runbooks/index.js';

export default class RunbookList extends TsrCommand<typeof RunbookList> {
  static override summary = 'List runbooks (./runbooks and the packaged ones) and recent runs';
  static override description =
    'Shows each runbook with its description and parameters, whether it is ready to run (every step type it uses ' +
    'is known and it validates), and the latest runs in this workspace.';
  static override examples = ['<%= config.bin %> runbook list', '<%= config.bin %> runbook list --json'];

  async run(): Promise<{ runbooks: RunbookSummary[]; runs: RunListing[] }> {
    const config = this.loadConfig();
    const runbooks = listRunbooks();
    const runs = listJournals(config.workspace).slice(0, 10).map(runListing);
    if (!this.jsonEnabled()) this.log(renderRunbookList(runbooks, runs));
    return { runbooks, runs };
  }
}
