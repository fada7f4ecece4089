import { Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { renderGenerator } from '../../lib/render-generator.js';
import { configureGenerator, type GeneratorStatus, generatorStatus } from '../../platform/generator-control.js';
import { openLocalPlatform } from '../../platform/open.js';

export default class GeneratorStatusCommand extends TsrCommand<typeof GeneratorStatusCommand> {
  static override summary = 'Show what the generator has sent, the confirmations back, and latency to MATCHED';
  static override examples = ['<%= config.bin %> generator status', '<%= config.bin %> generator status --rate 200'];
  static override flags = {
    rate: Flags.integer({
      description: 'change the rate (pairs per second) without starting or stopping',
      min: 1,
      max: 5_000,
    }),
  };

  async run(): Promise<GeneratorStatus> {
    const platform = await openLocalPlatform(this.loadConfig());
    try {
      const status = this.flags.rate
        ? await configureGenerator(platform, { rate: this.flags.rate })
        : await generatorStatus(platform);
      if (!this.jsonEnabled()) this.log(renderGenerator(status));
      return status;
    } finally {
      await platform.close();
    }
  }
}
