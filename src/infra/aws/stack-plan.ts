/**
 * What an AWS deployment runs, decided without running anything: the stack order, the terraform steps per mode, the
 * extra steps of an apply (re-apply regions whose view of other regions' brokers is stale, set the routing controls),
 * and reading terraform's plan summary.
 */
import path from 'node:path';
import { ExitCode, UserError } from '../../errors.js';
import type { SynthesizedStack } from './synth.js';

export type AwsDeploymentMode = 'apply' | 'plan' | 'destroy';

export interface PlanChanges {
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
}

/** One step of a deployment run, in order. */
export type DeploymentStep =
  | { readonly kind: 'stack'; readonly stack: SynthesizedStack }
  | { readonly kind: 'reapply'; readonly stack: SynthesizedStack }
  | { readonly kind: 'routing-controls' };

/**
 * Dependency order as synthesized (global, primary region, other regions); destroy goes in reverse, except that the
 * region holding the database writers goes last of the regions (Aurora refuses to delete a global database's writer
 * while it has secondaries: after a rotation the writer is no longer in the primary region). `writers`: app →
 * region of its writer, where known. Writers in two regions cannot both go last: refused with the fix.
 */
export function stackOrder(
  stacks: readonly SynthesizedStack[],
  mode: AwsDeploymentMode,
  writers: ReadonlyMap<string, string> = new Map(),
): SynthesizedStack[] {
  if (mode !== 'destroy') return [...stacks];
  const reversed = [...stacks].reverse();
  const writerRegions = [...new Set(writers.values())];
  if (writerRegions.length > 1) {
    const where = [...writers].map(([app, region]) => `${app}'s in ${region}`).join(', ');
    const mover = [...writers].find(([, region]) => region !== writerRegions[0])?.[0];
    throw new UserError(
      `the database writers are in different regions (${where}); Aurora deletes a writer only after its ` +
        'secondaries, so no destroy order works',
      `move them to one region first (\`tsr rotate ${mover} --to ${writerRegions[0]} --target aws\`), then destroy again`,
      ExitCode.usage,
    );
  }
  const [writerRegion] = writerRegions;
  const last = reversed.find((s) => s.kind === 'regional' && s.region === writerRegion);
  if (!last) return reversed;
  const others = reversed.filter((s) => s !== last);
  const globalAt = others.findIndex((s) => s.kind === 'global');
  return globalAt < 0 ? [...others, last] : [...others.slice(0, globalAt), last, ...others.slice(globalAt)];
}

/**
 * Every stack in order; an apply then re-applies each regional stack (skipped at run time unless another region's
 * broker endpoints changed since it was applied) and sets the routing controls (first apply only).
 */
export function deploymentSteps(ordered: readonly SynthesizedStack[], mode: AwsDeploymentMode): DeploymentStep[] {
  const steps: DeploymentStep[] = ordered.map((stack) => ({ kind: 'stack', stack }));
  if (mode !== 'apply') return steps;
  for (const stack of ordered.filter((s) => s.kind === 'regional')) steps.push({ kind: 'reapply', stack });
  steps.push({ kind: 'routing-controls' });
  return steps;
}

/** The terraform commands of one stack: init, then plan, apply or destroy, never interactive. */
export function terraformSteps(mode: AwsDeploymentMode): { name: string; args: string[] }[] {
  const last = {
    plan: ['plan', '-input=false', '-no-color'],
    apply: ['apply', '-auto-approve', '-input=false', '-no-color'],
    destroy: ['destroy', '-auto-approve', '-input=false', '-no-color'],
  }[mode];
  return [
    { name: 'init', args: ['init', '-input=false', '-no-color'] },
    { name: mode, args: last },
  ];
}

const PLAN_SUMMARY = /Plan: (\d+) to add, (\d+) to change, (\d+) to destroy/;
const NO_CHANGES = /No changes\./;

/** The change counts terraform printed, if it printed a summary (or said there was nothing to do). */
export function planChanges(stdout: string): PlanChanges | undefined {
  const summary = PLAN_SUMMARY.exec(stdout);
  if (summary) return { add: Number(summary[1]), change: Number(summary[2]), destroy: Number(summary[3]) };
  return NO_CHANGES.test(stdout) ? { add: 0, change: 0, destroy: 0 } : undefined;
}

/** Two runs of one stack (an apply and its re-apply) counted together. */
export function addChanges(a: PlanChanges, b: PlanChanges): PlanChanges {
  return { add: a.add + b.add, change: a.change + b.change, destroy: a.destroy + b.destroy };
}

/**
 * The regions whose broker endpoints a regional stack saw differently when applied (`seen`: region → its brokers
 * then, undefined when not applied yet) from what they are now (`now`, undefined while not applied).
 */
export function staleBrokerRegions(
  seen: ReadonlyMap<string, string | undefined> | undefined,
  now: (region: string) => string | undefined,
): string[] {
  if (!seen) return [];
  return [...seen]
    .filter(([region, before]) => now(region) !== undefined && now(region) !== before)
    .map(([region]) => region);
}

export function logFileOf(stack: SynthesizedStack, mode: AwsDeploymentMode): string {
  return path.join(stack.dir, `tsr-${mode}.log`);
}
