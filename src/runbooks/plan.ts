import { formatDuration, parseDuration } from './duration.js';
import { interpolate, interpolateText } from './interpolate.js';
import { IssueCollector, RunbookValidationError, displayPath, validateRunbook } from './load.js';
import type {
  DocPath,
  FailurePolicy,
  FinallyStepSpec,
  LoadedRunbook,
  ParamValue,
  RollbackStepSpec,
  StepSpec,
} from './model.js';
import { builtinVariables, resolveParameters } from './parameters.js';
import type { PlanEnv, StepRegistry } from './registry.js';
import { stepRegistry } from './steps/index.js';

/** A step with every name resolved, ready to run. */
export interface PlannedStep {
  readonly id: string;
  readonly type: string;
  /** The runbook's title, or the step type's description of what it does. */
  readonly title: string;
  /** What the step will do, with resolved names (from the step type). */
  readonly summary: string;
  /** Parameters after interpolation and the step type's schema. */
  readonly params: unknown;
  readonly timeoutMs?: number;
  readonly onFailure: FailurePolicy;
  readonly marks: readonly string[];
  readonly rollback: readonly PlannedStep[];
  readonly interactive: boolean;
  /** Line of the step in the runbook file. */
  readonly line: number;
  /** Finally steps: the step whose effect this one reverses (re-applied on resume or rollback). */
  readonly undoes?: string;
}

export interface RunPlan {
  readonly runbook: LoadedRunbook;
  readonly name: string;
  readonly description: string;
  /** Resolved parameter values (aliases such as `secondary` replaced by region names). */
  readonly params: Readonly<Record<string, ParamValue>>;
  /** What no two runs may share (usually the app). */
  readonly lockKey: string;
  readonly steps: readonly PlannedStep[];
  /** Run when a run ends in any way but success, to restore safety (e.g. close the gate). */
  readonly finally: readonly PlannedStep[];
}

export interface PlanOptions extends PlanEnv {
  /** Step types to plan with; default: the shared `stepRegistry`. */
  readonly registry?: StepRegistry;
}

/**
 * Validates `runbook`, resolves its parameters from `given` (strings from `--param`, or typed values) and every
 * `${…}` in its steps, and checks each step's parameters against its type and the environment's names. Problems in
 * the file are reported with their line (RunbookValidationError); bad parameter values as usage errors.
 */
