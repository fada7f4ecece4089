import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type GameDay from '../../src/commands/gameday/index.js';
import type GameDayRecover from '../../src/commands/gameday/recover.js';
import type { LocalState } from '../../src/infra/local/state.js';
import type { InjectedFault } from '../../src/platform/faults.js';
import { keepForDebugging, ROOT, runJson, runTsr, tempWorkspace, type ResultOf } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';

type GameDayRun = Extract<ResultOf<typeof GameDay>, { dryRun: false }>;

/**
 * Game days on the real local platform: a short scenario end to end (objectives, verdict, bundle, JUnit); faults
 * undone after a failed step, on Ctrl-C and when a stop condition fires; `tsr gameday recover` after tsr is killed
 * mid-fault; two game days at once refused.
 */
describe('game days on the local platform', () => {
  const workspace = tempWorkspace('tsr-gameday-');
  const flags = ['--workspace', workspace];
  let state: LocalState;
  /** Tests that got to their end: fewer than all keeps the workspace's evidence. */
  let finished = 0;

  const scenario = (name: string, body: object): string => {
    const file = path.join(workspace, `${name}.yaml`);
    writeFileSync(file, stringify({ name, description: `test ${name}`, hypothesis: 'the test holds', ...body }));
    return file;
  };
  const activeFaults = (): InjectedFault[] => {
    const file = path.join(workspace, 'gamedays', 'active-faults.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as InjectedFault[]) : [];
  };
  const linkPaused = async (): Promise<boolean> => {
    const response = await fetch(`${state.endpoints.replicationLink}/health`);
    return ((await response.json()) as { paused: boolean }).paused;
  };
  /** Runs a game day in the background; resolves its exit once it ends. */
  const background = (file: string) => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'bin', 'run.js'), 'gameday', file, '--yes', '--confirm', 'dev', ...flags],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    return { child, exited, output: () => output };
  };

  beforeAll(async () => {
    expect((await runTsr(['deploy', ...flags])).code).toBe(0);
    state = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8'));
  }, 180_000);

  afterAll(async () => {
    if (finished < 4) keepForDebugging(workspace, ['runbooks', 'gamedays', 'logs'], 'game-day test');
    await runTsr(['destroy', '--purge', '--confirm', 'dev', ...flags]);
  }, 60_000);

  it('runs a short scenario end to end: objectives judged, every pair ok, the bundle and JUnit written', async () => {
    const file = scenario('short', {
      objectives: { lost: 0, duplicated: 0, wrong: 0, p99ToMatched: '30s' },
      load: { rate: 5, warmup: '3s' },
      steadyState: [{ probe: 'confirming' }],
      phases: [
        { id: 'slow-tables', fault: 'replication-delay', delay: '2s', for: '3s' },
        { fault: 'kill-service', app: 'trade', stage: 'egress', region: 'primary' },
        { probe: 'confirming', within: '60s' },
      ],
      settle: '90s',
    });
    const { result, json } = await runJson<GameDayRun>(['gameday', file, '--yes', '--confirm', 'dev', ...flags]);
    const summary = json.report.phases.map((p) => `${p.id} ${p.status} ${p.error ?? p.detail ?? ''}`).join('\n');
    expect({ code: result.code, status: json.report.status, summary }).toEqual({
      code: 0,
      status: 'completed',
      summary,
    });
    expect(json.report.passed).toBe(true);
    expect(json.report.verdict?.pairs).toBeGreaterThan(10);
    expect(json.report.verdict?.counts.ok).toBe(json.report.verdict?.pairs);
    expect(json.report.objectives.map((o) => [o.name, o.passed])).toEqual([
      ['lost', true],
      ['duplicated', true],
      ['wrong', true],
      ['p99ToMatched', true],
    ]);
    expect(json.report.markers.map((m) => m.name)).toEqual(
      expect.arrayContaining(['fault-slow-tables', 'undone-slow-tables']),
    );
    expect(json.report.timeline.length).toBeGreaterThan(3);
    for (const f of [json.files.json, json.files.markdown, json.files.html, json.files.junit])
      expect(existsSync(f)).toBe(true);
    const junit = readFileSync(json.files.junit, 'utf8');
    expect(junit.match(/<testcase /g)).toHaveLength(6); // run, verdict, four objectives
    expect(junit).toContain('failures="0"');
    expect(activeFaults()).toEqual([]);
    const history = await runJson<{ runs: { runId: string; passed: boolean }[] }>(['gameday', 'history', ...flags]);
    expect(history.json.runs).toEqual([expect.objectContaining({ runId: json.report.runId, passed: true })]);
    finished++;
  }, 420_000);

  it('undoes a fault when a later step fails', async () => {
    const file = scenario('fails', {
      phases: [
        { id: 'pause', fault: 'pause-table-replication' },
        { probe: 'confirming', within: '3s' }, // no load: nothing is confirmed
      ],
    });
    const { result, json } = await runJson<GameDayRun>(['gameday', file, '--yes', '--confirm', 'dev', ...flags]);
    expect(result.code).toBe(1);
    expect(json.report.status).toBe('failed');
    expect(json.report.phases.find((p) => p.id === 'restore-faults')).toMatchObject({ status: 'completed' });
    expect(await linkPaused()).toBe(false);
    expect(activeFaults()).toEqual([]);
    finished++;
  }, 180_000);

  it('stops when a stop condition fires, and undoes the hang that caused it', async () => {
    const file = scenario('stops', {
      load: { rate: 5, warmup: '2s' },
      stopWhen: [{ condition: 'no-confirmation', for: '8s' }],
      phases: [{ id: 'hang', fault: 'hang-service', app: 'trade', stage: 'core', region: 'primary' }, { hold: '3m' }],
      settle: '60s',
    });
    const { result, json } = await runJson<GameDayRun>(['gameday', file, '--yes', '--confirm', 'dev', ...flags]);
    expect(result.code).not.toBe(0);
    expect(json.report.status).toBe('stopped');
    expect(json.report.stoppedBy?.condition).toBe('no-confirmation');
    expect(activeFaults()).toEqual([]);
    const core = state.services.find((s) => s.id === 'trade/core@us-east-1');
    const pid = JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8')).services.find(
      (s: { id: string }) => s.id === core?.id,
    )?.pid as number;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    expect(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)).not.toBe('T'); // not stopped any more
    finished++;
  }, 300_000);

  it('undoes faults on Ctrl-C, refuses a second game day meanwhile, and recovers after tsr is killed', async () => {
    const file = scenario('holds', { phases: [{ id: 'pause', fault: 'pause-table-replication', for: '3m' }] });
    const first = background(file);
    await eventually(async () => (await linkPaused()) && activeFaults().length === 1, {
      timeoutMs: 60_000,
      what: 'the fault injected',
    });
    const second = await runTsr(['gameday', file, '--yes', '--confirm', 'dev', ...flags]);
    expect(second.code).toBe(5);
    expect(second.stderr).toMatch(/gameday/);
    first.child.kill('SIGINT');
    const ended = await first.exited;
    expect({ code: ended.code, output: first.output() }).toEqual({ code: 130, output: first.output() });
    expect(await linkPaused()).toBe(false);
    expect(activeFaults()).toEqual([]);

    const crashed = background(file);
    await eventually(async () => (await linkPaused()) && activeFaults().length === 1, {
      timeoutMs: 60_000,
      what: 'the fault injected again',
    });
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    expect(await linkPaused()).toBe(true); // nobody undid it
    const recovered = await runJson<ResultOf<typeof GameDayRecover>>(['gameday', 'recover', '--yes', ...flags]);
    expect(recovered.result.code).toBe(0);
    expect(recovered.json.undone).toEqual(['pause-table-replication']);
    expect(await linkPaused()).toBe(false);
    expect(activeFaults()).toEqual([]);
    finished++;
  }, 300_000);
});
