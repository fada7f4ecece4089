import { deriveNames } from '../../src/config/model.js';
import { evaluateBatch, type SafetyRule } from '../../src/infra/local/arc/safety-rules.js';
import type { RoutingState } from '../../src/platform/platform.js';

const atLeastOneDns: SafetyRule = {
  name: 'trade-at-least-one-dns',
  arn: 'arn:rule/trade-at-least-one-dns',
  kind: 'assertion',
  assertedOrGating: ['dns-a', 'dns-b'],
  targets: [],
  minOn: 1,
};

const gate: SafetyRule = {
  name: 'trade-gate-queue-and-app',
  arn: 'arn:rule/trade-gate-queue-and-app',
  kind: 'gating',
  assertedOrGating: ['gate'],
  targets: ['queue-a', 'queue-b', 'app-a'],
  minOn: 1,
};

const rules = [atLeastOneDns, gate];

function states(entries: Record<string, RoutingState>): Map<string, RoutingState> {
  return new Map(Object.entries(entries));
}

const initial = states({
  'dns-a': 'On',
  'dns-b': 'Off',
  'queue-a': 'On',
  'queue-b': 'Off',
  'app-a': 'On',
  gate: 'Off',
  other: 'Off',
});

describe('assertion rule', () => {
  it('allows a single change that keeps enough controls On', () => {
    const result = evaluateBatch(initial, [{ control: 'dns-b', state: 'On' }], rules);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.result.get('dns-b')).toBe('On');
    expect(result.changed).toEqual(['dns-b']);
  });

  it('refuses turning off the last On control and names the rule', () => {
    const result = evaluateBatch(initial, [{ control: 'dns-a', state: 'Off' }], rules);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rule.name).toBe('trade-at-least-one-dns');
    expect(result.reason).toBe('at least 1 of dns-a, dns-b must stay On, the update would leave 0 On');
    expect(result.reason).toContain('leave 0 On');
  });

  it('evaluates the batch result: swapping On and Off in one batch passes', () => {
    const result = evaluateBatch(
      initial,
      [
        { control: 'dns-a', state: 'Off' },
        { control: 'dns-b', state: 'On' },
      ],
      rules,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.result.get('dns-a')).toBe('Off');
    expect(result.result.get('dns-b')).toBe('On');
  });

  it('the same swap as two separate single updates fails at the first step', () => {
    expect(evaluateBatch(initial, [{ control: 'dns-a', state: 'Off' }], rules).ok).toBe(false);
  });

  it('honours minOn greater than one', () => {
    const two: SafetyRule = { ...atLeastOneDns, minOn: 2 };
    expect(evaluateBatch(initial, [{ control: 'other', state: 'On' }], [two]).ok).toBe(false);
    expect(evaluateBatch(initial, [{ control: 'dns-b', state: 'On' }], [two]).ok).toBe(true);
  });

  it('treats controls missing from the current states as Off', () => {
    const result = evaluateBatch(new Map(), [{ control: 'other', state: 'On' }], [atLeastOneDns]);
    expect(result.ok).toBe(false);
  });
});

describe('gating rule', () => {
  it('refuses changing a target while the gate is Off', () => {
    const result = evaluateBatch(initial, [{ control: 'queue-b', state: 'On' }], rules);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rule.name).toBe('trade-gate-queue-and-app');
    expect(result.reason).toContain('queue-b');
  });

  it('allows changing a target while the gate is On', () => {
    const open = states({ ...Object.fromEntries(initial), gate: 'On' });
    expect(evaluateBatch(open, [{ control: 'queue-b', state: 'On' }], rules).ok).toBe(true);
  });

  it('allows a batch that turns the gate On and changes targets together', () => {
    const result = evaluateBatch(
      initial,
      [
        { control: 'gate', state: 'On' },
        { control: 'app-a', state: 'Off' },
      ],
      rules,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect([...result.changed].sort()).toEqual(['app-a', 'gate']);
  });

  it('refuses a batch that turns the gate Off and changes targets together', () => {
    const open = states({ ...Object.fromEntries(initial), gate: 'On' });
    const result = evaluateBatch(
      open,
      [
        { control: 'gate', state: 'Off' },
        { control: 'app-a', state: 'Off' },
      ],
      rules,
    );
    expect(result.ok).toBe(false);
  });

  it('allows a no-op update of a gated control while the gate is Off', () => {
    const result = evaluateBatch(initial, [{ control: 'queue-a', state: 'On' }], rules);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.changed).toEqual([]);
  });

  it('does not care about controls outside its targets', () => {
    expect(evaluateBatch(initial, [{ control: 'other', state: 'On' }], rules).ok).toBe(true);
  });
});

describe('overrides', () => {
  it('skips a rule named by name', () => {
    const result = evaluateBatch(initial, [{ control: 'queue-b', state: 'On' }], rules, ['trade-gate-queue-and-app']);
    expect(result.ok).toBe(true);
  });

  it('skips a rule named by ARN', () => {
    const result = evaluateBatch(initial, [{ control: 'dns-a', state: 'Off' }], rules, [atLeastOneDns.arn]);
    expect(result.ok).toBe(true);
  });

  it('overriding one rule does not override another', () => {
    const result = evaluateBatch(
      initial,
      [
        { control: 'dns-a', state: 'Off' },
        { control: 'queue-b', state: 'On' },
      ],
      rules,
      ['trade-gate-queue-and-app'],
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rule.name).toBe('trade-at-least-one-dns');
  });
});

it('never modifies the current states', () => {
  const before = new Map(initial);
  evaluateBatch(initial, [{ control: 'dns-b', state: 'On' }], rules);
  evaluateBatch(initial, [{ control: 'dns-a', state: 'Off' }], rules);
  expect(initial).toEqual(before);
});

it('works with the rules deriveNames produces', () => {
  const names = deriveNames({
    environment: 'dev',
    regions: ['us-east-1', 'us-west-2'],
    apps: ['trade', 'settlement'],
    aws: { shardsPerStream: 1, tasksPerService: 1, auroraInstanceClass: 'x', brokerInstanceType: 'y' },
  });
  const current = new Map<string, RoutingState>(
    names.routingControls.map((c) => [c.name, c.region === 'us-east-1' ? 'On' : 'Off']),
  );
  const settlementOnly = evaluateBatch(
    current,
    [{ control: 'settlement-dns-us-east-1', state: 'Off' }],
    names.safetyRules,
  );
  expect(settlementOnly.ok).toBe(false);
  if (settlementOnly.ok) return;
  expect(settlementOnly.rule.name).toBe('settlement-at-least-one-dns');
  const gated = evaluateBatch(current, [{ control: 'trade-app-us-west-2', state: 'On' }], names.safetyRules);
  expect(gated.ok).toBe(false);
  if (gated.ok) return;
  expect(gated.rule.name).toBe('trade-gate-queue-and-app');
});
