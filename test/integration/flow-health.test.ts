import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runJson, runTsr, tempWorkspace, type ResultOf } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import type GeneratorStart from '../../src/commands/generator/start.js';
import type GeneratorStatus from '../../src/commands/generator/status.js';
import type RunbookRun from '../../src/commands/runbook/run.js';
import type Status from '../../src/commands/status.js';

type RunJson = Extract<ResultOf<typeof RunbookRun>, { dryRun: false }>;

/**
 * Falling behind, on the real local platform: `--rate auto` moves towards a rate the platform confirms; a stage that
 * cannot keep up is flagged as the one that limits (and `tsr status` exits 4); a rotation started into the backlog
 * warns and its report says so next to RTO. Everything waits on conditions; no figure is timed.
 */
describe('flow health end to end', () => {
  const workspace = tempWorkspace('tsr-flow-');
  const flags = ['--workspace', workspace];
  /** The stage the tests below stop, so it cannot keep up whatever this machine's speed. */
  const HUNG_STAGE = 'trade/core@us-east-1';
  let hung = false;
  const hangTradeCore = (signal: 'STOP' | 'CONT') => {
    const state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8')) as {
      services: { id: string; pid?: number }[];
    };
    const pid = state.services.find((s) => s.id === HUNG_STAGE)?.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, `SIG${signal}`);
    hung = signal === 'STOP';
  };

  beforeAll(async () => {
    expect((await runTsr(['deploy', ...flags])).code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    if (hung) hangTradeCore('CONT');
    await runTsr(['generator', 'stop', ...flags]);
    await runTsr(['destroy', '--purge', '--confirm', 'dev', ...flags]);
  }, 120_000);

  // Settling (`start --rate auto` waiting until the rate holds) did not happen within 15 minutes in a CI run where
  // another test file loaded the same 2 cores: reported on issue 16, not asserted here until it does.
  it('--rate auto runs the feedback loop: it moves the rate towards what the platform confirms and says so', async () => {
    const started = await runJson<ResultOf<typeof GeneratorStart>>([
      'generator',
      'start',
      '--rate',
      'auto',
      '--no-wait',
      ...flags,
    ]);
    expect(started.result.code).toBe(0);
    expect(started.json.auto).toMatchObject({ state: expect.stringMatching(/^(searching|holding)$/) });
    const first = started.json.auto?.rate ?? 0;
    // The loop adjusts every 5 s: the rate it offers changes from where it started, and confirmations come back.
    const moved = await eventually(
      async () => {
        const { json } = await runJson<ResultOf<typeof GeneratorStatus>>(['generator', 'status', ...flags]);
        const rate = json.auto?.rate ?? first;
        return rate !== first && (json.flow?.confirmedPerSecond ?? 0) > 0 ? json : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 2_000, what: 'the auto loop changing its rate while confirmations come back' },
    );
    expect(moved.flow?.confirmedPerSecond).toBeGreaterThan(0);
    const human = await runTsr(['generator', 'status', ...flags]);
    expect(human.stdout).toMatch(/rate auto: (holding|searching)/);
    expect(human.stdout).toMatch(/offered [\d.]+ pairs\/s, confirmed [\d.]+ pairs\/s/);
  }, 300_000);

  it('a stage that cannot keep up is flagged as falling behind, naming that stage; status exits 4', async () => {
    // A platform that keeps up with whatever a rate test picks on one machine may not on another (a CI run offered
    // 2.5 times the first rate the auto loop confirmed and never fell behind): the core that cannot keep up is made
    // so for sure — stopped (SIGSTOP, a hang its supervisor does not see) — under a modest offered rate.
    expect((await runTsr(['generator', 'start', '--rate', '5', ...flags])).code).toBe(0);
    hangTradeCore('STOP');
    const flagged = await eventually(
      async () => {
        const look = await runJson<ResultOf<typeof Status>>(['status', '--behind-after', '30', ...flags]);
        return look.json.flow?.fallingBehind ? look : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 2_000, what: 'status saying FALLING BEHIND' },
    );
    expect(flagged.result.code).toBe(4);
    const flow = flagged.json.flow;
    expect(flow?.limitingStage).toBe(HUNG_STAGE);
    expect(flow?.stages.map((s) => s.id)).toContain(flow?.limitingStage);
    expect(flow?.behindForMs).toBeGreaterThanOrEqual(30_000);
    expect(flow?.offeredPerSecond).toBeGreaterThan(0);
    expect(flow?.oldestUnprocessed?.ageMs).toBeGreaterThan(0);

    // Near the threshold a look can come out either way (a lump of confirmations, a dip): each view is awaited.
    const human = await eventually(
      async () => {
        const look = await runTsr(['status', '--behind-after', '30', ...flags]);
        return look.code === 4 && look.stdout.split('\n')[1].startsWith('FALLING BEHIND') ? look : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1_000, what: 'the human status saying FALLING BEHIND' },
    );
    // The verdict lines come first: the health verdict, then the flow's.
    expect(human.stdout.split('\n')[1]).toMatch(/^FALLING BEHIND: .* limiting stage \S+/);
    expect(human.stdout.split('\n')[1]).toContain(HUNG_STAGE);
    await eventually(
      async () =>
        (await runJson<ResultOf<typeof GeneratorStatus>>(['generator', 'status', ...flags])).json.flowHealth
          ?.fallingBehind === true,
      { timeoutMs: 300_000, intervalMs: 1_000, what: 'generator status saying falling behind' },
    );
  }, 900_000);

  it('a rotation started while behind warns in its preflight and notes it next to RTO', async () => {
    // Still behind from the test above (the core hung; without that test, hung here). Once the preflight has looked,
    // the core resumes and the generator stops, so the rotation works off the backlog it was born into.
    // Born into a backlog for sure: falling behind for well past the 30 s threshold (with the core hung it only
    // grows), so the preflight's look a moment later does not come out the other way near the threshold.
    if (!hung) {
      expect((await runTsr(['generator', 'start', '--rate', '5', ...flags])).code).toBe(0);
      hangTradeCore('STOP');
    }
    await eventually(
      async () => {
        const look = await runJson<ResultOf<typeof Status>>(['status', '--behind-after', '30', ...flags]);
        return look.json.flow?.fallingBehind === true && (look.json.flow.behindForMs ?? 0) >= 60_000;
      },
      { timeoutMs: 300_000, intervalMs: 2_000, what: 'falling behind for a minute' },
    );
    // The built-in rotation, with room for each drain wait: the backlog it is born into is worked off first.
    const rotation = runJson<RunJson>([
      'runbook',
      'run',
      path.join(ROOT, 'runbooks', 'rotate.yaml'),
      '--param',
      'app=trade',
      '--param',
      'target=secondary',
      '--param',
      'drainTimeout=10m',
      '--param',
      'waitReplication=10m',
      '--yes',
      ...flags,
    ]);
    const runbooks = path.join(workspace, 'runbooks');
    await eventually(
      () =>
        readdirSync(runbooks)
          .filter((f) => f.endsWith('.json') && !f.endsWith('.report.json'))
          .some((f) => {
            const journal = JSON.parse(readFileSync(path.join(runbooks, f), 'utf8')) as {
              steps?: { type: string; status: string }[];
            };
            return journal.steps?.some((s) => s.type === 'check.preflight' && s.status !== 'pending');
          }),
      { timeoutMs: 120_000, intervalMs: 200, what: 'the rotation in its preflight' },
    );
    hangTradeCore('CONT');
    expect((await runTsr(['generator', 'stop', ...flags])).code).toBe(0);
    const rotated = await rotation;
    expect(rotated.json.journal.status).toBe('completed');
    const preflight = rotated.json.journal.steps.find((s) => s.type === 'check.preflight');
    expect(preflight?.detail).toMatch(/WARNING: the platform is already behind: /);
    expect(rotated.json.report.flowAtStart?.behind).toBe(true);
    const markdown = readFileSync(path.join(runbooks, `${rotated.json.journal.runId}.report.md`), 'utf8');
    expect(markdown).toMatch(/\| RTO \| .*\n\| Flow at start \| BEHIND: /);
    expect(markdown).toContain('The run started while the platform was already behind');
  }, 1_800_000);
});
