import {
  assessReplication,
  checkRoutingBatch,
  parseRunbook,
  relevantLags,
  rollbackRun,
  runRunbook,
  stepRegistry,
  type RunOptions,
} from '../../src/runbooks/index.js';
import type { ReplicationLag } from '../../src/platform/platform.js';
import { caughtUpLags, FakePlatform, tempDir } from '../helpers/runbook-fakes.js';

let workspace: string;
let platform: FakePlatform;
const options = (extra: Partial<RunOptions> = {}): RunOptions => ({
  platform,
  workspace,
  yes: true,
  progress: 'silent',
  ...extra,
});
const runbook = (steps: string, parameters = '') =>
  parseRunbook(`name: t\ndescription: t\n${parameters}steps:\n${steps}`, '/tmp/t.yaml', stepRegistry);

beforeEach(() => {
  workspace = tempDir();
  platform = new FakePlatform(workspace);
});

describe('routing-control.set', () => {
  it('refuses a batch leaving two regions with app On, or every dns Off, without calling ARC', () => {
    const current = [...platform.states].map(([name, state]) => ({ name, arn: name, state }));
    expect(checkRoutingBatch(current, [{ control: 'trade-app-us-west-2', state: 'On' }], platform.names)).toEqual([
      'the batch would leave trade-app On in us-east-1 and us-west-2: at most one region may run trade core',
    ]);
    expect(checkRoutingBatch(current, [{ control: 'trade-dns-us-east-1', state: 'Off' }], platform.names)).toEqual([
      'the batch would leave every trade-dns control Off: senders would have no broker',
    ]);
    // Moving app in one batch is fine; another app's state does not matter.
    expect(
      checkRoutingBatch(
        current,
        [
          { control: 'trade-app-us-east-1', state: 'Off' },
          { control: 'trade-app-us-west-2', state: 'On' },
        ],
        platform.names,
      ),
    ).toEqual([]);
  });

  it('sets a batch atomically, records before/after, and passes overrides only when asked', async () => {
    const result = await runRunbook(
      runbook(`  - id: swap
    type: routing-control.set
    params:
      set:
        trade-dns-us-east-1: Off
        trade-dns-us-west-2: on
  - id: emergency
    type: routing-control.set
    params:
      set:
        trade-queue-us-east-1: Off
      override: [trade-gate-queue-and-app]
`),
      {},
      options(),
    );
    expect(result.journal.status).toBe('completed');
    expect(platform.sets).toEqual([
      {
        updates: [
          { control: 'trade-dns-us-east-1', state: 'Off' },
          { control: 'trade-dns-us-west-2', state: 'On' },
        ],
        overrides: [],
      },
      { updates: [{ control: 'trade-queue-us-east-1', state: 'Off' }], overrides: ['trade-gate-queue-and-app'] },
    ]);
    expect(result.journal.steps[0].detail).toBe('trade-dns-us-east-1 On→Off, trade-dns-us-west-2 Off→On');
    expect(platform.states.get('trade-queue-us-east-1')).toBe('Off');
  });

  it('a refused batch fails the step and changes nothing (our check, then the ARC gate rule)', async () => {
    const twoActive = await runRunbook(
      runbook(`  - id: bad
    type: routing-control.set
    params:
      set:
        trade-gate: On
        trade-app-us-west-2: On
`),
      {},
      options(),
    );
    expect(twoActive.journal.status).toBe('failed');
    expect(twoActive.journal.steps[0].error).toMatch(/trade-app On in us-east-1 and us-west-2/);
    expect(platform.sets).toEqual([]);
    const gated = await runRunbook(
      runbook(`  - id: bad
    type: routing-control.set
    params:
      set:
        trade-queue-us-west-2: On
`),
      {},
      options(),
    );
    expect(gated.journal.steps[0].error).toMatch(/trade-gate-queue-and-app/);
    expect(platform.states.get('trade-queue-us-west-2')).toBe('Off');
  });
});

