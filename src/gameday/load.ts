import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { Target } from '../config/model.js';
import { ExitCode, UserError } from '../errors.js';
import { FAULT_SHAPES, TARGET_FAULTS } from '../platform/faults.js';
import { parseDuration } from '../runbooks/duration.js';
import { displayPath, locator } from '../runbooks/load.js';
import { resolveRunbookFile } from '../runbooks/catalog.js';
import type { DocPath, SourcePosition } from '../runbooks/model.js';
import {
  type Phase,
  phaseKind,
  phaseSchemaFor,
  PHASE_KINDS,
  type ScenarioDefinition,
  scenarioSchema,
} from './scenario.js';

/** The scenarios shipped with tsr. */
export const PACKAGED_SCENARIOS = fileURLToPath(new URL('../../runbooks/gamedays/', import.meta.url));

/** Where a workspace keeps its own scenarios (the dashboard offers them too). */
export function workspaceScenarios(workspace: string): string {
  return path.join(workspace, 'gamedays', 'scenarios');
}

/**
 * Where scenarios are looked up by name, first match wins: the workspace's own (`<workspace>/gamedays/scenarios`),
 * ./runbooks/gamedays of the working directory, then the packaged ones.
 */
export function scenarioDirectories(workspace?: string): string[] {
  const own = workspace ? [path.resolve(workspaceScenarios(workspace))] : [];
  return [...new Set([...own, path.resolve('runbooks', 'gamedays'), path.resolve(PACKAGED_SCENARIOS)])];
}

export interface LoadedScenario {
  readonly file: string;
  readonly source: string;
  readonly definition: ScenarioDefinition;
  /** Where a path of the document is (the closest existing node). */
  locate(path: DocPath): SourcePosition;
}

export interface ScenarioIssue {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/** A scenario with problems; every problem names file:line. Exit code 2, before anything runs. */
export class ScenarioValidationError extends UserError {
  constructor(
    readonly file: string,
    readonly issues: readonly ScenarioIssue[],
  ) {
    super(
      `${displayPath(file)} is not a valid game-day scenario (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n` +
        issues.map((i) => `  ${displayPath(file)}:${i.line}:${i.column}  ${i.message}`).join('\n'),
      'correct the lines above; `tsr gameday list` shows the built-in scenarios and docs/gamedays.md the format',
      ExitCode.usage,
    );
    this.name = 'ScenarioValidationError';
  }
}

/** What validation needs to know about where the scenario will run. */
export interface ScenarioEnv {
  readonly target: Target;
  readonly regions: readonly string[];
  /** Whose own scenarios to look up by name as well (scenarioDirectories). */
  readonly workspace?: string;
}

const REGION_ALIASES = ['primary', 'secondary', 'active', 'standby'];

class Issues {
  readonly list: ScenarioIssue[] = [];
  constructor(private readonly locate: (path: DocPath) => SourcePosition) {}

  add(at: DocPath, message: string): void {
    const { line, column } = this.locate(at);
    const where = at.length ? `${at.join('.')}: ` : '';
    this.list.push({ line, column, message: `${where}${message}` });
  }

