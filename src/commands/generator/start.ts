import { Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { renderGenerator } from '../../lib/render-generator.js';
import { type GeneratorStatus, startGenerator } from '../../platform/generator-control.js';
import { openLocalPlatform } from '../../platform/open.js';

export default class GeneratorStart extends TsrCommand<typeof GeneratorStart> {
  static override summary = 'Start generating trade pairs (turns the trade-generator routing control ON)';
  static override description =
    'The generator submits pairs of trade sides at a steady rate to the broker of the region whose trade dns control ' +
    'is ON: matched, mismatched and unmatched pairs (1/3 each by default), some matched pairs with a settlement ' +
    'difference. Changing --rate while it runs applies at once, without a restart. Every pair and the final state it ' +
    'must reach is written to a ledger, so the outcome can be checked exactly.';
  static override examples = ['<%= config.bin %> generator start --rate 50', '<%= config.bin %> generator start'];
  static override flags = { rate: Flags.integer({ description: 'trade pairs per second', min: 1, max: 5_000 }) };

  async run(): Promise<GeneratorStatus> {
    const platform = await openLocalPlatform(this.loadConfig());
    try {
      const status = await startGenerator(platform, { rate: this.flags.rate });
      if (!this.jsonEnabled()) this.log(renderGenerator(status));
      return status;
    } finally {
      await platform.close();
    }
  }
}
