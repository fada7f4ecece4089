import path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { table } from '../../lib/table.js';
import {
  compareReports,
  type ComparisonRow,
  type GameDayReport,
  readGameDayReport,
  renderGameDayMarkdown,
} from '../../gameday/report.js';

export default class GameDayReportCommand extends TsrCommand<typeof GameDayReportCommand> {
  static override summary = 'Show one game day, or how it differs from another (--compare)';
  static override examples = [
    '<%= config.bin %> gameday report 20261206T1800',
    '<%= config.bin %> gameday report <run> --compare <earlier run>',
  ];
  static override args = {
    run: Args.string({
      description: 'the run id (or a unique part of it); `tsr gameday history` lists them',
      required: true,
    }),
  };
  static override flags = { compare: Flags.string({ description: 'another run to compare with', helpValue: '<run>' }) };

  async run(): Promise<{ report: GameDayReport; comparison?: ComparisonRow[]; html: string }> {
    const workspace = this.loadConfig().workspace;
    const report = readGameDayReport(workspace, this.args.run);
    const html = path.join(workspace, 'gamedays', report.runId, 'report.html');
    const other = this.flags.compare ? readGameDayReport(workspace, this.flags.compare) : undefined;
    const comparison = other ? compareReports(report, other) : undefined;
    if (!this.jsonEnabled()) {
      if (comparison && other) {
        this.log(`${report.runId} compared with ${other.runId}\n`);
        this.log(
          table(
            ['figure', report.runId.slice(0, 16), other.runId.slice(0, 16), 'change'],
            comparison.map((r) => [r.figure, r.run, r.other, r.change]),
          ),
        );
      } else this.log(renderGameDayMarkdown(report));
      this.log(`\nReport: ${html}`);
    }
    return { report, ...(comparison ? { comparison } : {}), html };
  }
}
