import {
  addChanges,
  deploymentSteps,
  planChanges,
  stackOrder,
  staleBrokerRegions,
  terraformSteps,
} from '../../src/infra/aws/stack-plan.js';
import type { SynthesizedStack } from '../../src/infra/aws/synth.js';

const stack = (id: string, region?: string): SynthesizedStack =>
  ({ id, kind: region ? 'regional' : 'global', region, dir: `/out/stacks/${id}` }) as SynthesizedStack;
const synthesized = [stack('global'), stack('us-east-1', 'us-east-1'), stack('us-west-2', 'us-west-2')];

/** Pure: what an AWS deployment runs, in which order, and how terraform's output is read. No terraform, no AWS. */
describe('AWS deployment plan', () => {
  it('runs global, then the primary, then the other regions; destroy in reverse', () => {
    expect(stackOrder(synthesized, 'apply').map((s) => s.id)).toEqual(['global', 'us-east-1', 'us-west-2']);
    expect(stackOrder(synthesized, 'plan').map((s) => s.id)).toEqual(['global', 'us-east-1', 'us-west-2']);
    expect(stackOrder(synthesized, 'destroy').map((s) => s.id)).toEqual(['us-west-2', 'us-east-1', 'global']);
  });

  it('adds to an apply a re-apply of every regional stack, then the routing controls', () => {
    const describeStep = (step: ReturnType<typeof deploymentSteps>[number]) =>
      step.kind === 'routing-controls' ? step.kind : `${step.kind} ${step.stack.id}`;
    expect(deploymentSteps(synthesized, 'apply').map(describeStep)).toEqual([
      'stack global',
      'stack us-east-1',
      'stack us-west-2',
      'reapply us-east-1',
      'reapply us-west-2',
      'routing-controls',
    ]);
    expect(deploymentSteps(stackOrder(synthesized, 'destroy'), 'destroy').map(describeStep)).toEqual([
      'stack us-west-2',
      'stack us-east-1',
      'stack global',
    ]);
  });

  it('runs init, then the mode, never asking for input', () => {
    expect(terraformSteps('plan')).toEqual([
      { name: 'init', args: ['init', '-input=false', '-no-color'] },
      { name: 'plan', args: ['plan', '-input=false', '-no-color'] },
    ]);
    expect(terraformSteps('destroy')[1].args).toEqual(['destroy', '-auto-approve', '-input=false', '-no-color']);
  });

  it("reads terraform's plan summary, and 'No changes.' as zero", () => {
    expect(planChanges('...\nPlan: 3 to add, 1 to change, 0 to destroy.\n')).toEqual({ add: 3, change: 1, destroy: 0 });
    expect(planChanges('No changes. Your infrastructure matches the configuration.')).toEqual({
      add: 0,
      change: 0,
      destroy: 0,
    });
    expect(planChanges('Initializing the backend...')).toBeUndefined();
    expect(addChanges({ add: 3, change: 1, destroy: 0 }, { add: 0, change: 2, destroy: 1 })).toEqual({
      add: 3,
      change: 3,
      destroy: 1,
    });
  });

  it('re-applies a region only for regions whose brokers are known now and differ from what it saw', () => {
    const seen = new Map<string, string | undefined>([
      ['us-west-2', undefined], // not applied yet when us-east-1 was applied
      ['eu-west-1', 'mqtts://a'],
      ['eu-central-1', 'mqtts://b'],
    ]);
    const now: Record<string, string | undefined> = {
      'us-west-2': 'mqtts://w',
      'eu-west-1': 'mqtts://a',
      'eu-central-1': undefined,
    };
    expect(staleBrokerRegions(seen, (region) => now[region])).toEqual(['us-west-2']);
    expect(staleBrokerRegions(undefined, () => 'x')).toEqual([]);
  });
});
