import { Args } from '@oclif/core';
import { TsrCommand } from '../../lib/base-command.js';
import { openPlatform } from '../../platform/open.js';
import type { RoutingControlState } from '../../platform/platform.js';

export default class RoutingControlGet extends TsrCommand<typeof RoutingControlGet> {
  static override summary = 'Show the state of one routing control';
  static override description =
    'Reads the control through the ARC cluster, trying every cluster endpoint in turn, exactly as the services do ' +
    'when they poll their region gate. The control may be given by name (e.g. trade-dns-us-east-1) or by ARN. ' +
    'Exit code 4 means no cluster endpoint answered.';
  static override examples = [
    '<%= config.bin %> routing-control get trade-dns-us-east-1',
    '<%= config.bin %> routing-control get settlement-gate --json',
  ];
  static override args = {
    control: Args.string({ description: 'routing control name or ARN', required: true }),
  };

  async run(): Promise<RoutingControlState> {
    const platform = await openPlatform(this.loadConfig());
    try {
      const control = await platform.routingControls().get(this.args.control);
      if (!this.jsonEnabled()) this.log(`${control.name}  ${control.state}`);
      return control;
    } finally {
      await platform.close();
    }
  }
}
