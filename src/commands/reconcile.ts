import { Flags } from '@oclif/core';
import type { AppName } from '../config/apps.js';
import { TsrCommand } from '../lib/base-command.js';
import { requireConfiguredRegion } from '../config/regions.js';
import { openPlatform } from '../platform/open.js';
import { DEFAULT_MAX_WINDOW } from '../reconcile/window.js';
import {
  type ReconcileReport,
  reconcile,
  reconcileExitCode,
  renderReconcile,
  type ReportFormat,
  resolveWindow,
} from '../reconcile/index.js';
import { ExitCode } from '../errors.js';

export default class Reconcile extends TsrCommand<typeof Reconcile> {
  static override summary = 'Find records missing between stages and regions, and replay them';
  static override description =
    'For a window of time, compares along every hop of each app what one stage forwarded with what the next stage ' +
    "accepted (inbound → ingestion → core → egress → outbound, and outbound → the other app's inbound), and each " +
    'safe store with its copy in every other region. Reports per hop and per store: counts, missing, extra and ' +
    'status differences, with the ids (--show-ids, always in --json).\n\n' +
    "Windows are read through the safe stores' time index, minute by minute (never a table scan), all hops at once, " +
    "in memory bounded whatever the window's length; a window longer than --max-window (7d) is refused, so a slip such as --since 99999d cannot hang the platform. Each app is read in the region whose dns routing control is ON " +
    '(or --region).\n\n' +
    "--replay re-injects each missing record into the downstream stage's input exactly as the upstream stage sent " +
    "it (its stream, or the other app's broker), copies records a region lost from the region that kept them, " +
    'writes an audit entry to <env>-audit (who, when, window, counts, ids) and re-checks until nothing is missing. ' +
    'Stages dedupe by id, so replaying is safe at any time. --dry-run shows what would be replayed.\n\n' +
    '"missing" are gaps (replay repairs them); "extra" means the upstream store lost its record of something that did ' +
    "arrive; status differences are reported where both stores hold the record's own status.\n\n" +
    'Exit codes: 0 nothing missing; 6 records are missing (after the replay, if any); 4 part of it could not be ' +
    'checked or replayed (the report says what and why); 2 bad input; 3 nothing deployed.';
  static override examples = [
    '<%= config.bin %> reconcile --since 1h',
    '<%= config.bin %> reconcile --since 15m --app trade --show-ids',
    '<%= config.bin %> reconcile --from 2026-05-01T10:00:00Z --to 2026-05-01T11:00:00Z --format markdown',
    '<%= config.bin %> reconcile --since 1h --replay --dry-run',
    '<%= config.bin %> reconcile --since 1h --replay --json',
  ];
  static exitCodes = [ExitCode.ok, ExitCode.usage, ExitCode.notDeployed, ExitCode.unhealthy, ExitCode.gapsFound];
  static override flags = {
    since: Flags.string({
      description: 'window back from now: 90s, 15m, 1h, 2d, 1h30m [default: 1h]',
      exclusive: ['from'],
    }),
    from: Flags.string({ description: 'window start, ISO 8601 with a zone (e.g. 2026-05-01T10:00:00Z)' }),
    to: Flags.string({ description: 'window end, ISO 8601 [default: now]', dependsOn: ['from'] }),
    'max-window': Flags.string({
      description: `the longest window read at once (a duration, at most 366d) [default: ${DEFAULT_MAX_WINDOW}]`,
    }),
    app: Flags.string({
      description: "only this app's hops and stores [default: both]",
      options: ['trade', 'settlement'],
    }),
    region: Flags.string({
      description: 'read and replay in this region [default: per app, where its dns control is ON]',
    }),
    replay: Flags.boolean({ description: 're-inject missing records, audit it, then re-check', default: false }),
    'dry-run': Flags.boolean({
      description: 'with --replay: show what would be replayed, send nothing',
      default: false,
    }),
    'show-ids': Flags.boolean({ description: 'list the ids of every gap', default: false }),
    format: Flags.string({ description: 'output format', options: ['table', 'csv', 'markdown'], default: 'table' }),
    'verify-timeout': Flags.integer({
      description: 'seconds the re-check after a replay may take',
      default: 60,
      min: 1,
    }),
  };

  async run(): Promise<ReconcileReport> {
    const { flags } = this;
    const window = resolveWindow({
      since: flags.since,
      from: flags.from,
      to: flags.to,
      maxWindow: flags['max-window'],
    });
    const config = this.loadConfig();
    if (flags.region !== undefined) requireConfiguredRegion(config, flags.region);
    const platform = await openPlatform(config);
    try {
      const report = await reconcile(platform, {
        window,
        apps: flags.app ? [flags.app as AppName] : undefined,
        region: flags.region,
        replay: flags.replay || flags['dry-run'],
        dryRun: flags['dry-run'],
        verifyTimeoutMs: flags['verify-timeout'] * 1000,
        by: 'tsr reconcile',
        onProgress: this.jsonEnabled() || !process.stderr.isTTY ? undefined : (m) => process.stderr.write(`${m}\n`),
      });
      const final = window.clampedTo
        ? { ...report, notes: [...report.notes, 'the window end was in the future: read up to now'] }
        : report;
      if (!this.jsonEnabled()) {
        this.log(renderReconcile(final, { format: flags.format as ReportFormat, showIds: flags['show-ids'] }));
      }
      process.exitCode = reconcileExitCode(final);
      return final;
    } finally {
      await platform.close();
    }
  }
}
