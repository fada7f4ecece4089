import { Flags } from '@oclif/core';
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
  static override summary = 'List runbooks (./runbooks and the packaged ones) and recent runs with RTO and RPO';
  static override description =
    'Shows each runbook with its description and parameters, whether it is ready to run (every step type it uses ' +
    'is known and it validates), and the latest runs in this workspace: short id (what `runbook show|resume|' +
    'rollback` take), status, RTO and RPO.';
  static override examples = [
    '<%= config.bin %> runbook list',
    '<%= config.bin %> runbook list --limit 50',
    '<%= config.bin %> runbook list --all --json',
  ];
  static override flags = {
    limit: Flags.integer({ char: 'l', description: 'how many recent runs', default: 20, min: 1 }),
    all: Flags.boolean({ description: 'every run in the workspace', exclusive: ['limit'] }),
  };

  async run(): Promise<{ runbooks: RunbookSummary[]; runs: RunListing[]; more: number }> {
    const config = this.loadConfig();
    const runbooks = listRunbooks();
    const journals = listJournals(config.workspace);
    const shown = this.flags.all ? journals : journals.slice(0, this.flags.limit);
    const runs = shown.map(runListing);
    const more = journals.length - shown.length;
    if (!this.jsonEnabled()) this.log(this.withContext(renderRunbookList(runbooks, runs, more)));
    return { runbooks, runs, more };
  }
}