  zod(at: DocPath, error: z.ZodError): void {
    for (const issue of error.issues) {
      const full = [...at, ...issue.path];
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
          : issue.code === 'invalid_type' && issue.received === 'number' && issue.expected === 'string'
            ? 'a duration needs a unit, e.g. 30s, 2m or 500ms'
            : issue.message;
      this.add(full, message);
    }
  }
}

function checkDuration(issues: Issues, at: DocPath, text: string | undefined): void {
  if (text !== undefined && parseDuration(text) === undefined)
    issues.add(at, `"${text}" is not a duration (e.g. 500ms, 30s, 2m, 1h)`);
}

function checkRegion(issues: Issues, at: DocPath, text: string | undefined, env: ScenarioEnv): void {
  if (text === undefined || REGION_ALIASES.includes(text) || env.regions.includes(text)) return;
  issues.add(at, `unknown region "${text}" (regions: ${env.regions.join(', ')}; or ${REGION_ALIASES.join(', ')})`);
}

/** Checks one parsed phase beyond its schema: durations, regions, what a fault needs, what the target can do. */
function checkPhase(phase: Phase, at: DocPath, env: ScenarioEnv, issues: Issues, faultIds: Map<string, Phase>): void {
  for (const key of ['within', 'timeout', 'max', 'for', 'delay', 'hold', 'since', 'waitReplication'] as const) {
    if (key in phase) checkDuration(issues, [...at, key], (phase as Record<string, string | undefined>)[key]);
  }
  if ('to' in phase) checkRegion(issues, [...at, 'to'], phase.to, env);
  if ('fault' in phase) {
    checkRegion(issues, [...at, 'region'], phase.region, env);
    const shape = FAULT_SHAPES[phase.fault];
    const given: Record<string, unknown> = { ...phase, delay: phase.delay };
    for (const need of shape.needs) {
      if (given[need] === undefined) issues.add(at, `fault ${phase.fault} needs ${need} (${shape.does})`);
    }
    if (!TARGET_FAULTS[env.target].includes(phase.fault)) {
      issues.add(
        [...at, 'fault'],
        `the ${env.target} target cannot inject ${phase.fault}; it can: ${TARGET_FAULTS[env.target].join(', ') || 'none'}`,
      );
    }
    if (phase.id) faultIds.set(phase.id, phase);
  }
  if ('undo' in phase) {
    const fault = faultIds.get(phase.undo);
    if (!fault)
      issues.add([...at, 'undo'], `undo names "${phase.undo}", which is not the id of an earlier fault phase`);
    else if ('for' in fault && fault.for)
      issues.add([...at, 'undo'], `fault "${phase.undo}" has \`for\`: it is undone by its own phase`);
  }
  if ('runbook' in phase) {
    try {
      resolveRunbookFile(phase.runbook);
    } catch (error) {
      issues.add([...at, 'runbook'], (error as Error).message);
    }
  }
}

/** Parses and validates scenario text for `env`; throws ScenarioValidationError listing every problem. */
export function parseScenario(text: string, file: string, env: ScenarioEnv): LoadedScenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const locate = locator(doc.contents, lineCounter);
  if (doc.errors.length) {
    throw new ScenarioValidationError(
      file,
      doc.errors.map((e) => ({
        line: e.linePos?.[0].line ?? 1,
        column: e.linePos?.[0].col ?? 1,
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const issues = new Issues(locate);
  const raw: unknown = doc.toJS();
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) issues.zod([], parsed.error);
  const data = parsed.success ? parsed.data : undefined;
  if (data) {
    for (const [name, value] of Object.entries(data.objectives)) {
      if (typeof value === 'string') checkDuration(issues, ['objectives', name], value);
    }
    checkDuration(issues, ['load', 'warmup'], data.load?.warmup);
    checkDuration(issues, ['settle'], data.settle);
    data.steadyState.forEach((p, i) => {
      checkDuration(issues, ['steadyState', i, 'max'], p.max);
      checkDuration(issues, ['steadyState', i, 'within'], p.within);
    });
    data.stopWhen.forEach((s, i) =>
      s.condition === 'no-confirmation'
        ? checkDuration(issues, ['stopWhen', i, 'for'], s.for)
        : checkDuration(issues, ['stopWhen', i, 'above'], s.above),
    );
  }

  // Phases are checked even when the rest failed its schema: every problem at once.
  const rawPhases =
    raw && typeof raw === 'object' && Array.isArray((raw as { phases?: unknown }).phases)
      ? (raw as { phases: unknown[] }).phases
      : [];
  const phases: Phase[] = [];
  const ids = new Set<string>();
  const faultIds = new Map<string, Phase>();
  rawPhases.forEach((rawPhase, index) => {
    const at = ['phases', index];
    const kind = phaseKind(rawPhase);
    if (!kind) {
      issues.add(at, `a phase is a map with one of: ${PHASE_KINDS.join(', ')}`);
      return;
    }
    const result = phaseSchemaFor(kind).safeParse(rawPhase);
    if (!result.success) {
      issues.zod(at, result.error);
      return;
    }
    const phase = result.data as Phase;
    if (phase.id) {
      if (ids.has(phase.id)) issues.add([...at, 'id'], `duplicate phase id "${phase.id}"`);
      ids.add(phase.id);
    }
    checkPhase(phase, at, env, issues, faultIds);
    phases.push(phase);
  });
  if (!data) throw new ScenarioValidationError(file, issues.list);
  if (
    data.load === undefined &&
    (data.objectives.p99ToMatched || data.stopWhen.some((s) => s.condition === 'no-confirmation'))
  ) {
    issues.add(['load'], 'p99ToMatched and the no-confirmation stop condition need load (e.g. load: { rate: 5 })');
  }
  if (issues.list.length) throw new ScenarioValidationError(file, issues.list);
  return { file, source: text, definition: { ...data, phases }, locate };
}

/** A scenario file for a name (the workspace's, ./runbooks/gamedays or built-in) or a path. */
export function resolveScenarioFile(nameOrPath: string, dirs = scenarioDirectories()): string {
  if (/[/\\]|\.ya?ml$/.test(nameOrPath)) {
    if (fs.existsSync(nameOrPath)) return path.resolve(nameOrPath);
    throw new UserError(
      `no scenario file ${nameOrPath}`,
      'give a path to a scenario YAML file, or a built-in name (`tsr gameday list`)',
      ExitCode.usage,
    );
  }
  for (const dir of dirs) {
    for (const ext of ['.yaml', '.yml']) {
      const file = path.join(dir, `${nameOrPath}${ext}`);
      if (fs.existsSync(file)) return file;
    }
  }
  const known = listScenarioFiles(dirs).map((f) => path.basename(f).replace(/\.ya?ml$/, ''));
  throw new UserError(
    `no game-day scenario named ${nameOrPath}`,
    `built-in and local scenarios: ${known.join(', ')}`,
    ExitCode.usage,
  );
}

export function listScenarioFiles(dirs = scenarioDirectories()): string[] {
  const seen = new Set<string>();
  return dirs.flatMap((dir) => {
    try {
      return fs
        .readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f) && !seen.has(f) && seen.add(f))
        .sort()
        .map((f) => path.join(dir, f));
    } catch {
      return [];
    }
  });
}

export function loadScenario(nameOrPath: string, env: ScenarioEnv): LoadedScenario {
  const file = resolveScenarioFile(nameOrPath, scenarioDirectories(env.workspace));
  return parseScenario(fs.readFileSync(file, 'utf8'), file, env);
}

/** A scenario as `tsr gameday list` shows it. */
export interface ScenarioSummary {
  readonly name: string;
  readonly file: string;
  readonly description: string;
  readonly hypothesis: string;
  readonly phases: number;
  /** Problems with their line; empty when the scenario is valid for this target. */
  readonly problems: readonly string[];
}

export function listScenarios(env: ScenarioEnv, dirs = scenarioDirectories(env.workspace)): ScenarioSummary[] {
  return listScenarioFiles(dirs).map((file) => {
    const name = path.basename(file).replace(/\.ya?ml$/, '');
    try {
      const { definition } = parseScenario(fs.readFileSync(file, 'utf8'), file, env);
      return {
        name,
        file,
        description: definition.description,
        hypothesis: definition.hypothesis.trim(),
        phases: definition.phases.length,
        problems: [],
      };
    } catch (error) {
      const problems =
        error instanceof ScenarioValidationError
          ? error.issues.map((i) => `${i.line}: ${i.message}`)
          : [(error as Error).message];
      return { name, file, description: '', hypothesis: '', phases: 0, problems };
    }
  });
}
