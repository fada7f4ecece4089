import { Command, Errors, Flags, type Interfaces } from '@oclif/core';
import { type ResolvedConfig, resolveConfig, splitList } from '../config/load.js';
import type { TsrConfig } from '../config/model.js';
import { ExitCode, UserError } from '../errors.js';
import { asUserError, errorJson } from './errors-out.js';
import { type ContextFlags, withContext } from './next-command.js';

/** Flags every command that touches a platform shares. Each can also come from a TSR_* variable or tsr.config.yaml. */
export const configFlags = {
  config: Flags.string({
    description: 'config file (default: ./tsr.config.yaml|yml|json if present)',
    env: 'TSR_CONFIG',
    helpGroup: 'CONFIG',
  }),
  // The TSR_* variables are read by loadConfig, setting by setting, not by oclif (so that `tsr config show` can
  // tell a variable from a flag): the help says so in oclif's own words.
  env: Flags.string({
    description: '[env: TSR_ENV] environment name, prefixes every resource [default: dev]',
    helpGroup: 'CONFIG',
  }),
  regions: Flags.string({
    description: '[env: TSR_REGIONS] comma-separated regions, first is the primary [default: us-east-1,us-west-2]',
    helpGroup: 'CONFIG',
  }),
  target: Flags.string({
    description: '[env: TSR_TARGET] where the platform runs [default: local]',
    options: ['local', 'aws'],
    helpGroup: 'CONFIG',
  }),
  workspace: Flags.string({
    description: '[env: TSR_WORKSPACE] local state, data and logs [default: ./.tsr]',
    helpGroup: 'CONFIG',
  }),
};

export type ConfigFlagValues = {
  config?: string;
  env?: string;
  regions?: string;
  target?: string;
  workspace?: string;
};

/**
 * Base of every tsr command: `--json` on all of them, and user errors printed as "message + fix" with a meaningful
 * exit code instead of a stack trace.
 */
export abstract class TsrCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true;
  static override baseFlags = configFlags;
  protected flags!: Interfaces.InferredFlags<T['flags'] & typeof TsrCommand.baseFlags>;
  protected args!: Interfaces.InferredArgs<T['args']>;

  public override async init(): Promise<void> {
    await super.init();
    const { args, flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof TsrCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as typeof this.flags;
    this.args = args as typeof this.args;
  }

  /** The configuration from defaults, config file, TSR_* variables and the config flags. */
  protected loadConfig(): TsrConfig {
    return this.resolveConfig().config;
  }

  /** The configuration with the source of every setting. */
  protected resolveConfig(): ResolvedConfig {
    const flags = this.flags as ConfigFlagValues;
    return resolveConfig({
      configFile: flags.config,
      environment: flags.env,
      regions: flags.regions === undefined ? undefined : splitList(flags.regions),
      target: flags.target as 'local' | 'aws' | undefined,
      workspace: flags.workspace,
    });
  }

  /** `text` with the user's config flags added to every `tsr …` command it suggests. */
  protected withContext(text: string): string {
    return withContext(text, (this.flags ?? {}) as ContextFlags, this.config.bin);
  }

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    const found = asUserError(error, `${this.config.bin} ${this.id?.replaceAll(':', ' ') ?? ''}`.trim());
    // Suggested commands act on the deployment this one did (--workspace, --env, … as given).
    const userError = found && new UserError(found.message, found.fix && this.withContext(found.fix), found.exitCode);
    if (this.jsonEnabled()) {
      // Every error as {error: {message, fix, exitCode}}: never oclif's dump of its own internals.
      const exitCode = userError?.exitCode ?? error.oclif?.exit ?? ExitCode.failure;
      process.exitCode = exitCode;
      this.logJson(errorJson(userError ?? error, exitCode));
      return;
    }
    if (userError) {
      process.exitCode = userError.exitCode;
      const fix = userError.fix ? `\nFix: ${userError.fix}` : '';
      // Errors.error prints "Error: message" without a stack for user errors.
      throw new Errors.CLIError(`${userError.message}${fix}`, { exit: userError.exitCode });
    }
    return super.catch(error);
  }
}
