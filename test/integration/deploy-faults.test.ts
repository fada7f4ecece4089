import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { findWorkspaceProcesses } from '../../src/infra/local/processes.js';
import { isAlive, type LocalState } from '../../src/infra/local/state.js';
import { runJson, runTsr, tempWorkspace, type ResultOf } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';
import type Status from '../../src/commands/status.js';
import type { LocalDeployOutput as DeployOutput } from '../../src/lib/targets.js';

/** Bad input and faults around deploy: each ends with a clear message, a non-zero exit and nothing left running. */
describe('local deploy: bad input and faults', () => {
  const workspaces: string[] = [];
  const workspace = () => {
    const dir = tempWorkspace('tsr-fault-');
    workspaces.push(dir);
    return dir;
  };

  afterAll(async () => {
    for (const dir of workspaces) await runTsr(['destroy', '--purge', '--confirm', 'dev', '--workspace', dir]);
  }, 120_000);

  it('rejects unknown, duplicate and single regions before starting anything', async () => {
    const dir = workspace();
    const unknown = await runTsr(['deploy', '--regions', 'us-east-1,mars-north-1', '--workspace', dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown region "mars-north-1"');
    expect(unknown.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const duplicate = await runTsr(['deploy', '--regions', 'us-east-1,us-east-1', '--workspace', dir]);
    expect(duplicate.stderr).toContain('region listed twice');
    const single = await runTsr(['deploy', '--regions', 'us-east-1', '--workspace', dir]);
    expect(single.stderr).toContain('needs at least two regions');
    expect(existsSync(path.join(dir, 'state.json'))).toBe(false);
  });

  it('names a port that is already in use and leaves nothing running', async () => {
    const dir = workspace();
    // Hold a port, and ask deploy to start its range there.
    let blocker: Server;
    let port: number;
    do {
      blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
      port = (blocker.address() as { port: number }).port;
      if (port > 64_000) blocker.close();
    } while (port > 64_000);
    try {
      const result = await runTsr(['deploy', '--base-port', String(port), '--workspace', dir]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
    expect(findWorkspaceProcesses(dir)).toEqual([]);
    expect(existsSync(path.join(dir, 'state.json'))).toBe(false);
  }, 60_000);

  it('shows the log tail of an engine that fails to start, and stops the others', async () => {
    const dir = workspace();
    const dataDir = path.join(dir, 'data', 'us-west-2', 'postgres');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'PG_VERSION'), '9\n'); // a data directory PostgreSQL 17 refuses
    const result = await runTsr(['deploy', '--workspace', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('postgres (us-west-2) failed to start');
    expect(result.stderr).toContain('last lines of');
    expect(findWorkspaceProcesses(dir)).toEqual([]);
  }, 90_000);

  it('cleans up everything it started when interrupted with Ctrl-C', async () => {
    const dir = workspace();
    let cliPid = 0;
    const running = runTsr(['deploy', '--workspace', dir], { onSpawn: (pid) => (cliPid = pid) });
    await eventually(
      async () => {
        const state =
          existsSync(path.join(dir, 'state.json')) &&
          (JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as LocalState);
        return state && state.phase === 'starting engines';
      },
      { timeoutMs: 30_000, what: 'deploy starting engines' },
    );
    process.kill(cliPid, 'SIGINT');
    const result = await running;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('deploy interrupted');
    expect(findWorkspaceProcesses(dir)).toEqual([]);
    expect(existsSync(path.join(dir, 'state.json'))).toBe(false);
  }, 90_000);

  it('reports a corrupt state file with the way out, and destroy still cleans up', async () => {
    const dir = workspace();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'state.json'), '{ not json');
    const status = await runTsr(['status', '--workspace', dir]);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('is corrupt');
    expect(status.stderr).toContain('tsr destroy --yes');
    const destroy = await runTsr(['destroy', '--yes', '--workspace', dir]);
    expect(destroy.code).toBe(0);
    expect(existsSync(path.join(dir, 'state.json'))).toBe(false);
  });

  // Two full deploys (21 service processes each) while another suite loads the other core: well over 120 s seen in CI.
  it('reports a crashed engine, detects a dead control process, and redeploys over a stale state', async () => {
    const dir = workspace();
    const deployed = await runJson<DeployOutput>(['deploy', '--workspace', dir]);
    expect(deployed.result.code).toBe(0);
    const state = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as LocalState;

    const kinesis = state.processes.find((p) => p.id === 'kinesis@us-west-2');
    process.kill(kinesis?.pid as number, 'SIGKILL');
    await eventually(async () => !isAlive(kinesis?.pid), { timeoutMs: 5_000, what: 'kinesis gone' });
    const status = await runJson<ResultOf<typeof Status>>(['status', '--workspace', dir]);
    expect(status.result.code).toBe(4);
    expect(status.json.healthy).toBe(false);
    expect(status.json.components.find((c) => c.name === 'kinesis' && c.region === 'us-west-2')?.up).toBe(false);

    process.kill(state.supervisor.pid, 'SIGKILL');
    await eventually(async () => findWorkspaceProcesses(dir).length === 0, {
      timeoutMs: 20_000,
      what: 'engines follow their supervisor',
    });
    const stale = await runTsr(['status', '--workspace', dir]);
    expect(stale.code).toBe(3);
    expect(stale.stderr).toContain('control process');

    const again = await runJson<DeployOutput>(['deploy', '--workspace', dir]);
    // With its stderr, so a failure says why the redeploy was refused.
    expect({ code: again.result.code, stderr: again.result.code ? again.result.stderr : '' }).toEqual({
      code: 0,
      stderr: '',
    });
    expect(again.json.outcome).toBe('started');
  }, 300_000);
});
