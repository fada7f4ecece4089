import { Args } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { renderGenerator } from '../../lib/render-generator.js';
import { configureGenerator, type GeneratorStatus } from '../../platform/generator-control.js';
import { openPlatform } from '../../platform/open.js';

export default class GeneratorRate extends TsrCommand<typeof GeneratorRate> {
  static override summary = 'Change the generator rate (trade pairs per second) without starting or stopping it';
  static override examples = ['<%= config.bin %> generator rate 100'];
  static override args = {
    pairsPerSecond: Args.integer({
      description: 'trade pairs per second (1 to 5000)',
      required: true,
      min: 1,
      max: 5_000,
    }),
  };

  async run(): Promise<GeneratorStatus> {
    const platform = await openPlatform(this.loadConfig());
    try {
      const status = await configureGenerator(platform, { rate: this.args.pairsPerSecond });
      if (!this.jsonEnabled()) this.log(renderGenerator(status));
      return status;
    } finally {
      await platform.close();
    }
  }
}
