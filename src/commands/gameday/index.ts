import { Args, Flags } from '@oclif/core';
import { ExitCode } from '../../errors.js';
import { TsrCommand } from '../../lib/base-command.js';
import { confirmDestructive } from '../../lib/confirm.js';
import { typedConfirmFlag } from '../../lib/drill-flags.js';
import { onInterrupt } from '../../lib/interrupt.js';
import {
  gameDayExitCode,
  prepareScenario,
  runGameDay,
  type GameDayOptions,
  type GameDayResult,
} from '../../gameday/run.js';

/** How a game day ends, as an exit code (gameDayExitCode); `tsr gameday resume` ends the same way. */
export const GAMEDAY_EXIT_CODES = [
  ExitCode.ok,
  ExitCode.failure,
  ExitCode.usage,
  ExitCode.notDeployed,
  ExitCode.refused,
  ExitCode.gapsFound,
  ExitCode.interrupted,
];

/** What running a game day asks (shared with `tsr gameday resume`). */
export const gamedayRunFlags = {
  yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
  confirm: typedConfirmFlag,
  ids: Flags.boolean({ description: 'list the ids of pairs that are not ok in report.json' }),
};

/**
 * Runs or resumes a game day for a command: Ctrl-C interrupts it (its faults undone), progress goes to the command's
 * output, and the exit code says how it ended.
 */
export async function conductFromCommand(
  command: { jsonEnabled(): boolean; log(text: string): void },
  ids: boolean | undefined,
  conduct: (options: GameDayOptions) => Promise<GameDayResult>,
): Promise<GameDayResult> {
  const result = await onInterrupt((signal) =>
    conduct({
      yes: true,
      json: command.jsonEnabled(),
      ids,
      signal,
      write: (text) => command.log(text),
    }),
  );
  if (!result.dryRun) process.exitCode = gameDayExitCode(result.report);
  return result;
}

export default class GameDay extends TsrCommand<typeof GameDay> {
  static override summary = 'Run a game day: scenario → load → faults → recovery → a verdict on every trade → a report';
  static override description = `Runs a game-day scenario (a built-in name — \`tsr gameday list\` — or a YAML file) as one journaled run: the generator's load and warm-up, steady-state probes, then each phase in order (rotations, failovers, faults held for a time or undone later, probes, waits on conditions, reconciles), every fault undone, steady state again, the load stopped. Stop conditions (e.g. no confirmation for 20 s outside a planned window) abort the run; on every way a run ends — completed, failed, Ctrl-C, a stop condition — the faults it injected are undone and the load stopped. If tsr itself dies mid-fault, \`tsr gameday recover\` undoes what is still injected.

Then every pair the run sent is judged from the generator's ledger against the final states in the core databases and the confirmations received: ok, lost, duplicated, wrong, late, or at risk (sent inside the replication window of a region that was lost). The objectives (RTO, unavailability, RPO, lost, duplicated, wrong, late, steady-state p99) are judged, and the bundle is written to <workspace>/gamedays/<run-id>/: report.html (charts, one file, works offline), report.md, report.json, junit.xml, timeline.jsonl.

The scenario is validated before anything runs (errors name file:line and the fix); --dry-run prints the plan with every name resolved. A game day injects faults and forces failovers: it asks on a terminal, and needs --yes and --confirm <environment> otherwise.`;
  static override examples = [
    { description: 'See what the quick game day would do', command: '<%= config.bin %> gameday quick --dry-run' },
    {
      description: 'Run it without prompts (CI, nightly)',
      command: '<%= config.bin %> gameday quick --yes --confirm dev',
    },
    { description: 'Your own scenario', command: '<%= config.bin %> gameday ./my-drill.yaml --yes --confirm dev' },
  ];
  static exitCodes = GAMEDAY_EXIT_CODES;
  static override args = {
    scenario: Args.string({
      description: 'a built-in scenario name (`tsr gameday list`) or a scenario YAML file',
      default: 'quick',
    }),
  };
  static override flags = {
    'dry-run': Flags.boolean({ description: 'validate and print the plan with every name resolved; change nothing' }),
    ...gamedayRunFlags,
  };

  async run(): Promise<GameDayResult> {
    const config = this.loadConfig();
    if (!this.flags['dry-run']) {
      const { scenario } = prepareScenario(config, this.args.scenario); // bad input before asking anything
      await confirmDestructive({
        typed: config.environment,
        given: this.flags.confirm,
        yes: this.flags.yes,
        what: `run game day ${scenario.definition.name} (it injects faults and forces failovers in ${config.environment})`,
      });
    }
    return conductFromCommand(this, this.flags.ids, (options) =>
      runGameDay(config, this.args.scenario, { ...options, dryRun: this.flags['dry-run'] }),
    );
  }
}
