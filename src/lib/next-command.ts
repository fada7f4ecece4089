import path from 'node:path';

/** The config flags that say which deployment a command acts on: a suggested next command must act on it too. */
const CONTEXT_FLAGS = ['workspace', 'env', 'regions', 'target', 'config'] as const;

export type ContextFlags = Partial<Record<(typeof CONTEXT_FLAGS)[number], string>>;

const quoteIfNeeded = (value: string) => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);

/**
 * Adds the user's config flags to every `tsr …` command quoted in a hint, so that "run `tsr runbook resume`" after
 * `--workspace /tmp/drill` names that workspace too (unless the hint already sets the flag).
 */
export function withContext(text: string, flags: ContextFlags, bin = 'tsr'): string {
  return text.replace(new RegExp(`\`${bin} ([^\`]*)\``, 'g'), (whole: string, rest: string) => {
    if (/^help\b/.test(rest)) return whole;
    const added = CONTEXT_FLAGS.filter((name) => flags[name] !== undefined && !rest.includes(`--${name}`)).map(
      (name) => `--${name} ${quoteIfNeeded(flags[name] as string)}`,
    );
    return added.length ? `\`${bin} ${rest} ${added.join(' ')}\`` : whole;
  });
}

/**
 * The config flags of a resolved configuration that differ from the defaults: for hints written where the flags
 * as typed are not known (a runbook's progress), so that its suggested commands act on the same deployment.
 */
export function contextOfConfig(
  config: { readonly workspace: string; readonly environment: string; readonly target: string },
  cwd = process.cwd(),
): ContextFlags {
  return {
    ...(config.workspace === path.resolve(cwd, '.tsr') ? {} : { workspace: config.workspace }),
    ...(config.environment === 'dev' ? {} : { env: config.environment }),
    ...(config.target === 'local' ? {} : { target: config.target }),
  };
}

/** Writes progress text to stdout with the deployment's flags added to the commands it suggests. */
export function progressWriter(context: ContextFlags): (text: string) => void {
  return (text) => process.stdout.write(withContext(text, context));
}
