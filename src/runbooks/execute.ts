import { deriveNames, type TsrConfig } from '../config/model.js';
import { UserError } from '../errors.js';
import { onInterrupt } from '../lib/interrupt.js';
import { openPlatform } from '../platform/open.js';
import { loadRunbook } from './catalog.js';
import { runExitCode, runRunbook, type RunResult } from './engine.js';
import { planRunbook, planSummary, renderPlan } from './plan.js';

export type ExecuteResult =
  { readonly dryRun: true; readonly plan: ReturnType<typeof planSummary> } | ({ readonly dryRun: false } & RunResult);

export interface ExecuteOptions {
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly json: boolean;
  /** Where the plan goes on a dry run (not with --json). */
  readonly log: (text: string) => void;
}

/**
 * What `tsr runbook run`, `tsr rotate` and `tsr failover` do: a plan on --dry-run (works without a deployed
 * platform unless a parameter needs it), otherwise the run itself, interruptible with Ctrl-C. Sets the exit code.
 */
export async function executeRunbook(
  config: TsrConfig,
  nameOrFile: string,
  params: Record<string, string>,
  options: ExecuteOptions,
): Promise<ExecuteResult> {
  const runbook = loadRunbook(nameOrFile);
  if (options.dryRun) {
    const platform = await openPlatform(config).catch((error: unknown) => {
      if (error instanceof UserError) return undefined;
      throw error;
    });
    try {
      const plan = await planRunbook(runbook, params, {
        config,
        names: platform?.names ?? deriveNames(config),
        platform,
      });
      if (!options.json) options.log(renderPlan(plan));
      return { dryRun: true, plan: planSummary(plan) };
    } finally {
      await platform?.close();
    }
  }
  const platform = await openPlatform(config);
  try {
    const result = await onInterrupt((signal) =>
      runRunbook(runbook, params, {
        platform,
        workspace: config.workspace,
        yes: options.yes ?? false,
        json: options.json,
        signal,
      }),
    );
    process.exitCode = runExitCode(result.journal);
    return { dryRun: false, ...result };
  } finally {
    await platform.close();
  }
}
