import fs from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ExitCode, UserError } from '../errors.js';
import { parseDuration } from './duration.js';
import { interpolate, scanReferences } from './interpolate.js';
import {
  BUILTIN_VARIABLES,
  type DocPath,
  type LoadedRunbook,
  parameterSchema,
  type ParameterSpec,
  type ParamValue,
  runbookSchema,
  type RunbookIssue,
  type RunbookDefinition,
  type SourcePosition,
  stepSchema,
  type StepSpec,
} from './model.js';
import type { StepRegistry } from './registry.js';
import { OBSERVED_MARKERS } from './report.js';

/** A runbook with problems; every problem names the file and line. Exit code 2. */
export class RunbookValidationError extends UserError {
  constructor(
    readonly file: string,
    readonly issues: readonly RunbookIssue[],
    heading = `${displayPath(file)} is not a valid runbook`,
  ) {
    super(
      `${heading} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${displayPath(i.file)}:${i.line}:${i.column}  ${i.message}`).join('\n'),
      'correct the lines above; `tsr runbook list` shows every runbook and the step types it may use',
      ExitCode.usage,
    );
    this.name = 'RunbookValidationError';
  }
}

/** A path relative to the working directory when it is inside it (shorter error lines). */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** Maps a document path to the line of the closest node that exists (a missing key: its parent map). */
export function locator(contents: unknown, lineCounter: LineCounter): (path: DocPath) => SourcePosition {
  const positionOf = (node: unknown): SourcePosition | undefined => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range) return undefined;
    const { line, col } = lineCounter.linePos(range[0]);
    return { line, column: col };
  };
  return (docPath) => {
    let node: unknown = contents;
    let position = positionOf(node) ?? { line: 1, column: 1 };
    for (const segment of docPath) {
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p.key) === String(segment));
        if (!pair) break;
        position = positionOf(pair.key) ?? position;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment]) {
        node = node.items[segment];
        position = positionOf(node) ?? position;
      } else break;
    }
    return position;
  };
}

/** "step 3 (drain)" for ['steps', 2, …], "rollback step dns-back of step 3 (dns-swap)", "parameter target". */
function describeLocation(definition: unknown, docPath: DocPath): { where: string; rest: DocPath } {
  const steps = (definition as { steps?: unknown[] } | undefined)?.steps;
  if (docPath[0] === 'steps' && typeof docPath[1] === 'number') {
    const step = (Array.isArray(steps) ? steps[docPath[1]] : undefined) as
      { id?: unknown; type?: unknown; rollback?: { id?: unknown; type?: unknown }[] } | undefined;
    const name = (s: { id?: unknown; type?: unknown } | undefined, index: number) =>
      `step ${index + 1}${typeof s?.id === 'string' && s.id ? ` "${s.id}"` : ''}${typeof s?.type === 'string' ? ` (${s.type})` : ''}`;
    if (docPath[2] === 'rollback' && typeof docPath[3] === 'number') {
      const undo = Array.isArray(step?.rollback) ? step?.rollback[docPath[3]] : undefined;
      return { where: `rollback ${name(undo, docPath[3])} of ${name(step, docPath[1])}`, rest: docPath.slice(4) };
    }
    return { where: name(step, docPath[1]), rest: docPath.slice(2) };
  }
  if (docPath[0] === 'finally' && typeof docPath[1] === 'number') {
    const step = (definition as { finally?: { id?: unknown }[] } | undefined)?.finally?.[docPath[1]];
    return {
      where: `finally step ${docPath[1] + 1}${typeof step?.id === 'string' ? ` "${step.id}"` : ''}`,
      rest: docPath.slice(2),
    };
  }
  if (docPath[0] === 'parameters' && docPath.length > 1) {
    return { where: `parameter ${String(docPath[1])}`, rest: docPath.slice(2) };
  }
  return { where: '', rest: docPath };
}

