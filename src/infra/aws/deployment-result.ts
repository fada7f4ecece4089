/** What an AWS deployment run is asked to do, what it reports, and its error naming the stack that failed. */
import type { CostEstimate } from './cost.js';
import { ExitCode, UserError } from '../../errors.js';
import type { DeployedGlobal } from './deployment-record.js';
import type { RoutingInitialisation } from './initial-routing.js';
import type { AwsDeploymentMode, PlanChanges } from './stack-plan.js';
import type { SynthOptions } from './synth.js';
import type { TerraformBinary } from './terraform.js';

export type { AwsDeploymentMode } from './stack-plan.js';

export interface AwsDeploymentOptions extends SynthOptions {
  readonly mode: AwsDeploymentMode;
  /** Where stacks are synthesized and terraform runs (default cdktf.out). */
  readonly outDir?: string;
  readonly signal?: AbortSignal;
  /** Progress display; non-TTY output always falls back to plain lines. `silent` for --json. */
  readonly renderer?: 'default' | 'simple' | 'silent';
  /** Environment for terraform and binary lookup (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Pause between the routing-control batches of the first apply (default: the safety rules' wait period + 1 s). */
  readonly routingSettleMs?: number;
}

export interface StackRunResult {
  readonly stack: string;
  readonly kind: 'global' | 'regional';
  readonly region?: string;
  readonly dir: string;
  readonly status: 'applied' | 'planned' | 'destroyed' | 'failed' | 'not-run';
  readonly durationMs?: number;
  /** Terraform log of this stack (init + plan/apply/destroy). */
  readonly logFile: string;
  /** From the plan summary line, when terraform printed one. */
  readonly changes?: PlanChanges;
  readonly error?: string;
  /**
   * Applied a second time in this run, after the regions applied after it: their broker endpoints (for
   * TSR_BROKER_URLS) did not exist, or changed, when it was first applied. `changes` and `durationMs` cover both.
   */
  readonly reappliedFor?: readonly string[];
}

/** What happened to the routing controls' states in this run. */
export type RoutingControlsOutcome =
  | (RoutingInitialisation & { readonly action: 'initialized' | 'adopted' })
  | { readonly action: 'unchanged'; readonly since: string }
  | { readonly action: 'pending' };

export interface AwsDeploymentResult {
  readonly mode: AwsDeploymentMode;
  readonly environment: string;
  readonly regions: readonly string[];
  readonly account: string;
  readonly callerArn: string;
  readonly binary: TerraformBinary;
  readonly outDir: string;
  /** The deployment record (regions, per-stack status, ARC outputs). */
  readonly recordFile: string;
  /** In the order they ran (destroy: reverse apply order). */
  readonly stacks: readonly StackRunResult[];
  /** After apply: the ARC cluster endpoints and ARNs from the global stack. */
  readonly global?: DeployedGlobal;
  /**
   * apply: the deploy-time states set after the first apply (`initialized`), left alone because a control was
   * already ON (`adopted`), or untouched because an earlier apply set them (`unchanged`). plan: `pending` until the
   * first apply has set them.
   */
  readonly routingControls?: RoutingControlsOutcome;
  /** plan: the estimated monthly cost per stack (region) and in total, from the repository's dated price table. */
  readonly cost?: CostEstimate;
  readonly durationMs: number;
}

/** A stack failed: names it, carries the results so far (earlier stacks stay applied; a re-run continues). */
export class AwsDeploymentError extends UserError {
  constructor(
    readonly failedStack: string,
    readonly step: string,
    detail: string,
    readonly result: AwsDeploymentResult,
  ) {
    const stack = failedStack;
    const verb = result.mode === 'destroy' ? 'destroying' : result.mode === 'plan' ? 'planning' : 'applying';
    const done = result.stacks.filter((s) => s.status !== 'failed' && s.status !== 'not-run').map((s) => s.stack);
    super(
      `${verb} stack ${stack} failed (terraform ${step}):\n${detail}` +
        (done.length ? `\nAlready ${result.mode === 'destroy' ? 'destroyed' : 'done'}: ${done.join(', ')}.` : ''),
      `fix the cause (full log: ${result.stacks.find((s) => s.stack === stack)?.logFile}), then run the same ` +
        `command again: finished stacks are left as they are and the run continues from ${stack}`,
      ExitCode.failure,
    );
    this.name = 'AwsDeploymentError';
  }
}
