import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiError } from '../../src/infra/local/arc/api-input.js';
import { RoutingControlStore } from '../../src/infra/local/arc/control-store.js';
import type { SafetyRule } from '../../src/infra/local/arc/safety-rules.js';

const controls = [
  { name: 'dns-a', arn: 'arn:c/dns-a', initial: 'On' as const },
  { name: 'dns-b', arn: 'arn:c/dns-b', initial: 'Off' as const },
  { name: 'gate', arn: 'arn:c/gate', initial: 'Off' as const },
  { name: 'queue-a', arn: 'arn:c/queue-a', initial: 'On' as const },
];
const rules: SafetyRule[] = [
  {
    name: 'one-dns',
    arn: 'arn:r/one-dns',
    kind: 'assertion',
    assertedOrGating: ['dns-a', 'dns-b'],
    targets: [],
    minOn: 1,
  },
  {
    name: 'gated-queue',
    arn: 'arn:r/gated-queue',
    kind: 'gating',
    assertedOrGating: ['gate'],
    targets: ['queue-a'],
    minOn: 1,
  },
];

/** The routing-control store without a server: atomic batches, safety rules on the result, overrides, persistence. */
describe('local ARC routing-control store', () => {
  let dir: string;
  let file: string;
  const store = () => new RoutingControlStore('arn:panel', controls, rules, file);
  const refusal = (run: () => void): ApiError => {
    try {
      run();
    } catch (error) {
      if (error instanceof ApiError) return error;
      throw error;
    }
    throw new Error('the update was accepted');
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-arc-'));
    file = path.join(dir, 'state', 'arc.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts from the initial states and writes them at once', () => {
    const s = store();
    expect(controls.map((c) => s.stateOf(c.arn))).toEqual(['On', 'Off', 'Off', 'On']);
    expect(JSON.parse(readFileSync(file, 'utf8')).controls).toHaveLength(4);
  });

  it('applies a swap in one batch that no single change could make (the rule holds on the result)', () => {
    const s = store();
    const alone = refusal(() => s.apply([{ arn: 'arn:c/dns-a', state: 'Off' }], []));
    expect(alone).toMatchObject({ type: 'ConflictException', status: 409 });
    expect(alone.message).toContain('Safety rule one-dns (assertion) refused the update');
    expect(s.stateOf('arn:c/dns-a')).toBe('On'); // nothing changed
    s.apply(
      [
        { arn: 'arn:c/dns-a', state: 'Off' },
        { arn: 'arn:c/dns-b', state: 'On' },
      ],
      [],
    );
    expect([s.stateOf('arn:c/dns-a'), s.stateOf('arn:c/dns-b')]).toEqual(['Off', 'On']);
  });

  it('lets a batch open the gate and change what it gates; an override by name or ARN skips a rule', () => {
    const s = store();
    expect(refusal(() => s.apply([{ arn: 'arn:c/queue-a', state: 'Off' }], [])).message).toContain('gated-queue');
    s.apply([{ arn: 'arn:c/queue-a', state: 'Off' }], ['gated-queue']);
    s.apply([{ arn: 'arn:c/queue-a', state: 'On' }], ['arn:r/gated-queue']);
    s.apply(
      [
        { arn: 'arn:c/gate', state: 'On' },
        { arn: 'arn:c/queue-a', state: 'Off' },
      ],
      [],
    );
    expect(s.stateOf('arn:c/queue-a')).toBe('Off');
  });

  it('refuses unknown controls and overrides, and one control asked for twice with different states', () => {
    const s = store();
    expect(refusal(() => s.apply([{ arn: 'arn:c/nope', state: 'On' }], []))).toMatchObject({
      type: 'ResourceNotFoundException',
    });
    expect(refusal(() => s.apply([{ arn: 'arn:c/dns-b', state: 'On' }], ['no-such-rule']))).toMatchObject({
      type: 'ResourceNotFoundException',
    });
    const twice = refusal(() =>
      s.apply(
        [
          { arn: 'arn:c/dns-b', state: 'On' },
          { arn: 'arn:c/dns-b', state: 'Off' },
        ],
        [],
      ),
    );
    expect(twice).toMatchObject({ type: 'ValidationException' });
  });

  it('keeps changed states across a restart, and refuses the state file of another control panel', () => {
    store().apply([{ arn: 'arn:c/dns-b', state: 'On' }], []);
    expect(store().stateOf('arn:c/dns-b')).toBe('On');
    expect(() => new RoutingControlStore('arn:other-panel', controls, rules, file)).toThrow(
      'belongs to control panel arn:panel',
    );
  });
});
