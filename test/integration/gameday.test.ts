import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import pg from 'pg';
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
  const linkHealth = async (): Promise<{ paused: boolean; delayMs: number }> =>
    (await (await fetch(`${state.endpoints.replicationLink}/health`)).json()) as { paused: boolean; delayMs: number };
  const linkPaused = async (): Promise<boolean> => (await linkHealth()).paused;
  const linkDelayMs = async (): Promise<number> => (await linkHealth()).delayMs;
  const readState = (): LocalState => JSON.parse(readFileSync(path.join(workspace, 'state.json'), 'utf8'));
  /** Whether an MQTT broker answers a CONNECT at `url` within 2 s (a partition's black hole does not). */
  const brokerAnswers = (url: string): Promise<boolean> =>
    new Promise((resolve) => {
      const client = mqtt.connect(url, { connectTimeout: 2_000, reconnectPeriod: 0 });
      const done = (answered: boolean) => {
        clearTimeout(timer);
        client.end(true);
        resolve(answered);
      };
      const timer = setTimeout(() => done(false), 3_000);
      client.once('connect', () => done(true));
      client.once('error', () => done(false));
      client.once('close', () => done(false));
    });
  /** Whether trade's core database replica in us-west-2 has its subscription enabled. */
  const databaseReplicating = async (): Promise<boolean> => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: state.endpoints.regions['us-west-2'].postgres.port,
      user: 'postgres',
      password: readFileSync(path.join(workspace, 'secrets', 'postgres-password'), 'utf8').trim(),
      database: `${state.environment.replace(/-/g, '_')}_tm_core`,
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ subenabled: boolean }>('SELECT subenabled FROM pg_subscription');
      expect(rows.length).toBeGreaterThan(0);
      return rows.every((r) => r.subenabled);
    } finally {
      await client.end();
    }
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

  it('undoes the faults still injected when a later step fails; a fault held `for` undoes itself first', async () => {
    const egressPid = () => readState().services.find((s) => s.id === 'trade/egress@us-east-1')?.pid;
    const pidBefore = egressPid();
    const file = scenario('fails', {
      phases: [
        { id: 'slow-tables', fault: 'replication-delay', delay: '2s', for: '2s' },
        { fault: 'kill-service', app: 'trade', stage: 'egress', region: 'primary' },
        { id: 'pause', fault: 'pause-table-replication' },
        { probe: 'confirming', within: '3s' }, // no load: nothing is confirmed
      ],
    });
    const { result, json } = await runJson<GameDayRun>(['gameday', file, '--yes', '--confirm', 'dev', ...flags]);
    expect(result.code).toBe(1);
    expect(json.report.status).toBe('failed');
    expect(json.report.markers.map((m) => m.name)).toEqual(
      expect.arrayContaining(['fault-slow-tables', 'undone-slow-tables', 'fault-pause']),
    );
    expect(json.report.phases.find((p) => p.id === 'restore-faults')).toMatchObject({ status: 'completed' });
    expect(await linkPaused()).toBe(false);
    expect(await linkDelayMs()).toBe(0);
    // The killed egress was started again, as a new process.
    await eventually(async () => Boolean(egressPid()) && egressPid() !== pidBefore, {
      timeoutMs: 60_000,
      what: 'trade egress running again, as a new process',
    });
    expect(readState().services.find((s) => s.id === 'trade/egress@us-east-1')?.up).toBe(true);
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

  it('resumes a game day tsr was killed in: the cut-short phase runs again, then the verdict and the bundle', async () => {
    const file = scenario('resumes', {
      load: { rate: 2, warmup: '2s' },
      objectives: { lost: 0 },
      phases: [{ id: 'slow', fault: 'pause-table-replication', for: '8s' }],
      settle: '60s',
    });
    const killed = background(file);
    await eventually(async () => (await linkPaused()) && activeFaults().length === 1, {
      timeoutMs: 60_000,
      what: 'the fault injected',
    });
    const runId = activeFaults()[0].runId;
    killed.child.kill('SIGKILL');
    await killed.exited;
    const resumed = await runJson<GameDayRun>(['gameday', 'resume', '--yes', '--confirm', 'dev', ...flags]);
    const summary = resumed.json.report.phases.map((p) => `${p.id} ${p.status} ${p.error ?? ''}`).join('\n');
    expect({ code: resumed.result.code, summary }).toEqual({ code: 0, summary });
    expect(resumed.json.report.runId).toBe(runId);
    expect(resumed.json.report.status).toBe('completed');
    expect(resumed.json.report.verdict?.pairs).toBeGreaterThan(0);
    expect(resumed.json.report.verdict?.counts.lost).toBe(0);
    expect(existsSync(resumed.json.files.html)).toBe(true);
    expect(await linkPaused()).toBe(false);
    expect(activeFaults()).toEqual([]);
    finished++;
  }, 300_000);

  it('a partition cuts the regions both ways; it is undone on Ctrl-C, a second game day is refused meanwhile, and recover heals it after tsr is killed', async () => {
    const file = scenario('holds', { phases: [{ id: 'cut', fault: 'partition', for: '3m' }] });
    const eastToWest = state.endpoints.crossRegion?.['us-east-1>us-west-2'] as string;
    const westToEast = state.endpoints.crossRegion?.['us-west-2>us-east-1'] as string;
    expect([eastToWest, westToEast]).toEqual([expect.stringMatching(/^mqtt:/), expect.stringMatching(/^mqtt:/)]);
    expect(await brokerAnswers(eastToWest)).toBe(true);
    expect(await databaseReplicating()).toBe(true);
    const partitioned = async () =>
      (await linkPaused()) && activeFaults().length === 1 && readState().partitioned === true;
    const first = background(file);
    await eventually(partitioned, { timeoutMs: 60_000, what: 'the partition injected' });
    // Both directions hang unanswered; the operator's own path to each broker still works.
    expect([await brokerAnswers(eastToWest), await brokerAnswers(westToEast)]).toEqual([false, false]);
    expect(await brokerAnswers(state.endpoints.regions['us-west-2'].broker as string)).toBe(true);
    expect(await databaseReplicating()).toBe(false);
    const second = await runTsr(['gameday', file, '--yes', '--confirm', 'dev', ...flags]);
    expect(second.code).toBe(5);
    expect(second.stderr).toMatch(/gameday/);
    first.child.kill('SIGINT');
    const ended = await first.exited;
    expect({ code: ended.code, output: first.output() }).toEqual({ code: 130, output: first.output() });
    expect(await linkPaused()).toBe(false);
    expect(activeFaults()).toEqual([]);
    expect(readState().partitioned).toBeUndefined();
    expect(await brokerAnswers(eastToWest)).toBe(true);
    expect(await databaseReplicating()).toBe(true);

    const crashed = background(file);
    await eventually(partitioned, { timeoutMs: 60_000, what: 'the partition injected again' });
    crashed.child.kill('SIGKILL');
    await crashed.exited;
    expect(await linkPaused()).toBe(true); // nobody undid it
    const recovered = await runJson<ResultOf<typeof GameDayRecover>>(['gameday', 'recover', '--yes', ...flags]);
    expect(recovered.result.code).toBe(0);
    expect(recovered.json.undone).toEqual(['partition']);
    expect(await linkPaused()).toBe(false);
    expect(await brokerAnswers(westToEast)).toBe(true);
    expect(activeFaults()).toEqual([]);
    finished++;
  }, 300_000);
});