export async function planRunbook(
  runbook: LoadedRunbook,
  given: Readonly<Record<string, unknown>>,
  options: PlanOptions,
): Promise<RunPlan> {
  const registry = options.registry ?? stepRegistry;
  const problems = validateRunbook(runbook, registry);
  if (problems.length) throw new RunbookValidationError(runbook.file, problems);
  const { definition } = runbook;
  const params = await resolveParameters(definition, given, options);
  const variables = { ...builtinVariables(options), ...params };
  const issues = new IssueCollector(runbook.file, (p) => runbook.locate(p), definition);

  const plan = (spec: StepSpec | RollbackStepSpec | FinallyStepSpec, at: DocPath, rollback: readonly PlannedStep[]) => {
    const type = registry.get(spec.type);
    if (!type) return undefined;
    let raw: unknown;
    let title: string | undefined;
    let timeout: unknown;
    try {
      raw = interpolate(spec.params ?? {}, variables);
      title = spec.title === undefined ? undefined : interpolateText(spec.title, variables);
      timeout = spec.timeout === undefined ? undefined : interpolate(spec.timeout, variables);
    } catch (error) {
      issues.add(at, (error as Error).message);
      return undefined;
    }
    const parsed = type.params.safeParse(raw);
    if (!parsed.success) {
      issues.zod([...at, 'params'], parsed.error);
      return undefined;
    }
    for (const problem of type.check?.(parsed.data, options) ?? []) {
      if (typeof problem === 'string') issues.add([...at, 'params'], problem);
      else issues.add([...at, 'params'], problem.message, problem.path);
    }
    const timeoutMs =
      typeof timeout === 'string' ? parseDuration(timeout) : (type.timeoutFor?.(parsed.data) ?? type.defaultTimeoutMs);
    if (typeof timeout === 'string' && timeoutMs === undefined) {
      issues.add(at, `timeout "${timeout}" is not a duration`, ['timeout']);
    }
    const summary = type.describe(parsed.data);
    return {
      id: spec.id,
      type: spec.type,
      title: title ?? summary,
      summary,
      params: parsed.data,
      timeoutMs,
      onFailure: ('onFailure' in spec ? spec.onFailure : undefined) ?? 'stop',
      marks: [spec.marks ?? []].flat(),
      rollback,
      interactive: type.interactive ?? false,
      line: runbook.locate(at).line,
      ...('undoes' in spec && spec.undoes ? { undoes: spec.undoes } : {}),
    } satisfies PlannedStep;
  };

  const steps: PlannedStep[] = [];
  definition.steps.forEach((spec, index) => {
    const at = ['steps', index];
    const rollback = (spec.rollback ?? []).flatMap((undo, i) => plan(undo, [...at, 'rollback', i], []) ?? []);
    const step = plan(spec, at, rollback);
    if (step) steps.push(step);
  });
  const finallySteps = (definition.finally ?? []).flatMap((spec, i) => plan(spec, ['finally', i], []) ?? []);
  if (issues.list.length) {
    throw new RunbookValidationError(
      runbook.file,
      issues.list,
      `cannot plan ${displayPath(runbook.file)} with these parameters`,
    );
  }
  const firstApp = Object.entries(definition.parameters ?? {}).find(([, spec]) => spec.type === 'app')?.[0];
  const lockKey =
    definition.lock !== undefined
      ? interpolateText(definition.lock, variables)
      : firstApp
        ? String(params[firstApp])
        : definition.name;
  return {
    runbook,
    name: definition.name,
    description: definition.description,
    params,
    lockKey,
    steps,
    finally: finallySteps,
  };
}

function stepLines(step: PlannedStep, label: string): string[] {
  const facts = [
    step.timeoutMs !== undefined ? `timeout ${formatDuration(step.timeoutMs)}` : undefined,
    step.onFailure !== 'stop' ? `on failure: ${step.onFailure}` : undefined,
    step.marks.length ? `marks ${step.marks.join(', ')}` : undefined,
  ].filter(Boolean);
  const what = `${step.type}: ${step.summary}${facts.length ? `  (${facts.join('; ')})` : ''}`;
  const indent = ' '.repeat(label.length + 1);
  const lines =
    step.title === step.summary
      ? [`${label} ${step.id}  ${what}`]
      : [`${label} ${step.id}  ${step.title}`, `${indent}${what}`];
  for (const undo of step.rollback) lines.push(`${indent}rollback ${undo.id}  ${undo.type}: ${undo.summary}`);
  return lines;
}

/** The plan as text: parameters, then each step with its resolved names, timeout, failure policy and rollback. */
export function renderPlan(plan: RunPlan): string {
  const params = Object.entries(plan.params)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ');
  const width = String(plan.steps.length).length;
  return [
    `Runbook ${plan.name}: ${plan.description.trim()}`,
    `Parameters: ${params || '(none)'}    lock: ${plan.lockKey}    file: ${displayPath(plan.runbook.file)}`,
    '',
    ...plan.steps.flatMap((step, i) => stepLines(step, `${String(i + 1).padStart(width)}.`)),
    ...(plan.finally.length ? ['', 'Finally, if the run ends in any way but success (restores safety):'] : []),
    ...plan.finally.flatMap((step) => stepLines(step, `${' '.repeat(width)}*`)),
  ].join('\n');
}

/** A plan as plain data (for --json): everything but the runbook's source. */
export function planSummary(plan: RunPlan) {
  const step = (s: PlannedStep): Omit<PlannedStep, 'rollback'> & { rollback: unknown[] } => ({
    ...s,
    rollback: s.rollback.map(step),
  });
  return {
    name: plan.name,
    description: plan.description,
    file: plan.runbook.file,
    params: plan.params,
    lockKey: plan.lockKey,
    steps: plan.steps.map(step),
    finally: plan.finally.map(step),
  };
}
