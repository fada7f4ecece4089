import { Args, Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { serviceLog } from '../../platform/local-services.js';
import { openLocalPlatform } from '../../platform/open.js';

export default class ServicesLogs extends TsrCommand<typeof ServicesLogs> {
  static override summary = "Print the end of a service's log (JSON lines)";
  static override examples = [
    '<%= config.bin %> services logs trade/core@us-east-1',
    '<%= config.bin %> services logs generator --lines 200',
  ];
  static override args = {
    service: Args.string({ description: 'service id, e.g. trade/core@us-east-1 or generator', required: true }),
  };
  static override flags = { lines: Flags.integer({ char: 'n', description: 'how many lines', default: 50, min: 1 }) };

  async run(): Promise<{ id: string; log: string; text: string }> {
    const platform = await openLocalPlatform(this.loadConfig());
    try {
      const result = serviceLog(platform.state, this.args.service, this.flags.lines);
      if (!this.jsonEnabled()) this.log(result.text);
      return result;
    } finally {
      await platform.close();
    }
  }
}
