import { TsrCommand } from '../../lib/base-command.js';
import { table } from '../../lib/table.js';
import { gameDayHistory, type HistoryEntry } from '../../gameday/report.js';
import { formatDuration } from '../../runbooks/duration.js';

export default class GameDayHistory extends TsrCommand<typeof GameDayHistory> {
  static override summary = 'List past game days: date, scenario, result, verdict, worst RTO and unavailability, RPO';
  static override examples = ['<%= config.bin %> gameday history', '<%= config.bin %> gameday history --json'];

  async run(): Promise<{ runs: HistoryEntry[] }> {
    const runs = gameDayHistory(this.loadConfig().workspace);
    if (!this.jsonEnabled()) {
      if (!runs.length) this.log('No game day has run in this workspace yet: `tsr gameday quick` runs the first one.');
      else
        this.log(
          table(
            ['run', 'scenario', 'result', 'worst RTO', 'worst unavailable', 'RPO', 'verdict'],
            runs.map((r) => [
              r.runId,
              r.scenario,
              `${r.passed ? 'PASSED' : 'FAILED'} (${r.status})`,
              r.worstRtoMs !== undefined ? formatDuration(r.worstRtoMs) : '—',
              r.worstUnavailabilityMs !== undefined ? formatDuration(r.worstUnavailabilityMs) : '—',
              r.rpo !== undefined ? String(r.rpo) : '—',
              r.verdict,
            ]),
          ),
        );
    }
    return { runs };
  }
}
