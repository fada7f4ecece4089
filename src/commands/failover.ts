import { Args } from '@oclif/core';
import { dnsRegion } from '../clients/types.js';
import { APPS, type AppName } from '../config/apps.js';
import type { TsrConfig } from '../config/model.js';
import { ExitCode } from '../errors.js';
import { TsrCommand } from '../lib/base-command.js';
import { confirmDestructive } from '../lib/confirm.js';
import { drillFlags, drillParams, typedConfirmFlag, DRILL_EXIT_CODES } from '../lib/drill-flags.js';
import { openPlatform } from '../platform/open.js';
import { checkRunbookInput, executeRunbook, type ExecuteResult } from '../runbooks/execute.js';
import { FAILOVER_ORDER, failoverInOrder } from '../runbooks/failover-order.js';

/** Per app, the region whose dns control is ON (undefined when unreadable). */
async function activeRegions(config: TsrConfig): Promise<Partial<Record<AppName, string>> | undefined> {
  try {
    const platform = await openPlatform(config);
    try {
      const controls = await platform.routingControls().list();
      return Object.fromEntries(APPS.map((a) => [a, dnsRegion(controls, a, config.regions)]));
    } finally {
      await platform.close();
    }
  } catch {
    return undefined;
  }
}

export default class Failover extends TsrCommand<typeof Failover> {
  static override summary = 'Recover an app (or every app: all) in another region after losing its region (DR)';
  static override description = `Runs runbooks/failover.yaml (docs/domain.md#rotation-and-failover): assumes the source is impaired, so it skips the drain waits, lets the target accept at once (queue ON: its gateway and ingestion store into safe stores), forces the database writer over (the last replicated state wins), starts the target's core, runs a canary, then reconciles and replays from upstream safe stores what the target never saw. The report states the data at risk: records accepted in the source that the target never saw, before and after replay.

After losing a region, fail over EVERY app that was active there: \`tsr failover all --to <region>\` runs the runbook for trade, then for settlement (each with its own journal, lock and report; an app already active in the target is a no-op). Trade goes first because settlement's inputs and its canary enter through trade: settlement can only be proven end to end once trade runs in a live region. Meanwhile trade keeps confirming trades and holds the settlement instructions for the lost broker (durably, in trade's outbound safe store; delayed, not lost) until settlement runs in the target. Failing over trade alone while settlement is still active in the same source region prints a warning naming the command for it; failing over settlement alone while trade is still in a lost region is refused up front, naming the command to run first.

The RPO counts what this app accepted and lost; records the other app's outbound gateway still holds for it (its broker was unreachable) are excluded and named in the report's "Data at risk".

Drill it for real on the local target: \`tsr chaos region-down us-east-1\`, then \`tsr failover all --to us-west-2\`.`;
  static override examples = [
    '<%= config.bin %> failover all --to us-west-2 --confirm dev',
    '<%= config.bin %> failover trade --to secondary --dry-run',
    '<%= config.bin %> failover settlement --to us-west-2 --confirm dev',
  ];
  static exitCodes = DRILL_EXIT_CODES;
  static override args = {
    app: Args.string({
      description: 'the app to recover, or all (trade, then settlement)',
      required: true,
      options: ['trade', 'settlement', 'all'],
    }),
  };
  static override flags = { ...drillFlags, confirm: typedConfirmFlag };

  private execute(app: AppName): Promise<ExecuteResult> {
    return executeRunbook(this.loadConfig(), 'failover', drillParams(app, this.flags), {
      dryRun: this.flags['dry-run'],
      yes: true, // confirmed in run() by the environment name; a dry run asks nothing
      json: this.jsonEnabled(),
      log: (text) => this.log(text),
    });
  }

  async run(): Promise<ExecuteResult | { runs: { app: AppName; result: ExecuteResult }[] }> {
    const config = this.loadConfig();
    // Forcing the writer over loses what the source had not replicated: the environment name, not just --yes.
    if (!this.flags['dry-run']) {
      const app = this.args.app === 'all' ? FAILOVER_ORDER[0] : this.args.app;
      await checkRunbookInput(config, 'failover', drillParams(app, this.flags)); // bad input before asking
      await confirmDestructive({
        typed: config.environment,
        given: this.flags.confirm,
        yes: this.flags.yes,
        what: `force ${this.args.app} over to ${this.flags.to} (unreplicated data in the source is lost)`,
      });
    }
    if (this.args.app !== 'all') {
      const app = this.args.app as AppName;
      const before = this.flags['dry-run'] ? undefined : await activeRegions(config);
      const source = this.flags.from ?? before?.[app];
      const others = APPS.filter((a) => a !== app && source !== undefined && before?.[a] === source);
      for (const other of others) {
        // stderr also with --json (oclif's warn() is silent then): a script must see it too.
        process.stderr.write(
          `Warning: ` +
            `${other} is also active in ${source}: after losing ${source}, fail it over too ` +
            `(\`${this.config.bin} failover ${other} --to ${this.flags.to}\`, or \`${this.config.bin} failover all\`). ` +
            `Until then records between ${app} and ${other} wait (held, not lost).\n`,
        );
      }
      return this.execute(app);
    }
    const { runs, exitCode } = await failoverInOrder(async (app) => {
      if (!this.jsonEnabled()) this.log(`\n== failover ${app} ==`);
      process.exitCode = undefined;
      const result = await this.execute(app);
      // Read back what executeRunbook set (a cast: TypeScript keeps the `undefined` assigned above).
      return { result, exitCode: Number((process.exitCode as number | string | undefined) ?? ExitCode.ok) };
    });
    process.exitCode = exitCode;
    return { runs };
  }
}
