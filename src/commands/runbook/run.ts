import { Args, Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { executeRunbook, type ExecuteResult } from '../../runbooks/execute.js';
import { parseParamAssignments } from '../../runbooks/index.js';
import { ExitCode } from '../../errors.js';

export default class RunbookRun extends TsrCommand<typeof RunbookRun> {
  static override summary = 'Run a runbook (a file, or the name of one in ./runbooks)';
  static override description =
    'Validates the runbook, resolves its parameters and shows the plan, asks for confirmation (or --yes), takes the ' +
    'per-app lock, then runs each step with live progress, writing a journal after every step to ' +
    '<workspace>/runbooks/<run-id>.json. Ends with a report (per-step durations, RTO, unavailability window, RPO) ' +
    'saved beside the journal. Ctrl-C stops after the current step gives up, with the journal intact: continue with ' +
    '`tsr runbook resume`, or undo with `tsr runbook rollback`.\n\n' +
    'Exit codes: 0 completed, 1 failed or rolled back, 2 invalid runbook or parameters, 5 refused (lock held, not ' +
    'confirmed, preflight), 130 interrupted.';
  static override examples = [
    {
      description: 'Show what rotating trade to the secondary region would do',
      command: '<%= config.bin %> runbook run rotate --param app=trade --param target=secondary --dry-run',
    },
    {
      description: 'Run your own runbook without a prompt',
      command: '<%= config.bin %> runbook run ./my-drill.yaml --param app=settlement --yes',
    },
  ];
  static exitCodes = [ExitCode.ok, ExitCode.failure, ExitCode.usage, ExitCode.refused, ExitCode.interrupted];
  static override args = {
    file: Args.string({ description: 'runbook YAML file, or the name of one in ./runbooks', required: true }),
  };
  static override flags = {
    param: Flags.string({
      char: 'p',
      description: 'parameter value, name=value; repeatable',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'dry-run': Flags.boolean({ description: 'print the plan with every name resolved; change nothing' }),
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation; approvals pass (journaled as such)' }),
  };

  async run(): Promise<ExecuteResult> {
    const params = parseParamAssignments(this.flags.param ?? []);
    return executeRunbook(this.loadConfig(), this.args.file, params, {
      dryRun: this.flags['dry-run'],
      yes: this.flags.yes,
      json: this.jsonEnabled(),
      log: (text) => this.log(text),
    });
  }
}
