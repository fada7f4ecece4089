import { z } from 'zod';

/** Step and runbook ids: lowercase letters, digits and dashes. */
const ID = /^[a-z0-9][a-z0-9-]*$/;
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Types a runbook parameter can have; `--param k=v` values are checked and converted by type. */
export const PARAMETER_TYPES = ['app', 'region', 'regions', 'string', 'number', 'boolean', 'duration'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

/** A resolved parameter (or built-in variable) value. */
export type ParamValue = string | number | boolean | readonly string[];

export const FAILURE_POLICIES = ['stop', 'rollback', 'continue'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

const literal = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

export const parameterSchema = z
  .object({
    type: z.enum(PARAMETER_TYPES),
    description: z.string().optional(),
    /** A literal, or for region parameters an alias: primary, secondary, active (the app's region), standby. */
    default: literal.optional(),
    /** Allowed values (string, number parameters). */
    choices: z
      .array(z.union([z.string(), z.number()]))
      .nonempty()
      .optional(),
  })
  .strict();

const stepFields = {
  id: z.string().regex(ID, 'a step id is lowercase letters, digits and dashes'),
  type: z.string().min(1),
  title: z.string().optional(),
  params: z.record(z.string(), z.unknown()).nullable().optional(),
  /** "30s", "2m", or `${parameter}`; required for steps that wait. */
  timeout: z.union([z.string(), z.number()]).optional(),
  /** Timing markers recorded when the step completes (e.g. dns-swapped). */
  marks: z.union([z.string(), z.array(z.string())]).optional(),
};

const rollbackStepSchema = z.object({ ...stepFields, onFailure: z.enum(['stop', 'continue']).optional() }).strict();

/**
 * A step that restores safety whenever a run ends in any way but success (failed, interrupted, rolled back): e.g.
 * close the gate the run opened. `undoes` names the step whose effect it reverses: resuming or rolling back the run
 * re-applies that step first, so the run continues from where it was.
 */
const finallyStepSchema = z
  .object({ ...stepFields, undoes: z.string().regex(ID, 'undoes names a step id').optional() })
  .strict();

export const stepSchema = z
  .object({
    ...stepFields,
    onFailure: z.enum(FAILURE_POLICIES).optional(),
    /** Steps that undo this one; run in reverse step order by `tsr runbook rollback` or onFailure: rollback. */
    rollback: z.array(rollbackStepSchema).optional(),
  })
  .strict();

export const runbookSchema = z
  .object({
    name: z.string().regex(ID, 'a runbook name is lowercase letters, digits and dashes'),
    description: z.string().min(1),
    /** What no two runs may share, e.g. `${app}`; default: the first app parameter, else the runbook name. */
    lock: z.string().optional(),
    parameters: z.record(z.string().regex(PARAMETER_NAME, 'a parameter name is a word'), parameterSchema).optional(),
    steps: z.array(stepSchema).min(1, 'a runbook needs at least one step'),
    /** Steps run at the end of a run that did not complete (each runs even if one before it failed). */
    finally: z.array(finallyStepSchema).optional(),
  })
  .strict();

export type ParameterSpec = z.infer<typeof parameterSchema>;
export type RollbackStepSpec = z.infer<typeof rollbackStepSchema>;
export type StepSpec = z.infer<typeof stepSchema>;
export type FinallyStepSpec = z.infer<typeof finallyStepSchema>;
export type RunbookDefinition = z.infer<typeof runbookSchema>;

/** Variables every runbook can use besides its parameters. */
export const BUILTIN_VARIABLES = ['env', 'primary', 'secondary', 'regions'] as const;

/** Position of a node in a runbook file (1-based). */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** A path into the runbook document, e.g. ['steps', 3, 'params', 'maxLagMs']. */
export type DocPath = readonly (string | number)[];

/** A runbook read from YAML and checked against the schema, with a way back to its source lines. */
export interface LoadedRunbook {
  readonly file: string;
  readonly source: string;
  readonly definition: RunbookDefinition;
  /** Where `path` is in the file (the closest existing node when the path does not exist). */
  locate(path: DocPath): SourcePosition;
}

export interface RunbookIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly path: DocPath;
  readonly message: string;
}
