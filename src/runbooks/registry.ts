import type { z } from 'zod';
import type { ResourceNames, TsrConfig } from '../config/model.js';
import type { Platform } from '../platform/platform.js';
import type { RpoSample } from './journal.js';
import type { DocPath, ParamValue } from './model.js';

/** What planning knows about the target: enough to resolve and check names without touching it. */
export interface PlanEnv {
  readonly config: Pick<TsrConfig, 'environment' | 'regions' | 'apps'>;
  readonly names: ResourceNames;
  /** Absent for a dry run without a deployed platform; aliases that need it (active, standby) are then refused. */
  readonly platform?: Platform;
  /** Only check the values, before looking at the platform: aliases that need it are left as they are. */
  readonly offline?: boolean;
}

/** Asks the operator a yes/no question. The engine's default refuses when there is no terminal. */
export interface Prompter {
  confirm(message: string): Promise<boolean>;
}

/** A plan-time problem of a step; `path` is inside the step's params, e.g. ['set', 'trade-dns-us-east-1']. */
export type CheckProblem = string | { readonly path: DocPath; readonly message: string };

/** What a running step gets from the engine. */
export interface StepContext {
  readonly runId: string;
  readonly runbook: string;
  readonly stepId: string;
  /** 'rollback' while the step runs as part of a rollback; 'finally' while it restores safety after a run. */
  readonly phase: 'run' | 'rollback' | 'finally';
  /** The run's resolved parameters (app, source, target, …). */
  readonly params: Readonly<Record<string, ParamValue>>;
  /** What the run is locked on (usually the app). */
  readonly lockKey: string;
  readonly platform: Platform;
  /** Aborts on Ctrl-C or when the step's timeout expires: stop waiting, leave nothing half-done. */
  readonly signal: AbortSignal;
  /** Epoch ms at which the step times out, if it has a timeout. */
  readonly deadline?: number;
  /** True when the run was started with --yes: approvals pass without a prompt (and say so). */
  readonly yes: boolean;
  /** The workspace directory (journals live in <workspace>/runbooks). */
  readonly workspace: string;
  /** Updates the live detail line (e.g. "backlog 1,234 → 0", "lag 420 ms"); also kept in the journal. */
  detail(text: string): void;
  /** Records a timing marker now (or at `at`): dns-swapped, target-consuming, canary-confirmed, … */
  mark(name: string, at?: Date): void;
  /** When `name` was first recorded in this run (by any step), or undefined. */
  markerAt(name: string): Date | undefined;
  /** Records data at risk for the report's RPO (before and after replay). */
  recordRpo(sample: Omit<RpoSample, 'step' | 'at'>): void;
  /** Asks the operator (progress output pauses around it); refuses without a terminal. */
  confirm(message: string): Promise<boolean>;
  /** Waits `ms`, rejecting as soon as `signal` aborts. */
  sleep(ms: number): Promise<void>;
}

/** What a step returns when it succeeds. A failing step throws (a UserError for conditions a user can fix). */
export interface StepOutcome {
  /** Final detail line (default: the last one the step set). */
  readonly detail?: string;
  /** Anything JSON-serializable, kept in the journal as the step's result. */
  readonly result?: unknown;
  /** Ends the run successfully here, skipping the remaining steps (e.g. "already active in us-west-2"). */
  readonly endRun?: string;
}

/**
 * A kind of step a runbook can use (`type:` in YAML). Contract for implementations:
 * - `run` is idempotent: a resumed run repeats the step that was in progress when it stopped;
 * - `run` honours `ctx.signal` promptly, and a step that throws has changed nothing (or its own rollback steps
 *   undo whatever it did; rollback runs the rollback steps of completed and interrupted steps);
 * - waits measure, never treat "no data" as done, and need a `timeout` (set `requiresTimeout`).
 */
export interface StepType<P = unknown> {
  /** The name runbooks use, e.g. `wait.replicated`. */
  readonly type: string;
  /** One line for `tsr runbook list` and docs. */
  readonly summary: string;
  /** Validates (and may convert) the step's `params` after `${…}` interpolation. */
  readonly params: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** The step waits for something: the runbook must give it a `timeout`. */
  readonly requiresTimeout?: boolean;
  /** Used when the runbook gives no timeout (steps that do not require one). */
  readonly defaultTimeoutMs?: number;
  /** Like defaultTimeoutMs, from the step's parameters (a step told to wait up to N needs more than N). */
  timeoutFor?(params: P): number;
  /** The step asks the operator: live progress output pauses while it runs. */
  readonly interactive?: boolean;
  /**
   * Plan-time checks against the environment's names (unknown routing control, region, …): the problems found,
   * each optionally with its path inside `params` (for the line number).
   */
  check?(params: P, env: PlanEnv): readonly CheckProblem[];
  /** One line for the plan, with every name resolved. */
  describe(params: P): string;
  run(ctx: StepContext, params: P): Promise<StepOutcome | void>;
}

/** Builds a step type whose `params` type is inferred from its zod schema. */
export function defineStepType<S extends z.ZodTypeAny>(
  type: Omit<StepType<z.output<S>>, 'params'> & { readonly params: S },
): StepType<z.output<S>> {
  return type as StepType<z.output<S>>;
}

/** The step types a runbook may use. Runbooks naming a type that is not registered fail validation. */
export class StepRegistry {
  private readonly types = new Map<string, StepType>();

  constructor(types: readonly StepType[] = []) {
    for (const type of types) this.register(type);
  }

  /** Adds a step type; registering a name twice is a programming error (use `replace` in tests). */
  register(type: StepType): this {
    if (this.types.has(type.type)) throw new Error(`step type ${type.type} is already registered`);
    this.types.set(type.type, type);
    return this;
  }

  /** Adds or replaces a step type. */
  replace(type: StepType): this {
    this.types.set(type.type, type);
    return this;
  }

  /** Removes a step type (a copy without one shows how a runbook reports a type it cannot find). */
  remove(type: string): this {
    this.types.delete(type);
    return this;
  }

  get(type: string): StepType | undefined {
    return this.types.get(type);
  }

  has(type: string): boolean {
    return this.types.has(type);
  }

  /** Registered type names, sorted. */
  names(): string[] {
    return [...this.types.keys()].sort();
  }

  list(): StepType[] {
    return this.names().map((name) => this.types.get(name) as StepType);
  }

  /** A copy that can be extended without touching this registry (tests). */
  clone(): StepRegistry {
    return new StepRegistry(this.list());
  }
}
