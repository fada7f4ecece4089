import { Flags } from '@oclif/core';
import { describeError, ExitCode } from '../errors.js';
import { paint } from '../lib/colour.js';
import { TsrCommand } from '../lib/base-command.js';
import { behindAfterFlag, renderFlow, withFlowVerdict } from '../lib/flow-output.js';
import { isHealthy, renderStatus } from '../lib/render-status.js';
import { untilInterrupted, watch } from '../lib/watch.js';
import type { FlowHealth } from '../platform/flow-health.js';
import { readFlow } from '../platform/flow-sampler.js';
import { openPlatform } from '../platform/open.js';
import type { Platform, PlatformStatus } from '../platform/platform.js';

export type StatusResult = PlatformStatus & {
  /** Every component up, routing controls readable, every replication link measured and healthy. */
  readonly healthy: boolean;
  /** Offered vs confirmed, backlog per stage, the oldest unprocessed record, falling behind and the limiting stage. */
  readonly flow?: FlowHealth;
  readonly flowError?: string;
};

export default class Status extends TsrCommand<typeof Status> {
  static override summary = 'Show engines, routing controls, replication lag, and whether the platform keeps up';
  static override description =
    'The first line is the verdict: HEALTHY, or UNHEALTHY with what is down or not replicating. Checks that each ' +
    'engine answers on its port, reads every routing control through the ARC cluster, and measures replication lag ' +
    'of the global tables (replication link) and of the core databases (heartbeats through logical replication).\n\n' +
    'Flow: offered vs confirmed pairs per second (from the generator), what waits in front of each stage (broker ' +
    'backlog, records after each stream checkpoint, replication), the age of the oldest unprocessed record, and ' +
    'FALLING BEHIND with the stage that limits once a backlog has grown for longer than --behind-after seconds. ' +
    'Each run keeps its look in <workspace>/flow, so successive runs (and --watch) see growth across looks; the ' +
    "generator's own history shows end-to-end growth at once.\n\n" +
    'Exits 0 when all is healthy and keeping up, 4 when something is down or not replicating or the platform is ' +
    'falling behind, 3 when nothing is deployed.\n\n' +
    '--watch shows it again every --interval seconds until Ctrl-C (with --json: one JSON object per line).';
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --watch',
    '<%= config.bin %> status --json',
    '<%= config.bin %> status --behind-after 60',
  ];
  static exitCodes = [ExitCode.ok, ExitCode.notDeployed, ExitCode.unhealthy];
  static override flags = {
    watch: Flags.boolean({ char: 'w', description: 'refresh until Ctrl-C' }),
    interval: Flags.integer({ description: 'seconds between refreshes with --watch', default: 2, min: 1 }),
    'behind-after': behindAfterFlag,
  };

  async run(): Promise<StatusResult | void> {
    const platform = await openPlatform(this.loadConfig());
    try {
      if (this.flags.watch) return await this.watch(platform);
      const result = await this.look(platform);
      if (!this.jsonEnabled()) this.log(render(result));
      if (!result.healthy || result.flow?.fallingBehind) process.exitCode = ExitCode.unhealthy;
      return result;
    } finally {
      await platform.close();
    }
  }

  private async look(platform: Platform): Promise<StatusResult> {
    const status = await platform.status();
    const healthy = isHealthy(status);
    try {
      const flow = await readFlow(platform, {
        thresholdMs: this.flags['behind-after'] * 1000,
        routingControls: status.routingControls,
        replication: status.replication,
      });
      return { ...status, healthy, ...(flow ? { flow } : {}) };
    } catch (error) {
      return { ...status, healthy, flowError: describeError(error) };
    }
  }

  private async watch(platform: Platform): Promise<void> {
    const json = this.jsonEnabled();
    await untilInterrupted((signal) =>
      watch(
        async () => {
          try {
            const result = await this.look(platform);
            return json ? JSON.stringify(result) : render(result);
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

function render(result: StatusResult): string {
  const flow = result.flow
    ? renderFlow(result.flow)
    : result.flowError
      ? `Flow: not measured: ${result.flowError}`
      : 'Flow: not measured on this target';
  return `${withFlowVerdict(renderStatus(result), result.flow)}\n\n${flow}`;
}
