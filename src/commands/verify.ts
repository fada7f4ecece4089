import { Flags } from '@oclif/core';
import { TsrCommand } from '../lib/base-command.js';
import { openPlatform } from '../platform/open.js';
import { parseDuration, parseTime } from '../reconcile/window.js';
import { ExitCode, UserError } from '../errors.js';
import { computeVerdict, type LossWindow, renderVerdict, type Verdict, verdictExitCode } from '../verdict/index.js';

/** A time flag: a duration back from now (`1h`, `90s`) or an ISO 8601 time. */
function timeFlag(text: string | undefined, flag: string, now: number): Date | undefined {
  if (text === undefined) return undefined;
  return new Date(/^\s*\d+(?:\.\d+)?(?:ms|s|m|h|d)/.test(text) ? now - parseDuration(text) : parseTime(text, flag));
}

/** `us-east-1=2026-05-01T10:00:00Z/2026-05-01T10:05:00Z` */
function lossWindow(text: string): LossWindow {
  const match = /^([^=\s]+)=([^/]+)\/(.+)$/.exec(text.trim());
  if (!match) {
    throw new UserError(
      `--loss-window "${text}" is not <region>=<from>/<to>`,
      'e.g. --loss-window us-east-1=2026-05-01T10:00:00Z/2026-05-01T10:05:00Z',
      ExitCode.usage,
    );
  }
  const from = parseTime(match[2], 'loss-window');
  const to = parseTime(match[3], 'loss-window');
  if (to < from) {
    throw new UserError(`--loss-window ${text} ends before it starts`, 'swap the two times', ExitCode.usage);
  }
  return { region: match[1], from: new Date(from), to: new Date(to) };
}

export default class Verify extends TsrCommand<typeof Verify> {
  static override summary = 'Judge every trade pair the generator sent: ok, lost, duplicated, wrong, late or at risk';
  static override description =
    "Reads the generator's ledger (every pair a broker acknowledged, with the final state each trade side and " +
    'settlement must reach), the final states in the core databases (the writer of each app) and the ' +
    'confirmations senders received, and judges each pair (docs/domain.md#game-days):\n\n' +
    '  ok          reached the predicted final state, once\n' +
    '  lost        a broker acknowledged it; a record is missing or never became final\n' +
    '  duplicated  two core rows for one trade, or two contradictory confirmations for one side\n' +
    '  wrong       a final state other than the prediction\n' +
    '  late        final only after --deadline\n' +
    '  at risk     sent to a region inside its --loss-window (the loss disaster recovery accepts)\n\n' +
    'Then compares every core database table on its writer with each replica, and every safe store across regions ' +
    '(--divergence). Run it once the load has stopped and the platform has drained (pairs still on their way count ' +
    'as lost), or bound it with --until.\n\n' +
    'Memory does not grow with the number of pairs: the ledger and the rows are read as ordered streams and merged.\n\n' +
    'Exit codes: 0 nothing lost, duplicated or wrong; 6 some pair is; 2 bad input or no ledger; 3 nothing ' +
    'deployed; 4 a database cannot be read.';
  static override examples = [
    '<%= config.bin %> verify',
    '<%= config.bin %> verify --since 1h --ids',
    '<%= config.bin %> verify --since 2026-05-01T10:00:00Z --until 2026-05-01T11:00:00Z --json',
    '<%= config.bin %> verify --loss-window us-east-1=2026-05-01T10:00:00Z/2026-05-01T10:00:05Z',
  ];
  static exitCodes = [ExitCode.ok, ExitCode.usage, ExitCode.notDeployed, ExitCode.unhealthy, ExitCode.gapsFound];
  static override flags = {
    since: Flags.string({
      description: 'only pairs sent since: a duration back from now (90s, 15m, 1h) or an ISO 8601 time [default: all]',
    }),
    until: Flags.string({
      description: 'only pairs sent before: a duration back from now or an ISO 8601 time [default: now]',
    }),
    deadline: Flags.string({
      description: 'pairs final only after this (ISO 8601 or a duration back from now) count as late',
    }),
    'loss-window': Flags.string({
      description: 'a region lost from one time to another: <region>=<from>/<to>; pairs sent there then are at risk',
      multiple: true,
    }),
    ids: Flags.boolean({ description: 'list every pair that is not ok, with what is wrong', default: false }),
    'ids-limit': Flags.integer({
      description: 'at most this many ids per outcome',
      default: 1_000,
      min: 1,
      max: 1_000_000,
    }),
    divergence: Flags.string({
      description: 'compare copies across regions: all (databases and safe stores), databases, or none',
      options: ['all', 'databases', 'none'],
      default: 'all',
    }),
  };

  async run(): Promise<Verdict> {
    const { flags } = this;
    const now = Date.now();
    const since = timeFlag(flags.since, 'since', now);
    const until = timeFlag(flags.until, 'until', now);
    const deadline = timeFlag(flags.deadline, 'deadline', now);
    const atRiskWindows = (flags['loss-window'] ?? []).map(lossWindow);
    const config = this.loadConfig();
    for (const w of atRiskWindows) {
      if (!config.regions.includes(w.region)) {
        throw new UserError(
          `--loss-window names ${w.region}, which is not one of the regions (${config.regions.join(', ')})`,
          'name a configured region',
          ExitCode.usage,
        );
      }
    }
    const platform = await openPlatform(config);
    try {
      const verdict = await computeVerdict(platform, {
        since,
        until,
        deadline,
        atRiskWindows,
        ids: flags.ids || this.jsonEnabled(),
        idsLimit: flags['ids-limit'],
        divergence: flags.divergence as 'all' | 'databases' | 'none',
        onProgress: this.jsonEnabled() || !process.stderr.isTTY ? undefined : (m) => process.stderr.write(`${m}\n`),
      });
      if (!this.jsonEnabled()) this.log(renderVerdict(verdict));
      process.exitCode = verdictExitCode(verdict);
      return verdict;
    } finally {
      await platform.close();
    }
  }
}
