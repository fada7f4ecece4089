import { Args } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { confirmDestructive } from '../../lib/confirm.js';
import { resumeGameDay, type GameDayResult } from '../../gameday/run.js';
import { conductFromCommand, GAMEDAY_EXIT_CODES, gamedayRunFlags } from './index.js';

export default class GameDayResume extends TsrCommand<typeof GameDayResume> {
  static override summary = 'Continue a game day that stopped before its end, then judge it and write its report';
  static override description =
    'After tsr was killed, interrupted or a phase failed, continues the newest unfinished game day (or <run>) after ' +
    'its last completed phase — a phase cut short runs again — sampling and watching its stop conditions as a run ' +
    'does; then every pair it sent is judged and its bundle written under <workspace>/gamedays/<run-id>/. To undo ' +
    'what it left injected instead, run `tsr gameday recover`.';
  static override examples = [
    '<%= config.bin %> gameday resume',
    '<%= config.bin %> gameday resume <run-id> --yes --confirm dev --json',
  ];
  static exitCodes = GAMEDAY_EXIT_CODES;
  static override args = {
    run: Args.string({ description: 'run id (default: the newest game day that can be resumed)' }),
  };
  static override flags = gamedayRunFlags;

  async run(): Promise<GameDayResult> {
    const config = this.loadConfig();
    await confirmDestructive({
      typed: config.environment,
      given: this.flags.confirm,
      yes: this.flags.yes,
      what: `resume a game day (it injects faults and forces failovers in ${config.environment})`,
    });
    return conductFromCommand(this, this.flags.ids, (options) => resumeGameDay(config, this.args.run, options));
  }
}
