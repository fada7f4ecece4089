import { ExitCode } from '../errors.js';
import { TsrCommand } from '../lib/base-command.js';
import { isHealthy, renderStatus } from '../lib/render-status.js';
import { openPlatform } from '../platform/open.js';
import type { PlatformStatus } from '../platform/platform.js';

export default class Status extends TsrCommand<typeof Status> {
  static override summary = 'Show engines, routing controls and replication lag of every region';
  static override description =
    'Checks that each engine answers on its port, reads every routing control through the ARC cluster, and measures ' +
    'replication lag of the global tables (replication link) and of the core databases (heartbeats through logical ' +
    'replication). Exits 0 when all is healthy, 4 when something is down or not replicating, 3 when nothing is deployed.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];

  async run(): Promise<PlatformStatus & { healthy: boolean }> {
    const platform = await openPlatform(this.loadConfig());
    try {
      const status = await platform.status();
      const healthy = isHealthy(status);
      if (!this.jsonEnabled()) this.log(renderStatus(status));
      if (!healthy) process.exitCode = ExitCode.unhealthy;
      return { ...status, healthy };
    } finally {
      await platform.close();
    }
  }
}
