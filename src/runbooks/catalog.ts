import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode, UserError } from '../errors.js';
import { displayPath, loadRunbookFile, readRunbook, validateRunbook } from './load.js';
import type { LoadedRunbook, ParameterSpec } from './model.js';
import type { StepRegistry } from './registry.js';
import { stepRegistry } from './steps/index.js';

/** The runbooks shipped with tsr (./runbooks of the package). */
export const PACKAGED_RUNBOOKS = fileURLToPath(new URL('../../runbooks/', import.meta.url));

/** Where runbooks are looked up by name: ./runbooks of the working directory, then the packaged ones. */
export function runbookDirectories(): string[] {
  return [...new Set([path.resolve('runbooks'), path.resolve(PACKAGED_RUNBOOKS)])];
}

export interface RunbookSummary {
  readonly name: string;
  readonly file: string;
  readonly description: string;
  readonly parameters: Readonly<Record<string, ParameterSpec>>;
  readonly steps: number;
  /** Step types it uses that are not registered (it cannot run until they are). */
  readonly unknownStepTypes: readonly string[];
  /** Problems with their line, empty when the runbook is valid (unknown step types included). */
  readonly problems: readonly string[];
  /** Valid, and every step type it uses is registered. */
  readonly ready: boolean;
  /** Valid but for step types that are not registered yet. */
  readonly onlyUnknownStepTypes: boolean;
}

function runbookFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** Every runbook in `dirs` (first directory wins for a file name), with its description and validity. */
export function listRunbooks(registry: StepRegistry = stepRegistry, dirs = runbookDirectories()): RunbookSummary[] {
  const seen = new Set<string>();
  const summaries: RunbookSummary[] = [];
  for (const file of dirs.flatMap(runbookFiles)) {
    if (seen.has(path.basename(file))) continue;
    seen.add(path.basename(file));
    const { runbook, issues } = readRunbook(fs.readFileSync(file, 'utf8'), file);
    const problems = runbook ? validateRunbook(runbook, registry) : issues;
    const definition = runbook?.definition;
    const types = definition?.steps.flatMap((s) => [s.type, ...(s.rollback ?? []).map((r) => r.type)]) ?? [];
    summaries.push({
      name: definition?.name ?? path.basename(file).replace(/\.ya?ml$/, ''),
      file,
      description: definition?.description.trim() ?? '(not readable)',
      parameters: definition?.parameters ?? {},
      steps: definition?.steps.length ?? 0,
      unknownStepTypes: [...new Set(types.filter((t) => !registry.has(t)))],
      problems: problems.map((p) => `${displayPath(p.file)}:${p.line}:${p.column}  ${p.message}`),
      ready: problems.length === 0,
      onlyUnknownStepTypes: problems.length > 0 && problems.every((p) => p.message.includes('unknown step type')),
    });
  }
  return summaries;
}

/** A runbook file from a path, or a name looked up in the runbook directories (`rotate` → runbooks/rotate.yaml). */
export function resolveRunbookFile(nameOrPath: string, dirs = runbookDirectories()): string {
  if (fs.existsSync(nameOrPath) && fs.statSync(nameOrPath).isFile()) return path.resolve(nameOrPath);
  if (!/[/\\]/.test(nameOrPath)) {
    const base = nameOrPath.replace(/\.ya?ml$/, '');
    for (const dir of dirs) {
      for (const ext of ['.yaml', '.yml']) {
        const file = path.join(dir, `${base}${ext}`);
        if (fs.existsSync(file)) return file;
      }
    }
  }
  const known = dirs.flatMap(runbookFiles).map((f) => path.basename(f).replace(/\.ya?ml$/, ''));
  throw new UserError(
    `no runbook "${nameOrPath}"`,
    known.length
      ? `give a file path, or one of: ${[...new Set(known)].join(', ')} (\`tsr runbook list\`)`
      : 'give the path of a runbook YAML file',
    ExitCode.usage,
  );
}

/** Loads a runbook by path or name and validates it (RunbookValidationError with lines otherwise). */
export function loadRunbook(nameOrPath: string, registry: StepRegistry = stepRegistry): LoadedRunbook {
  return loadRunbookFile(resolveRunbookFile(nameOrPath), registry);
}

/** `--param k=v` values → { k: v }; a usage error for anything else or a key given twice. */
export function parseParamAssignments(assignments: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const assignment of assignments) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(assignment);
    if (!match) {
      throw new UserError(`--param "${assignment}" is not name=value`, 'e.g. --param app=trade', ExitCode.usage);
    }
    if (match[1] in values) throw new UserError(`--param ${match[1]} is given twice`, undefined, ExitCode.usage);
    values[match[1]] = match[2];
  }
  return values;
}
