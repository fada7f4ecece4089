import { stringify } from 'yaml';
import { APPS } from '../config/apps.js';
import { parseDuration } from '../runbooks/duration.js';
import type { FinallyStepSpec, RunbookDefinition, StepSpec } from '../runbooks/model.js';
import type { Phase, ScenarioDefinition } from './scenario.js';

/** The lock every game day takes: one game day at a time per workspace (its phases lock their apps too). */
export const GAMEDAY_LOCK = 'gameday';

const ms = (text: string | undefined): number | undefined => (text === undefined ? undefined : parseDuration(text));

/** How long each pair may take to reach its final state once the load stops (default 2 minutes). */
export const DEFAULT_SETTLE = '2m';

/** The runbook step id of a phase: its own id, or its position and kind (p3-fault). */
export function phaseStepId(phase: Phase, index: number): string {
  const kind = Object.keys(phase).find((k) => k !== 'id') ?? 'phase';
  return phase.id ?? `p${index + 1}-${kind}`;
}

/** One phase → the runbook steps that carry it out; primary and secondary are named (the plan shows regions). */
function phaseSteps(phase: Phase, index: number, regions: readonly string[]): StepSpec[] {
  const id = phaseStepId(phase, index);
  const named = (region: string) =>
    region === 'primary' ? regions[0] : region === 'secondary' ? (regions[1] ?? region) : region;
  if ('to' in phase) phase = { ...phase, to: named(phase.to) };
  if ('fault' in phase && phase.region) phase = { ...phase, region: named(phase.region) };
  if ('rotate' in phase) {
    const params = {
      app: phase.rotate,
      target: phase.to,
      ...(phase.waitReplication ? { waitReplication: phase.waitReplication } : {}),
    };
    return [
      {
        id,
        type: 'gameday.runbook',
        title: `Rotate ${phase.rotate} to ${phase.to}`,
        params: { runbook: 'rotate', params },
      },
    ];
  }
  if ('failover' in phase) {
    // After a regional loss trade goes first: settlement's inputs and canary enter through trade.
    const apps = phase.failover === 'all' ? APPS : [phase.failover];
    return apps.map((app) => ({
      id: apps.length > 1 ? `${id}-${app}` : id,
      type: 'gameday.runbook',
      title: `Fail ${app} over to ${phase.to}`,
      params: { runbook: 'failover', params: { app, target: phase.to } },
    }));
  }
  if ('runbook' in phase) {
    return [
      {
        id,
        type: 'gameday.runbook',
        title: `Runbook ${phase.runbook}`,
        params: { runbook: phase.runbook, params: phase.params ?? {} },
      },
    ];
  }
  if ('fault' in phase) {
    const params = {
      fault: id,
      kind: phase.fault,
      ...(phase.region ? { region: phase.region } : {}),
      ...(phase.app ? { app: phase.app } : {}),
      ...(phase.stage ? { stage: phase.stage } : {}),
      ...(phase.delay ? { delayMs: ms(phase.delay) } : {}),
      ...(phase.endpoints ? { endpoints: phase.endpoints } : {}),
      ...(phase.for ? { holdMs: ms(phase.for) } : {}),
    };
    return [
      { id, type: 'gameday.fault', title: `Fault: ${phase.fault}${phase.for ? ` for ${phase.for}` : ''}`, params },
    ];
  }
  if ('undo' in phase)
    return [{ id, type: 'gameday.undo', title: `Undo ${phase.undo}`, params: { fault: phase.undo } }];
  if ('probe' in phase) {
    const params = {
      probe: phase.probe,
      expect: phase.expect ?? 'hold',
      ...(phase.within ? { withinMs: ms(phase.within) } : {}),
      ...(phase.max ? { maxMs: ms(phase.max) } : {}),
    };
    return [{ id, type: 'gameday.probe', title: `Probe ${phase.probe} (${phase.expect ?? 'hold'})`, params }];
  }
  if ('wait' in phase) {
    const params = { condition: phase.wait, ...(phase.max ? { maxMs: ms(phase.max) } : {}) };
    return [{ id, type: 'gameday.wait', title: `Wait until ${phase.wait}`, params, timeout: phase.timeout }];
  }
  if ('hold' in phase)
    return [
      {
        id,
        type: 'sleep',
        title: `Hold ${phase.hold}`,
        params: { duration: phase.hold, reason: 'the scenario holds here' },
      },
    ];
  return [
    {
      id,
      type: 'gameday.reconcile',
      title: `Reconcile ${phase.reconcile}`,
      params: { app: phase.reconcile, since: phase.since ?? '30m' },
    },
  ];
}

/**
 * The runbook a scenario runs as: load and steady state, the phases, every fault undone, steady state again, load
 * stopped. Its finally steps undo faults and stop the load on every other way a run can end; the verdict follows
 * however the run ended (run.ts), so a stopped drill is judged too.
 */
export function compileScenario(scenario: ScenarioDefinition, regions: readonly string[]): RunbookDefinition {
  const steps: StepSpec[] = [];
  const probes = (when: 'before' | 'after') =>
    scenario.steadyState.map((p, i): StepSpec => ({
      id: `steady-${when}-${i + 1}-${p.probe}`,
      type: 'gameday.probe',
      title: `Steady state ${when === 'before' ? 'before the first fault' : 'at the end'}: ${p.probe}`,
      params: {
        probe: p.probe,
        expect: 'hold',
        ...(p.within ? { withinMs: ms(p.within) } : {}),
        ...(p.max ? { maxMs: ms(p.max) } : {}),
      },
    }));
  if (scenario.load) {
    steps.push({
      id: 'load',
      type: 'gameday.load',
      title: `Load: ${scenario.load.rate} pairs/s`,
      params: { rate: scenario.load.rate, warmupMs: ms(scenario.load.warmup) ?? 0 },
    });
  }
  steps.push(...probes('before'));
  if (scenario.load)
    steps.push({ id: 'steady-latency', type: 'gameday.steady-latency', title: 'Record steady-state latency' });
  scenario.phases.forEach((phase, index) => steps.push(...phaseSteps(phase, index, regions)));
  steps.push({ id: 'undo-faults', type: 'gameday.undo-all', title: 'Undo every fault still in place' });
  steps.push(...probes('after'));
  if (scenario.load) {
    steps.push({ id: 'load-stop', type: 'gameday.load-stop', title: 'Stop the load' });
  }
  const finallySteps: FinallyStepSpec[] = [
    {
      id: 'restore-faults',
      type: 'gameday.undo-all',
      title: 'Undo every fault still in place (the run did not complete)',
    },
    ...(scenario.load
      ? [
          {
            id: 'restore-load',
            type: 'gameday.load-stop',
            title: 'Stop the load (the run did not complete)',
            undoes: 'load',
          },
        ]
      : []),
  ];
  return {
    name: `gameday-${scenario.name}`,
    description: scenario.description,
    lock: GAMEDAY_LOCK,
    steps,
    finally: finallySteps,
  };
}

/** The compiled runbook as YAML: kept in the journal, so the run can be read (and resumed) like any other. */
export function compiledSource(definition: RunbookDefinition, scenarioFile: string): string {
  return `# Compiled from the game-day scenario ${scenarioFile}\n${stringify(definition)}`;
}
