import { Args, Flags } from '@oclif/core';
import { ExitCode } from '../errors.js';

/** Arguments and flags shared by `tsr rotate` and `tsr failover`. */
export const drillArgs = {
  app: Args.string({ description: 'the app to move', required: true, options: ['trade', 'settlement'] }),
};

export const drillFlags = {
  to: Flags.string({ description: 'target region: a region name, primary, secondary or standby', default: 'standby' }),
  from: Flags.string({ description: 'source region (default: where the app is active now)' }),
  'dry-run': Flags.boolean({ description: 'print the plan with every name resolved; change nothing' }),
  yes: Flags.boolean({ char: 'y', description: 'do not ask for confirmation' }),
};

export function drillParams(app: string, flags: { to: string; from?: string }): Record<string, string> {
  return { app, target: flags.to, ...(flags.from ? { source: flags.from } : {}) };
}

/** --confirm <environment>: what the most dangerous commands need in scripts instead of a typed name. */
export const typedConfirmFlag = Flags.string({
  description: 'the environment name, to confirm without a prompt (--yes is not enough for this)',
});

/** What a drill command (rotate, failover) can exit with; its help lists them. */
export const DRILL_EXIT_CODES = [
  ExitCode.ok,
  ExitCode.failure,
  ExitCode.usage,
  ExitCode.notDeployed,
  ExitCode.refused,
  ExitCode.interrupted,
];
