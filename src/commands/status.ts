import { Flags } from '@oclif/core';
import { describeError, ExitCode } from '../errors.js';
import { paint } from '../lib/colour.js';
import { TsrCommand } from '../lib/base-command.js';
import { isHealthy, renderStatus } from '../lib/render-status.js';
import { untilInterrupted, watch } from '../lib/watch.js';
import { openPlatform } from '../platform/open.js';
import type { Platform, PlatformStatus } from '../platform/platform.js';

export default class Status extends TsrCommand<typeof Status> {
  static override summary = 'Show engines, routing controls and replication lag of every region';
  static override description =
    'The first line is the verdict: HEALTHY, or UNHEALTHY with what is down or not replicating. Checks that each ' +
    'engine answers on its port, reads every routing control through the ARC cluster, and measures replication lag ' +
    'of the global tables (replication link) and of the core databases (heartbeats through logical replication). ' +
    'Exits 0 when all is healthy, 4 when something is down or not replicating, 3 when nothing is deployed.\n\n' +
    '--watch shows it again every --interval seconds until Ctrl-C (with --json: one JSON object per line).';
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --watch',
    '<%= config.bin %> status --json',
  ];
  static exitCodes = [ExitCode.ok, ExitCode.notDeployed, ExitCode.unhealthy];
  static override flags = {
    watch: Flags.boolean({ char: 'w', description: 'refresh until Ctrl-C' }),
    interval: Flags.integer({ description: 'seconds between refreshes with --watch', default: 2, min: 1 }),
  };

  async run(): Promise<(PlatformStatus & { healthy: boolean }) | void> {
    const platform = await openPlatform(this.loadConfig());
    try {
      if (this.flags.watch) return await this.watch(platform);
      const status = await platform.status();
      const healthy = isHealthy(status);
      if (!this.jsonEnabled()) this.log(renderStatus(status));
      if (!healthy) process.exitCode = ExitCode.unhealthy;
      return { ...status, healthy };
    } finally {
      await platform.close();
    }
  }

  private async watch(platform: Platform): Promise<void> {
    const json = this.jsonEnabled();
    await untilInterrupted((signal) =>
      watch(
        async () => {
          try {
            const status = await platform.status();
            return json ? JSON.stringify({ ...status, healthy: isHealthy(status) }) : renderStatus(status);
          } catch (error) {
            // A watch outlives a lost platform: show why, and look again at the next interval.
            const message = describeError(error);
            return json
              ? JSON.stringify({ healthy: false, error: message })
              : paint.red.bold(`UNREACHABLE: ${message}`);
          }
        },
        {
          intervalMs: this.flags.interval * 1000,
          signal,
          write: (text) => process.stdout.write(text),
          clear: !json && process.stdout.isTTY,
        },
      ),
    );
  }
}
