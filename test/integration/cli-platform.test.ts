import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runJson, runTsr, tempWorkspace } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import { runOnTerminal } from '../helpers/terminal.js';

/** A command that runs until stopped (--watch, --follow), with what it printed so far. */
function start(args: readonly string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TSR_')));
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'run.js'), ...args], { env });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    output: () => stdout,
    stop: () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

/** The everyday commands against one real local deployment: what a user sees and how they are asked. */
describe('the CLI on a deployed platform', () => {
  const workspace = tempWorkspace();
  const flags = ['--workspace', workspace];

  beforeAll(async () => {
    expect((await runTsr(['deploy', ...flags])).code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await runTsr(['destroy', '--purge', '--confirm', 'dev', ...flags]);
  }, 60_000);

  it('status opens with its verdict, without colour in a pipe, and --watch refreshes it until Ctrl-C', async () => {
    const { code, stdout } = await runTsr(['status', ...flags]);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(/^HEALTHY: \d+ components up, replication healthy/);
    expect(stdout).not.toContain('\x1b[');

    const watching = start(['status', '--watch', '--interval', '1', ...flags]);
    await eventually(async () => (watching.output().match(/^HEALTHY/gm) ?? []).length >= 2, {
      timeoutMs: 30_000,
      what: 'two frames',
    });
    expect(await watching.stop()).toBe(0);
  }, 60_000);

  it('services logs shows readable lines and --follow prints new ones as they come', async () => {
    const { stdout } = await runTsr(['services', 'logs', 'trade/core@us-east-1', ...flags]);
    expect(stdout).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} {2}INFO /m);
    expect(stdout).not.toMatch(/^\{"level"/m);

    const following = start(['services', 'logs', 'trade/core@us-east-1', '-n', '1', '--follow', ...flags]);
    await eventually(async () => following.output().length > 0, { timeoutMs: 15_000, what: 'the tail' });
    const before = following.output().split('\n').length;
    expect((await runTsr(['services', 'restart', 'trade/core@us-east-1', ...flags])).code).toBe(0);
    await eventually(async () => following.output().split('\n').length > before, {
      timeoutMs: 30_000,
      what: 'lines after a restart',
    });
    expect(await following.stop()).toBe(0);
  }, 90_000);

  it('asks before restarting everything and before bringing a region back', async () => {
    const restart = await runJson<{ error: { fix: string } }>(['services', 'restart', ...flags]);
    expect(restart.result.code).toBe(5);
    expect(restart.json.error.fix).toBe('pass --yes');
    const regionUp = await runJson<{ error: { fix: string } }>(['chaos', 'region-up', 'us-east-1', ...flags]);
    expect(regionUp.result.code).toBe(5);
    expect(regionUp.json.error.fix).toBe('pass --yes');
  });

  it('rotate asks on the terminal even when stdout is piped, and the question stays off stdout', async () => {
    const answer = await runOnTerminal(['rotate', 'trade', '--to', 'secondary', ...flags], 'Run rotate', 'n');
    expect(answer.code).toBe(5);
    expect(answer.terminal).toContain('Run rotate on trade');
    expect(answer.stdout).not.toContain('Run rotate on trade');

    const json = await runOnTerminal(['rotate', 'trade', '--to', 'secondary', '--json', ...flags], 'Run rotate', 'n');
    expect(json.code).toBe(5);
    expect(json.terminal).toContain('switchover'); // the plan, shown where the question is asked
    expect(JSON.parse(json.stdout)).toEqual({ error: { message: 'cancelled; nothing was changed', exitCode: 5 } });
  }, 60_000);

  it("a failed run's next steps name the user's workspace", async () => {
    const file = path.join(tempWorkspace('tsr-runbook-'), 'slow.yaml');
    writeFileSync(
      file,
      [
        'name: slow',
        'description: a wait that times out',
        'steps:',
        '  - id: nap',
        '    type: sleep',
        '    params: { duration: 30s }',
        '    timeout: 100ms',
      ].join('\n'),
    );
    const { code, stdout } = await runTsr(['runbook', 'run', file, '--yes', ...flags]);
    expect(code).toBe(1);
    expect(stdout).toMatch(new RegExp(`\`tsr runbook resume \\S+ --workspace ${workspace}\``));
  }, 60_000);
});
