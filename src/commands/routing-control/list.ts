import { Flags } from '@oclif/core';
import { APPS, type AppName } from '../../config/apps.js';
import { TsrCommand } from '../../lib/base-command.js';
import { table } from '../../lib/table.js';
import { openPlatform } from '../../platform/open.js';
import type { RoutingControlState } from '../../platform/platform.js';

export interface RoutingControlListResult {
  readonly controls: readonly (RoutingControlState & { readonly app?: AppName })[];
}

function render(controls: RoutingControlListResult['controls']): string {
  const groups = [...new Set(controls.map((c) => c.app ?? 'other'))];
  return groups
    .map((group) => {
      const rows = controls.filter((c) => (c.app ?? 'other') === group).map((c) => [c.name, c.state]);
      const body = table(['CONTROL', 'STATE'], rows)
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n');
      return `${group}\n${body}`;
    })
    .join('\n\n');
}

export default class RoutingControlList extends TsrCommand<typeof RoutingControlList> {
  static override summary = 'List every routing control and its state, grouped by app';
  static override description =
    'Reads the states through the ARC cluster, trying every cluster endpoint. What On means:\n' +
    "- <app>-dns-<region>: senders publish to that region's broker.\n" +
    '- <app>-queue-<region>: the inbound gateway in that region consumes from its broker.\n' +
    "- <app>-app-<region>: the app's core in that region matches (needs the local database to be the writer).\n" +
    '- <app>-gate: a runbook is under way; queue and app controls may change.\n' +
    '- trade-generator: the generator generates.';
  static override examples = [
    '<%= config.bin %> routing-control list',
    '<%= config.bin %> routing-control list --app trade',
    '<%= config.bin %> routing-control list --json',
  ];
  static override flags = {
    app: Flags.string({ description: 'only the controls of this app', options: [...APPS] }),
  };

  async run(): Promise<RoutingControlListResult> {
    const platform = await openPlatform(this.loadConfig());
    try {
      const appOf = new Map(platform.names.routingControls.map((c) => [c.arn, c.app]));
      const controls = (await platform.routingControls().list())
        .map((c) => ({ ...c, app: appOf.get(c.arn) }))
        .filter((c) => this.flags.app === undefined || c.app === this.flags.app);
      if (!this.jsonEnabled()) this.log(render(controls));
      return { controls };
    } finally {
      await platform.close();
    }
  }
}
