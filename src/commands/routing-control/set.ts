import { Args, Flags } from '@oclif/core';
import { ExitCode, UserError } from '../../errors.js';
import { TsrCommand } from '../../lib/base-command.js';
import { confirmDestructive } from '../../lib/confirm.js';
import { openPlatform } from '../../platform/open.js';
import type { RoutingControlState, RoutingControlUpdate, RoutingState } from '../../platform/platform.js';

export interface RoutingControlChange {
  readonly control: string;
  readonly before?: RoutingState;
  readonly after?: RoutingState;
}

export interface RoutingControlSetResult {
  readonly changes: readonly RoutingControlChange[];
  readonly overridden: readonly string[];
}

/** `name=On|Off` (case-insensitive state) → update; a usage error otherwise. */
function parseAssignment(text: string): RoutingControlUpdate {
  const match = /^([^=\s]+)=(on|off)$/i.exec(text.trim());
  if (!match) {
    throw new UserError(
      `"${text}" is not <control>=On|Off`,
      'e.g. `tsr routing-control set trade-dns-us-east-1=Off trade-dns-us-west-2=On`',
      ExitCode.usage,
    );
  }
  return { control: match[1], state: match[2].toLowerCase() === 'on' ? 'On' : 'Off' };
}

export default class RoutingControlSet extends TsrCommand<typeof RoutingControlSet> {
  static override summary = 'Change routing controls in one atomic batch';
  static override description =
    'All assignments go to the ARC cluster as one batch: it is applied whole or not at all, and the safety rules ' +
    'judge the result, so swapping dns between regions in one command passes where two separate commands would not.\n\n' +
    'Safety rules, per app:\n' +
    '- <app>-at-least-one-dns: at least one <app>-dns-<region> stays On, so senders always have a broker.\n' +
    '- <app>-gate-queue-and-app: <app>-queue-* and <app>-app-* change only while <app>-gate is On.\n\n' +
    'A refused batch changes nothing and exits 5. Runbooks (tsr rotate, tsr failover) open the gate, check every ' +
    'step and close it again: use them for planned changes. In an emergency, name a rule with --override to skip it ' +
    'for this one batch. ARC cannot stop two regions from having <app>-app On, so make sure only the region holding ' +
    "the app's database writer does.";
  static override examples = [
    {
      description: 'Move trade senders to us-west-2 (one batch, so the dns assertion holds)',
      command: '<%= config.bin %> routing-control set trade-dns-us-east-1=off trade-dns-us-west-2=on',
    },
    {
      description: 'Start the generator',
      command: '<%= config.bin %> routing-control set trade-generator=On',
    },
    {
      description: 'Emergency: stop settlement core in us-east-1 without opening the gate',
      command:
        '<%= config.bin %> routing-control set settlement-app-us-east-1=Off --override settlement-gate-queue-and-app',
    },
  ];
  static exitCodes = [ExitCode.ok, ExitCode.usage, ExitCode.notDeployed, ExitCode.refused];
  static override strict = false;
  static override args = {
    assignment: Args.string({ description: '<control>=On|Off (one or more; control by name or ARN)', required: true }),
  };
  static override flags = {
    override: Flags.string({
      description: 'safety rule (name or ARN) to skip for this batch; repeatable',
      multiple: true,
      // `--override rule a=Off` must not swallow `a=Off` as a second rule.
      multipleNonGreedy: true,
    }),
    confirm: Flags.string({
      description: 'with --override: the environment name, to confirm without a prompt (--yes is not enough)',
    }),
  };

  async run(): Promise<RoutingControlSetResult> {
    const { argv } = await this.parse(RoutingControlSet);
    const updates = (argv as string[]).map(parseAssignment);
    const overridden = this.flags.override ?? [];
    const config = this.loadConfig();
    if (overridden.length) {
      await confirmDestructive({
        typed: config.environment,
        given: this.flags.confirm,
        what: `skip the safety rule${overridden.length > 1 ? 's' : ''} ${overridden.join(', ')}`,
      });
    }
    const platform = await openPlatform(config);
    try {
      const controls = platform.routingControls();
      const stateOf = (states: readonly RoutingControlState[], control: string) =>
        states.find((s) => s.name === control || s.arn === control);
      const before = await controls.list();
      await controls.set(updates, overridden);
      const after = await controls.list();
      const changes = updates.map((u) => ({
        control: stateOf(after, u.control)?.name ?? u.control,
        before: stateOf(before, u.control)?.state,
        after: stateOf(after, u.control)?.state,
      }));
      if (!this.jsonEnabled()) {
        const width = Math.max(...changes.map((c) => c.control.length));
        for (const c of changes) {
          this.log(`${c.control.padEnd(width)}  ${c.before ?? '?'} → ${c.after ?? '?'}`);
        }
        if (overridden.length) this.log(`overrode safety rules: ${overridden.join(', ')}`);
      }
      return { changes, overridden };
    } finally {
      await platform.close();
    }
  }
}
