import { z } from 'zod';
import type { ResourceNames } from '../../config/model.js';
import { ExitCode, UserError } from '../../errors.js';
import { closeNames } from '../../clients/arc-routing-controls.js';
import type { RoutingControlState, RoutingControlUpdate } from '../../platform/platform.js';
import { type CheckProblem, defineStepType } from '../registry.js';

const onOff = z.preprocess(
  (value) => {
    if (typeof value === 'boolean') return value ? 'On' : 'Off';
    if (typeof value === 'string' && /^on$/i.test(value.trim())) return 'On';
    if (typeof value === 'string' && /^off$/i.test(value.trim())) return 'Off';
    return value;
  },
  z.enum(['On', 'Off'], { errorMap: () => ({ message: 'a routing control state is On or Off' }) }),
);

const params = z
  .object({
    /** Routing control name → On | Off; applied as one atomic batch. */
    set: z.record(z.string(), onOff).refine((set) => Object.keys(set).length > 0, 'name at least one routing control'),
    /** Safety rules to override for this batch (by name), when the runbook really means it. */
    override: z.array(z.string()).optional(),
  })
  .strict();

function controlName(names: ResourceNames, control: string): string {
  return names.routingControls.find((c) => c.name === control || c.arn === control)?.name ?? control;
}

/**
 * The checks ARC cannot express (docs/domain.md#routing-controls-and-safety-rules), on the states a batch would leave: for every app the batch touches,
 * at most one region with `<app>-app` On, and at least one `<app>-dns` On. Controls missing from `current` count as
 * Off. Returns the problems; empty when the batch is acceptable.
 */
export function checkRoutingBatch(
  current: readonly RoutingControlState[],
  updates: readonly RoutingControlUpdate[],
  names: ResourceNames,
): string[] {
  const result = new Map(current.map((c) => [c.name, c.state]));
  for (const update of updates) result.set(controlName(names, update.control), update.state);
  const apps = new Set(
    updates.flatMap((u) => names.routingControls.find((c) => c.name === controlName(names, u.control))?.app ?? []),
  );
  const problems: string[] = [];
  for (const app of apps) {
    const scoped = (scope: string) => names.routingControls.filter((c) => c.app === app && c.scope === scope);
    const appOn = scoped('app').filter((c) => result.get(c.name) === 'On');
    if (appOn.length > 1) {
      problems.push(
        `the batch would leave ${app}-app On in ${appOn.map((c) => c.region).join(' and ')}: ` +
          `at most one region may run ${app} core`,
      );
    }
    const dns = scoped('dns');
    if (dns.length && dns.every((c) => result.get(c.name) !== 'On')) {
      problems.push(`the batch would leave every ${app}-dns control Off: senders would have no broker`);
    }
  }
  return problems;
}

function describeSet(set: Readonly<Record<string, 'On' | 'Off'>>, override?: readonly string[]): string {
  const batch = Object.entries(set)
    .map(([control, state]) => `${control}=${state}`)
    .join(', ');
  return override?.length ? `${batch} (overriding ${override.join(', ')})` : batch;
}

/** `routing-control.set`: one atomic batch through platform.routingControls(), after the docs/domain.md#routing-controls-and-safety-rules checks. */
export const routingControlSet = defineStepType({
  type: 'routing-control.set',
  summary: 'Set routing controls in one atomic batch (refuses two regions with <app>-app On, or every dns Off)',
  params,
  defaultTimeoutMs: 30_000,
  check(p, env) {
    const problems: CheckProblem[] = [];
    const controls = env.names.routingControls.map((c) => c.name);
    for (const control of Object.keys(p.set)) {
      if (env.names.routingControls.some((c) => c.name === control || c.arn === control)) continue;
      const close = closeNames(control, controls);
      problems.push({
        path: ['set', control],
        message: `unknown routing control "${control}"${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}`,
      });
    }
    for (const rule of p.override ?? []) {
      if (!env.names.safetyRules.some((r) => r.name === rule || r.arn === rule)) {
        problems.push({
          path: ['override'],
          message: `unknown safety rule "${rule}" (rules: ${env.names.safetyRules.map((r) => r.name).join(', ')})`,
        });
      }
    }
    return problems;
  },
  describe: (p) => describeSet(p.set, p.override),
  async run(ctx, p) {
    const updates = Object.entries(p.set).map(([control, state]) => ({ control, state }));
    const names = ctx.platform.names;
    const controls = ctx.platform.routingControls();
    ctx.detail('reading routing controls');
    const before = await controls.list();
    const problems = checkRoutingBatch(before, updates, names);
    if (problems.length) {
      throw new UserError(
        `refused ${describeSet(p.set)}: ${problems.join('; ')}`,
        'nothing was changed; correct the runbook step, or the routing controls (`tsr routing-control list`)',
        ExitCode.refused,
      );
    }
    // Last moment to stop without changing anything; once sent, the batch is applied whole or not at all.
    ctx.signal.throwIfAborted();
    ctx.detail(`setting ${describeSet(p.set, p.override)}`);
    await controls.set(updates, p.override ?? []);
    const after = await controls.list();
    const stateOf = (states: readonly RoutingControlState[], control: string) =>
      states.find((s) => s.name === controlName(names, control))?.state;
    const wrong = updates.filter((u) => stateOf(after, u.control) !== u.state);
    if (wrong.length) {
      throw new Error(
        `the ARC cluster accepted the batch but reads back ${wrong
          .map((u) => `${u.control}=${stateOf(after, u.control) ?? '?'}`)
          .join(', ')}`,
      );
    }
    const changes = updates.map((u) => ({
      control: controlName(names, u.control),
      before: stateOf(before, u.control),
      after: stateOf(after, u.control),
    }));
    const changed = changes.filter((c) => c.before !== c.after);
    return {
      detail: changed.length
        ? changed.map((c) => `${c.control} ${c.before ?? '?'}→${c.after}`).join(', ')
        : `already ${describeSet(p.set)}: nothing changed`,
      result: { changes, overridden: p.override ?? [] },
    };
  },
});
