import { Flags } from '@oclif/core';
import { describeError } from '../../errors.js';
import { TsrCommand } from '../../lib/base-command.js';
import { behindAfterFlag, renderFlow } from '../../lib/flow-output.js';
import { renderGenerator } from '../../lib/render-generator.js';
import type { FlowHealth } from '../../platform/flow-health.js';
import { readFlow } from '../../platform/flow-sampler.js';
import { configureGenerator, type GeneratorStatus, generatorStatus } from '../../platform/generator-control.js';
import { openPlatform } from '../../platform/open.js';

export type GeneratorStatusResult = GeneratorStatus & {
  /** The platform's flow as `tsr status` shows it: backlog per stage, falling behind and the stage that limits. */
  readonly flowHealth?: FlowHealth;
  readonly flowError?: string;
};

export default class GeneratorStatusCommand extends TsrCommand<typeof GeneratorStatusCommand> {
  static override summary = 'Show what the generator sent, offered vs confirmed, latency to MATCHED, and the flow';
  static override description =
    'Offered is pairs per second the broker took; confirmed is pairs per second whose every confirmation came back ' +
    '(MATCHED, MISMATCHED, SETTLED), counted in pairs of every scenario so the two are equal when the platform keeps ' +
    'up. Then the flow, as `tsr status` shows it: what waits in front of each stage, the oldest unprocessed record, ' +
    'and FALLING BEHIND with the stage that limits once a backlog has grown for longer than --behind-after seconds. ' +
    'With --rate auto it shows the rate the generator found and holds.';
  static override examples = ['<%= config.bin %> generator status', '<%= config.bin %> generator status --rate 200'];
  static override flags = {
    rate: Flags.integer({
      description: 'change the rate (pairs per second) without starting or stopping',
      min: 1,
      max: 5_000,
    }),
    'behind-after': behindAfterFlag,
  };

  async run(): Promise<GeneratorStatusResult> {
    const platform = await openPlatform(this.loadConfig());
    try {
      const status = this.flags.rate
        ? await configureGenerator(platform, { rate: this.flags.rate })
        : await generatorStatus(platform);
      let result: GeneratorStatusResult = status;
      try {
        const flowHealth = await readFlow(platform, {
          thresholdMs: this.flags['behind-after'] * 1000,
          generator: status,
        });
        if (flowHealth) result = { ...status, flowHealth };
      } catch (error) {
        result = { ...status, flowError: describeError(error) };
      }
      if (!this.jsonEnabled())
        this.log(
          `${renderGenerator(status)}\n\n${result.flowHealth ? renderFlow(result.flowHealth) : `Flow: not measured: ${result.flowError}`}`,
        );
      return result;
    } finally {
      await platform.close();
    }
  }
}
