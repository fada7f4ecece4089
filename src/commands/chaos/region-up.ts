import { Args, Flags } from '@oclif/core';
import { ExitCode, UserError } from '../../errors.js';
import { TsrCommand } from '../../lib/base-command.js';
import { confirmDestructive } from '../../lib/confirm.js';
import { statusLine } from '../../lib/status-line.js';
import { openLocalPlatform } from '../../platform/open.js';
import { formatDuration, parseDuration, waitUntilCaughtUp } from '../../runbooks/index.js';

const MAX_WAIT_MS = 60 * 60_000;

export interface RegionUpResult {
  readonly region: string;
  readonly down: false;
  /** Replication into the region caught up (every table and database within --max-lag); absent with --no-wait. */
  readonly caughtUp?: boolean;
  /** Command start → engines, databases and services up again. */
  readonly upMs: number;
  /** Command start → caught up. */
  readonly catchUpMs?: number;
  readonly replication?: string;
}

function durationFlag(value: string, flag: string, max: number): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms > max) {
    throw new UserError(
      `--${flag} ${value} is not a duration of at most ${formatDuration(max)}`,
      `e.g. --${flag} 5m (units ms, s, m, h)`,
      ExitCode.usage,
    );
  }
  return ms;
}

export default class ChaosRegionUp extends TsrCommand<typeof ChaosRegionUp> {
  static override summary =
    'Bring a lost region back (local target) and wait until it has caught up as a replica, ready to fail back';
  static override description =
    'Engines restart on the same ports with their data, then the services start. If another region became the ' +
    'writer while this one was down (a failover), this region drops what only it had and copies the current writer. ' +
    'Then it waits, showing progress, until replication into the region (every global table and database) is ' +
    'measured and within --max-lag: from then on `tsr rotate <app> --to <region>` passes its preflight. ' +
    '--no-wait returns as soon as the services are started.';
  static override examples = [
    '<%= config.bin %> chaos region-up us-east-1',
    '<%= config.bin %> chaos region-up us-east-1 --yes --no-wait',
    '<%= config.bin %> chaos region-up us-east-1 --yes --timeout 10m --json',
  ];
  static exitCodes = [ExitCode.ok, ExitCode.usage, ExitCode.notDeployed, ExitCode.unhealthy, ExitCode.refused];
  static override args = { region: Args.string({ description: 'the region to restore', required: true }) };
  static override flags = {
    yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
    wait: Flags.boolean({
      description: 'wait until replication into the region has caught up',
      default: true,
      allowNo: true,
    }),
    timeout: Flags.string({ description: 'how long to wait for catch-up (at most 1h)', default: '5m' }),
    'max-lag': Flags.string({ description: 'caught up when every lag into the region is at most this', default: '1s' }),
  };

  async run(): Promise<RegionUpResult> {
    const timeoutMs = durationFlag(this.flags.timeout, 'timeout', MAX_WAIT_MS);
    const maxLagMs = durationFlag(this.flags['max-lag'], 'max-lag', MAX_WAIT_MS);
    const { region } = this.args;
    const platform = await openLocalPlatform(this.loadConfig());
    try {
      platform.endpoints(region);
      await confirmDestructive({
        question: `Bring ${region} back? What only it had (not replicated before a failover) is dropped.`,
        yes: this.flags.yes,
      });
      const started = Date.now();
      await platform.drills.regionUp(region);
      const upMs = Date.now() - started;
      if (!this.flags.wait) {
        if (!this.jsonEnabled()) this.log(`${region} is back up (not waiting for replication to catch up).`);
        return { region, down: false, upMs };
      }
      const line = statusLine({ silent: this.jsonEnabled() });
      const catchUp = await waitUntilCaughtUp(
        platform,
        { to: region },
        {
          maxLagMs,
          timeoutMs,
          onProgress: (a) => line.update(`${region} catching up: ${a.detail}`),
        },
      ).finally(() => line.done());
      const catchUpMs = Date.now() - started;
      const result = {
        region,
        down: false as const,
        upMs,
        caughtUp: catchUp.caughtUp,
        catchUpMs,
        replication: catchUp.assessment.detail,
      };
      if (!catchUp.caughtUp) {
        process.exitCode = ExitCode.unhealthy;
        if (!this.jsonEnabled())
          this.logToStderr(
            `${region} is up but replication into it has not caught up after ${formatDuration(timeoutMs)}: ` +
              `${catchUp.assessment.detail}\nFix: \`tsr status\` shows the lag; wait longer with --timeout, or ` +
              `fail back with \`tsr rotate <app> --to ${region} --wait-replication 5m\`.`,
          );
        return result;
      }
      if (!this.jsonEnabled())
        this.log(
          `${region} is back up (${formatDuration(upMs)}) and caught up as a replica ${formatDuration(catchUpMs)} ` +
            'after the command started ' +
            `(${catchUp.assessment.detail}): ready to fail back.`,
        );
      return result;
    } finally {
      await platform.close();
    }
  }
}
