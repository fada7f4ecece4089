import path from 'node:path';
import { TsrCommand } from '../../lib/base-command.js';
import { table } from '../../lib/table.js';
import { listScenarios, type ScenarioSummary } from '../../gameday/load.js';

export default class GameDayList extends TsrCommand<typeof GameDayList> {
  static override summary = 'List the game-day scenarios: built-in ones and those in ./runbooks/gamedays';
  static override examples = ['<%= config.bin %> gameday list', '<%= config.bin %> gameday list --json'];

  async run(): Promise<{ scenarios: ScenarioSummary[] }> {
    const config = this.loadConfig();
    const scenarios = listScenarios({
      target: config.target,
      regions: config.regions,
      workspace: config.workspace,
    });
    if (!this.jsonEnabled()) {
      this.log(
        table(
          ['scenario', 'phases', 'what it shows', 'file'],
          scenarios.map((s) => [
            s.name,
            s.problems.length ? 'INVALID' : String(s.phases),
            s.problems[0] ?? s.description,
            path.relative(process.cwd(), s.file) || s.file,
          ]),
        ),
      );
      this.log('\nRun one with `tsr gameday <scenario>`; `--dry-run` shows its plan.');
    }
    return { scenarios };
  }
}
