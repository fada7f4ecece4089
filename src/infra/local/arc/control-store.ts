/**
 * The routing-control states of one control panel, shared by every endpoint of the cluster: loaded from the state
 * file, changed only by whole batches the safety rules accept (evaluated on the batch's result, overrides by rule
 * name or ARN), and written atomically to disk before a change becomes visible.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { RoutingState } from '../../../clients/types.js';
import { ApiError, notFound, validation } from './api-input.js';
import { evaluateBatch, type SafetyRule } from './safety-rules.js';

export interface ControlDefinition {
  readonly name: string;
  readonly arn: string;
  /** State when the state file does not know this control yet. */
  readonly initial: RoutingState;
}

/** One entry of an update: a control by ARN and the state asked for. */
export interface ControlUpdate {
  readonly arn: string;
  readonly state: RoutingState;
}

/** The persisted shape of the state file. */
interface StateFile {
  readonly version: 1;
  readonly controlPanelArn: string;
  readonly updatedAt: string;
  readonly controls: readonly { readonly name: string; readonly arn: string; readonly state: RoutingState }[];
}

function writeAtomically(file: string, content: string): void {
  const temp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  try {
    const fd = fs.openSync(temp, 'w', 0o600);
    try {
      fs.writeSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

function loadStateFile(file: string, controlPanelArn: string): Map<string, RoutingState> {
  const states = new Map<string, RoutingState>();
  if (!fs.existsSync(file)) return states;
  let parsed: StateFile;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as StateFile;
  } catch (error) {
    throw new Error(`ARC state file ${file} is not valid JSON (${(error as Error).message}); refusing to guess states`);
  }
  if (parsed.controlPanelArn !== controlPanelArn) {
    throw new Error(
      `ARC state file ${file} belongs to control panel ${String(parsed.controlPanelArn)}, not ${controlPanelArn}; ` +
        'use a separate state file per environment',
    );
  }
  for (const control of parsed.controls ?? []) {
    if (control && typeof control.arn === 'string' && (control.state === 'On' || control.state === 'Off')) {
      states.set(control.arn, control.state);
    }
  }
  return states;
}

export class RoutingControlStore {
  private readonly byArn: Map<string, ControlDefinition>;
  private readonly rulesByKey = new Map<string, SafetyRule>();
  /** Current states by ARN. Replaced (never mutated) on a change, after the new states are on disk. */
  private states: Map<string, RoutingState>;

  constructor(
    readonly controlPanelArn: string,
    readonly controls: readonly ControlDefinition[],
    private readonly safetyRules: readonly SafetyRule[],
    private readonly statePath: string,
  ) {
    this.byArn = new Map(controls.map((c) => [c.arn, c]));
    for (const rule of safetyRules) {
      this.rulesByKey.set(rule.arn, rule);
      this.rulesByKey.set(rule.name, rule);
    }
    fs.mkdirSync(path.dirname(path.resolve(statePath)), { recursive: true });
    const persisted = loadStateFile(statePath, controlPanelArn);
    this.states = new Map(controls.map((c) => [c.arn, persisted.get(c.arn) ?? c.initial]));
    this.persist(this.states);
  }

  stateOf(arn: string): RoutingState {
    return this.states.get(arn) ?? 'Off';
  }

  /** The control with this ARN, or the API's ResourceNotFoundException. */
  find(arn: string): ControlDefinition {
    const control = this.byArn.get(arn);
    if (!control) throw notFound('RoutingControl', arn);
    return control;
  }

  /** Applies a batch atomically after the safety rules accept its result; persists before it becomes visible. */
  apply(entries: readonly ControlUpdate[], overrides: readonly string[]): void {
    const requested = this.requestedByName(entries);
    for (const override of overrides) {
      if (!this.rulesByKey.has(override)) throw notFound('SafetyRule', override);
    }
    const currentByName = new Map(this.controls.map((c) => [c.name, this.stateOf(c.arn)]));
    const changes = [...requested].map(([control, state]) => ({ control, state }));
    const evaluation = evaluateBatch(currentByName, changes, this.safetyRules, overrides);
    if (!evaluation.ok) {
      throw new ApiError(
        'ConflictException',
        409,
        `Safety rule ${evaluation.rule.name} (${evaluation.rule.kind}) refused the update: ${evaluation.reason}. ` +
          'No routing control was changed.',
        { resourceId: evaluation.rule.arn, resourceType: 'SafetyRule' },
      );
    }
    if (evaluation.changed.length === 0) return;
    const next = new Map(this.states);
    for (const control of this.controls) {
      const state = evaluation.result.get(control.name);
      if (state) next.set(control.arn, state);
    }
    this.persist(next);
    this.states = next;
  }

  /** The batch by control name; one control asked for twice with different states is refused. */
  private requestedByName(entries: readonly ControlUpdate[]): Map<string, RoutingState> {
    const requested = new Map<string, RoutingState>();
    for (const entry of entries) {
      const control = this.find(entry.arn);
      const previous = requested.get(control.name);
      if (previous !== undefined && previous !== entry.state) {
        throw validation(
          `routing control ${control.name} appears twice in one update with different states`,
          'fieldValidationFailed',
          'UpdateRoutingControlStateEntries',
        );
      }
      requested.set(control.name, entry.state);
    }
    return requested;
  }

  private persist(next: ReadonlyMap<string, RoutingState>): void {
    const file: StateFile = {
      version: 1,
      controlPanelArn: this.controlPanelArn,
      updatedAt: new Date().toISOString(),
      controls: this.controls.map((c) => ({ name: c.name, arn: c.arn, state: next.get(c.arn) ?? c.initial })),
    };
    writeAtomically(this.statePath, `${JSON.stringify(file, null, 2)}\n`);
  }
}
