import { TsrCommand } from '../../lib/base-command.js';
import { renderGenerator } from '../../lib/render-generator.js';
import { type GeneratorStatus, stopGenerator } from '../../platform/generator-control.js';
import { openPlatform } from '../../platform/open.js';

export default class GeneratorStop extends TsrCommand<typeof GeneratorStop> {
  static override summary = 'Stop generating (turns the trade-generator routing control OFF)';
  static override examples = ['<%= config.bin %> generator stop'];

  async run(): Promise<GeneratorStatus> {
    const platform = await openPlatform(this.loadConfig());
    try {
      const status = await stopGenerator(platform);
      if (!this.jsonEnabled()) this.log(renderGenerator(status));
      return status;
    } finally {
      await platform.close();
    }
  }
}
