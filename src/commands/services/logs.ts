import { Args, Flags } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { followFile, formatLogLine } from '../../lib/log-lines.js';
import { untilInterrupted } from '../../lib/watch.js';
import { serviceLog } from '../../platform/local-services.js';
import { openLocalPlatform } from '../../platform/open.js';

export default class ServicesLogs extends TsrCommand<typeof ServicesLogs> {
  static override summary = "Print the end of a service's log, readable (or raw JSON lines); --follow for more";
  static override description =
    'Each JSON line is shown as time, level, message and its other fields; --raw prints the lines as written. ' +
    '--follow keeps printing new lines until Ctrl-C. --json gives the lines as they are in one object.';
  static override examples = [
    '<%= config.bin %> services logs trade/core@us-east-1',
    '<%= config.bin %> services logs generator --lines 200',
    '<%= config.bin %> services logs trade/core@us-east-1 --follow',
  ];
  static override args = {
    service: Args.string({ description: 'service id, e.g. trade/core@us-east-1 or generator', required: true }),
  };
  static override flags = {
    lines: Flags.integer({ char: 'n', description: 'how many lines', default: 50, min: 1 }),
    follow: Flags.boolean({ char: 'f', description: 'keep printing new lines until Ctrl-C' }),
    raw: Flags.boolean({ description: 'the JSON lines as written' }),
  };

  async run(): Promise<{ id: string; log: string; text: string } | void> {
    const platform = await openLocalPlatform(this.loadConfig());
    const result = serviceLog(platform.state, this.args.service, this.flags.lines);
    await platform.close();
    const show = (line: string) => (this.flags.raw ? line : formatLogLine(line));
    const json = this.jsonEnabled();
    const lines = result.text.split('\n').filter(Boolean);
    if (!this.flags.follow) {
      if (!json) this.log(lines.map(show).join('\n'));
      return { id: result.id, log: result.log, text: result.text };
    }
    // Following with --json: the lines as written, one JSON object each, as they come.
    for (const line of lines) process.stdout.write(`${json ? line : show(line)}\n`);
    await untilInterrupted((signal) =>
      followFile(result.log, {
        from: result.size,
        signal,
        onLine: (line) => process.stdout.write(`${json ? line : show(line)}\n`),
      }),
    );
  }
}