function zodMessage(issue: z.ZodIssue): { path: DocPath; message: string } {
  if (issue.code === 'unrecognized_keys') {
    return {
      path: [...issue.path, issue.keys[0]],
      message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`,
    };
  }
  if (issue.code === 'invalid_type' && issue.received === 'undefined') {
    return { path: issue.path.slice(0, -1), message: `missing required field "${String(issue.path.at(-1))}"` };
  }
  if (issue.code === 'invalid_type') {
    return { path: issue.path, message: `expected ${issue.expected}, got ${issue.received}` };
  }
  if (issue.code === 'invalid_union') {
    return { path: issue.path, message: `not a valid value: ${issue.unionErrors[0]?.issues[0]?.message ?? ''}` };
  }
  return { path: issue.path, message: issue.message };
}

/** Collects problems with their position. */
export class IssueCollector {
  readonly list: RunbookIssue[] = [];
  constructor(
    private readonly file: string,
    private readonly locate: (path: DocPath) => SourcePosition,
    private readonly definition: unknown,
  ) {}

  add(docPath: DocPath, message: string, fieldPath: DocPath = []): void {
    const full = [...docPath, ...fieldPath];
    const { line, column } = this.locate(full);
    const { where, rest } = describeLocation(this.definition, full);
    const field = rest.length ? rest.join('.') : '';
    const prefix = [where, field].filter(Boolean).join(' › ');
    this.list.push({ file: this.file, line, column, path: full, message: prefix ? `${prefix}: ${message}` : message });
  }

  zod(docPath: DocPath, error: z.ZodError): void {
    for (const issue of error.issues) {
      const { path: at, message } = zodMessage(issue);
      this.add(docPath, message, at);
    }
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What of a runbook that failed its schema can still be checked: every parameter and step that is valid on its
 * own (a step without an id counts, with an empty one), so one slip does not hide the other problems.
 */
function salvageDefinition(data: Record<string, unknown>): RunbookDefinition {
  const parameters = Object.fromEntries(
    Object.entries(isObject(data.parameters) ? data.parameters : {}).flatMap(([name, spec]) => {
      const parsed = parameterSchema.safeParse(spec);
      return parsed.success ? [[name, parsed.data]] : [];
    }),
  );
  const steps = (Array.isArray(data.steps) ? data.steps : []).map((step: unknown) => {
    const parsed = stepSchema.safeParse(isObject(step) && step.id === undefined ? { ...step, id: 'x' } : step);
    return parsed.success
      ? { ...parsed.data, id: isObject(step) && step.id === undefined ? '' : parsed.data.id }
      : undefined;
  });
  return {
    name: typeof data.name === 'string' ? data.name : '',
    description: typeof data.description === 'string' ? data.description : '',
    lock: typeof data.lock === 'string' ? data.lock : undefined,
    parameters,
    // Steps that cannot be read are left out by position, so the others keep their index (and their line).
    steps: steps as RunbookDefinition['steps'],
  };
}

/**
 * Parses runbook YAML and checks it against the runbook schema. Step types, parameters and references are
 * checked by `validateRunbook`.
 */
export function readRunbook(
  text: string,
  file: string,
): { runbook?: LoadedRunbook; partial?: LoadedRunbook; issues: RunbookIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const locate = locator(doc.contents, lineCounter);
  if (doc.errors.length) {
    return {
      issues: doc.errors.map((error) => {
        const position = error.linePos?.[0] ?? { line: 1, col: 1 };
        return {
          file,
          line: position.line,
          column: position.col,
          path: [],
          message: `YAML: ${error.message.split('\n')[0]}`,
        };
      }),
    };
  }
  const data: unknown = doc.toJS();
  const issues = new IssueCollector(file, locate, data);
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    issues.add([], 'a runbook is a YAML map with name, description, parameters and steps');
    return { issues: issues.list };
  }
  const parsed = runbookSchema.safeParse(data);
  if (!parsed.success) {
    issues.zod([], parsed.error);
    return {
      issues: issues.list,
      partial: { file, source: text, definition: salvageDefinition(data as Record<string, unknown>), locate },
    };
  }
  return { runbook: { file, source: text, definition: parsed.data, locate }, issues: [] };
}

const REGION_ALIASES = ['primary', 'secondary', 'active', 'standby'];

/** A stand-in value for a parameter, to check step parameters before real values are known. */
function sampleValue(spec: ParameterSpec): ParamValue {
  const given = spec.default;
  switch (spec.type) {
    case 'app':
      return typeof given === 'string' ? given : 'trade';
    case 'region':
      return typeof given === 'string' && !REGION_ALIASES.includes(given) ? given : 'us-east-1';
    case 'regions':
      return Array.isArray(given) ? given : ['us-east-1', 'us-west-2'];
    case 'number':
      return typeof given === 'number' ? given : typeof spec.choices?.[0] === 'number' ? spec.choices[0] : 1;
    case 'boolean':
      return typeof given === 'boolean' ? given : true;
    case 'duration':
      return typeof given === 'string' ? given : '1s';
    case 'string':
      return typeof given === 'string' ? given : String(spec.choices?.[0] ?? 'x');
  }
}

/** Stand-in values of every variable, for validation without real parameter values. */
export function sampleVariables(definition: RunbookDefinition): Record<string, ParamValue> {
  return {
    env: 'dev',
    primary: 'us-east-1',
    secondary: 'us-west-2',
    regions: ['us-east-1', 'us-west-2'],
    ...Object.fromEntries(Object.entries(definition.parameters ?? {}).map(([k, spec]) => [k, sampleValue(spec)])),
  };
}

function checkParameter(name: string, spec: ParameterSpec, issues: IssueCollector): void {
  const at = ['parameters', name];
  if ((BUILTIN_VARIABLES as readonly string[]).includes(name)) {
    issues.add(at, `"${name}" is a built-in variable (${BUILTIN_VARIABLES.join(', ')}); choose another name`);
  }
  const given = spec.default;
  if (spec.choices && spec.type !== 'string' && spec.type !== 'number') {
    issues.add(at, `choices are for string and number parameters, not ${spec.type}`, ['choices']);
  }
  if (given === undefined) return;
  const bad = (expected: string) => issues.add(at, `default must be ${expected}`, ['default']);
  switch (spec.type) {
    case 'app':
    case 'string':
      if (typeof given !== 'string') bad('text');
      break;
    case 'region':
      if (typeof given !== 'string') bad(`a region or one of ${REGION_ALIASES.join(', ')}`);
      break;
    case 'regions':
      if (!Array.isArray(given)) bad('a list of regions');
      break;
    case 'number':
      if (typeof given !== 'number') bad('a number');
      break;
    case 'boolean':
      if (typeof given !== 'boolean') bad('true or false');
      break;
    case 'duration':
      if (typeof given !== 'string' || parseDuration(given) === undefined) bad('a duration such as 30s or 2m');
      break;
  }
  if (spec.choices && given !== undefined && !spec.choices.includes(given as string | number)) {
    issues.add(at, `default ${JSON.stringify(given)} is not one of the choices`, ['default']);
  }
}

/**
 * Checks what the schema cannot: step types are registered, waits have a timeout, timeouts are durations, every
 * `${…}` names a parameter or built-in, ids are unique, and each step's params suit its type (checked with
 * stand-in parameter values). Returns the problems, each with its line.
 */
export function validateRunbook(runbook: LoadedRunbook, registry: StepRegistry): RunbookIssue[] {
  const { definition } = runbook;
  const issues = new IssueCollector(runbook.file, (p) => runbook.locate(p), definition);
  const parameters = definition.parameters ?? {};
  for (const [name, spec] of Object.entries(parameters)) checkParameter(name, spec, issues);
  const known = new Set<string>([...BUILTIN_VARIABLES, ...Object.keys(parameters)]);
  const samples = sampleVariables(definition);

  const checkReferences = (value: unknown, at: DocPath) => {
    const { uses, malformed } = scanReferences(value, at);
    for (const use of uses) {
      if (!known.has(use.name)) {
        issues.add(use.path, `unknown variable \${${use.name}} (parameters and built-ins: ${[...known].join(', ')})`);
      }
    }
    for (const bad of malformed) issues.add(bad.path, `"${bad.text}" is not a reference; write \${name}`);
    return uses.every((use) => known.has(use.name)) && malformed.length === 0;
  };
  if (definition.lock !== undefined) checkReferences(definition.lock, ['lock']);

  const checkStep = (
    step: {
      id: string;
      type: string;
      title?: string;
      params?: Record<string, unknown> | null;
      timeout?: string | number;
    },
    at: DocPath,
  ) => {
    const type = registry.get(step.type);
    if (!type) {
      issues.add(at, `unknown step type "${step.type}" (registered: ${registry.names().join(', ')})`, ['type']);
    }
    const referencesOk = checkReferences(step.params ?? {}, [...at, 'params']);
    if (step.title !== undefined) checkReferences(step.title, [...at, 'title']);
    if (step.timeout === undefined) {
      if (type?.requiresTimeout) issues.add(at, `needs a timeout: ${step.type} waits (e.g. timeout: 2m)`);
    } else if (typeof step.timeout === 'number') {
      issues.add(at, `timeout ${step.timeout} has no unit; write e.g. ${step.timeout}s`, ['timeout']);
    } else if (checkReferences(step.timeout, [...at, 'timeout'])) {
      const whole = /^\$\{(\w+)\}$/.exec(step.timeout);
      const spec = whole ? parameters[whole[1]] : undefined;
      if (whole && spec?.type !== 'duration') {
        issues.add(at, `timeout refers to \${${whole[1]}}, which is not a duration parameter`, ['timeout']);
      } else if (!whole && parseDuration(step.timeout) === undefined) {
        issues.add(at, `timeout "${step.timeout}" is not a duration (e.g. 500ms, 30s, 2m, 1h)`, ['timeout']);
      }
    }
    if (type && referencesOk) {
      const parsed = type.params.safeParse(interpolate(step.params ?? {}, samples));
      if (!parsed.success) issues.zod([...at, 'params'], parsed.error);
    }
  };

  const ids = new Map<string, number>();
  definition.steps.forEach((step: StepSpec | undefined, index) => {
    if (!step) return; // refused by the schema (a salvaged runbook): already reported
    const at = ['steps', index];
    const previous = ids.get(step.id);
    if (previous !== undefined) issues.add(at, `duplicate step id "${step.id}" (also step ${previous + 1})`, ['id']);
    ids.set(step.id, index);
    checkStep(step, at);
    const rollbackIds = new Set<string>();
    (step.rollback ?? []).forEach((undo, i) => {
      const undoAt = [...at, 'rollback', i];
      if (rollbackIds.has(undo.id)) issues.add(undoAt, `duplicate rollback step id "${undo.id}"`, ['id']);
      rollbackIds.add(undo.id);
      checkStep(undo, undoAt);
    });
    for (const mark of [step.marks ?? []].flat()) {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(mark))
        issues.add(at, `marker "${mark}" must be lowercase-with-dashes`, ['marks']);
      else if (OBSERVED_MARKERS.includes(mark))
        issues.add(
          at,
          `marker "${mark}" is observed, not declared: add an observe.accepting step, which records it when the ` +
            'inbound gateway actually accepted',
          ['marks'],
        );
    }
  });
  const finallyIds = new Set<string>();
  (definition.finally ?? []).forEach((step, index) => {
    const at = ['finally', index];
    if (finallyIds.has(step.id)) issues.add(at, `duplicate finally step id "${step.id}"`, ['id']);
    finallyIds.add(step.id);
    checkStep(step, at);
    if (step.undoes !== undefined && !ids.has(step.undoes)) {
      issues.add(at, `undoes "${step.undoes}", which is not a step of this runbook`, ['undoes']);
    }
  });
  return issues.list;
}

/** Parses and validates runbook text; throws RunbookValidationError listing every problem with its line. */
export function parseRunbook(text: string, file: string, registry: StepRegistry): LoadedRunbook {
  const { runbook, partial, issues } = readRunbook(text, file);
  if (!runbook) {
    // Every problem at once: what the schema refused, and what the other checks find in the rest.
    const more = partial ? validateRunbook(partial, registry) : [];
    const seen = new Set(issues.map((i) => `${i.line}:${i.message}`));
    throw new RunbookValidationError(file, [...issues, ...more.filter((i) => !seen.has(`${i.line}:${i.message}`))]);
  }
  const problems = validateRunbook(runbook, registry);
  if (problems.length) throw new RunbookValidationError(file, problems);
  return runbook;
}

/** Reads, parses and validates a runbook file. */
export function loadRunbookFile(file: string, registry: StepRegistry): LoadedRunbook {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(
      `cannot read runbook ${displayPath(file)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      '`tsr runbook list` shows the runbooks it finds',
      ExitCode.usage,
    );
  }
  return parseRunbook(text, path.resolve(file), registry);
}
