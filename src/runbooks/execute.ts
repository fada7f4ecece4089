import { deriveNames, type TsrConfig } from '../config/model.js';
import { UserError } from '../errors.js';
import { onInterrupt } from '../lib/interrupt.js';
import { contextOfConfig, progressWriter } from '../lib/next-command.js';
import { openPlatform } from '../platform/open.js';
import { loadRunbook } from './catalog.js';
import { runExitCode, runRunbook, type RunResult } from './engine.js';
import type { LoadedRunbook } from './model.js';
import { resolveParameters } from './parameters.js';
import { planRunbook, planSummary, renderPlan, type RunPlan } from './plan.js';

export type ExecuteResult =
  | { readonly dryRun: true; readonly plan: ReturnType<typeof planSummary>; readonly noop?: string }
  | ({ readonly dryRun: false } & RunResult);

/** Moving an app to where it already is: the run would end at its preflight, so the plan has nothing to show. */
function noopReason(plan: RunPlan): string | undefined {
  const { app, source, target } = plan.params;
  if (source === undefined || source !== target) return undefined;
  return `${String(app ?? plan.name)} would move from ${String(source)} to ${String(target)}: nothing to do`;
}

export interface ExecuteOptions {
  readonly dryRun?: boolean;
  readonly yes?: boolean;
  readonly json: boolean;
  /** Where the plan goes on a dry run (not with --json). */
  readonly log: (text: string) => void;
}

/**
 * The runbook, after checking it and the parameter values without the platform: bad input is bad input whether
 * or not a platform is deployed (the same exit 2 with or without --dry-run), and before anyone is asked anything.
 */
export async function checkRunbookInput(
  config: TsrConfig,
  nameOrFile: string,
  params: Record<string, string>,
): Promise<LoadedRunbook> {
  const runbook = loadRunbook(nameOrFile);
  await resolveParameters(runbook.definition, params, { config, names: deriveNames(config), offline: true });
  return runbook;
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
  const runbook = await checkRunbookInput(config, nameOrFile, params);
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
      const noop = noopReason(plan);
      if (noop) {
        if (!options.json) options.log(`${noop} (the run would end as a no-op at its preflight).`);
        return { dryRun: true, plan: { ...planSummary(plan), steps: [] }, noop };
      }
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
        write: progressWriter(contextOfConfig(config)),
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