describe('wait.replicated', () => {
  const lag = (extra: Partial<ReplicationLag>): ReplicationLag => ({
    kind: 'database',
    resource: 'test_tm_core',
    from: 'us-east-1',
    to: 'us-west-2',
    healthy: true,
    lagMs: 10,
    ...extra,
  });

  it('never counts unhealthy, unmeasured or absent lag as caught up', () => {
    expect(assessReplication([], 1000, 'us-west-2')).toMatchObject({ caughtUp: false });
    expect(assessReplication([lag({ healthy: false, lagMs: 0 })], 1000, 'us-west-2').caughtUp).toBe(false);
    expect(assessReplication([lag({ lagMs: undefined })], 1000, 'us-west-2').caughtUp).toBe(false);
    expect(assessReplication([lag({ lagMs: 1500, pending: 1234 })], 1000, 'us-west-2').detail).toContain(
      'lag 1,500 ms, 1,234 pending',
    );
    expect(assessReplication([lag({ lagMs: 420 })], 1000, 'us-west-2')).toMatchObject({ caughtUp: true, worstMs: 420 });
  });

  it("keeps the app's resources into the target, and link-wide failures", () => {
    const lags = [
      ...caughtUpLags(platform, 'us-east-1', 'us-west-2'),
      lag({ to: 'us-east-1', from: 'us-west-2' }),
      lag({ kind: 'table', resource: '*', from: '*', to: '*', healthy: false }),
    ];
    const relevant = relevantLags(lags, { to: 'us-west-2', app: 'trade' }, platform.names);
    expect(relevant.map((l) => l.resource).sort()).toEqual(
      [
        '*',
        'test-tm-core',
        'test-tm-egress',
        'test-tm-inbound-gateway',
        'test-tm-ingestion',
        'test-tm-outbound-gateway',
        'test_tm_core',
      ].sort(),
    );
  });

  it('waits until caught up, showing the lag as it goes', async () => {
    let calls = 0;
    platform.lags = () => {
      calls++;
      return caughtUpLags(platform, 'us-east-1', 'us-west-2', calls < 3 ? 5_000 : 40);
    };
    const result = await runRunbook(
      runbook(`  - id: lag
    type: wait.replicated
    params:
      from: us-east-1
      to: us-west-2
      app: trade
      interval: 10ms
    timeout: 5s
`),
      {},
      options(),
    );
    expect(result.journal.status).toBe('completed');
    expect(calls).toBe(3);
    expect(result.journal.steps[0].detail).toMatch(/^caught up: lag 40 ms \(max of 6, limit 1,000 ms\)/);
  });
});

describe('check.preflight, approve, sleep', () => {
  const rotate = (target: string) =>
    runbook(
      `  - id: preflight
    type: check.preflight
    params:
      app: \${app}
      source: \${source}
      target: ${target}
  - id: after
    type: sleep
    params:
      duration: 10ms
      reason: let it settle
`,
      `parameters:\n  app:\n    type: app\n    default: trade\n  source:\n    type: region\n    default: active\n`,
    );

  it('rotating to the region already active is a no-op with a message', async () => {
    const result = await runRunbook(rotate('us-east-1'), {}, options());
    expect(result.journal.status).toBe('completed');
    expect(result.journal.message).toBe('trade is already active in us-east-1: nothing to do');
    expect(result.journal.steps.map((s) => s.status)).toEqual(['completed', 'skipped']);
  });

  it('refuses a target with components down, replication behind, or another unfinished run', async () => {
    platform.components = platform.components.map((c) =>
      c.region === 'us-west-2' && c.name === 'broker' ? { ...c, up: false, detail: 'port 1883 silent' } : c,
    );
    platform.lags = caughtUpLags(platform, 'us-east-1', 'us-west-2', 9_000);
    const result = await runRunbook(rotate('us-west-2'), {}, options());
    expect(result.journal.status).toBe('failed');
    const error = result.journal.steps[0].error ?? '';
    expect(error).toContain('target us-west-2 has components down: broker (port 1883 silent)');
    expect(error).toContain('replication into us-west-2 is not caught up');
    expect(result.journal.steps[1].status).toBe('pending');

    // A run that changed something and was left unfinished blocks the next one on the same app.
    platform.components = platform.components.map((c) => ({ ...c, up: true }));
    platform.lags = caughtUpLags(platform, 'us-east-1', 'us-west-2');
    const abandoned = await runRunbook(
      runbook(
        `  - id: gate
    type: routing-control.set
    params:
      set:
        trade-gate: On
  - id: too-slow
    type: sleep
    params:
      duration: 5s
    timeout: 20ms
`,
        `parameters:\n  app:\n    type: app\n    default: trade\n`,
      ),
      {},
      options(),
    );
    expect(abandoned.journal).toMatchObject({ status: 'failed', lockKey: 'trade' });
    expect(abandoned.journal.steps[1].error).toBe('timed out after 20 ms (last: 5.0 s left)');
    const blocked = await runRunbook(rotate('us-west-2'), {}, options());
    expect(blocked.journal.steps[0].error).toContain(
      `run ${abandoned.journal.runId} (t) on trade is failed: \`tsr runbook resume ${abandoned.journal.runId}\``,
    );
    // Once rolled back it no longer blocks.
    expect((await rollbackRun(abandoned.journal.runId, options())).journal.status).toBe('rolled-back');
    const cleared = await runRunbook(rotate('us-west-2'), {}, options());
    expect(cleared.journal.status).toBe('completed');
  });

  it('approve passes with --yes and says so; a declined approval fails the step', async () => {
    const approveBook = runbook(`  - id: ok
    type: approve
    params:
      message: Go?
`);
    const yes = await runRunbook(approveBook, {}, options());
    expect(yes.journal.steps[0]).toMatchObject({ status: 'completed', detail: 'approved by --yes (no prompt shown)' });
    const asked: string[] = [];
    const no = await runRunbook(
      approveBook,
      {},
      options({ yes: false, prompter: { confirm: async (q) => (asked.push(q), asked.length === 1) } }),
    );
    expect(asked).toEqual(['Run t on t (1 steps)? It changes the platform as listed above.', 'Go?']);
    expect(no.journal.steps[0]).toMatchObject({ status: 'failed', error: 'not approved: Go?' });
  });
});
