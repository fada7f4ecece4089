import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { claimWorkspace, isTsrWorkspace, WORKSPACE_MARKER } from '../../src/infra/local/workspace.js';
import { runJson, runTsr, tempWorkspace } from '../helpers/cli.js';

interface ErrorJson {
  error: { message: string; fix?: string; exitCode: number };
}

/** A workspace as a deploy leaves it: marker, state, logs, data, secrets and a drill history. */
function deployedWorkspace(): string {
  const workspace = path.join(tempWorkspace('tsr-purge-'), 'ws');
  claimWorkspace(workspace);
  for (const dir of ['logs', 'data', 'secrets', 'runbooks']) mkdirSync(path.join(workspace, dir));
  writeFileSync(path.join(workspace, 'logs', 'supervisor.log'), 'log\n');
  writeFileSync(path.join(workspace, 'data', 'ports.json'), '{}');
  writeFileSync(path.join(workspace, 'runbooks', 'run-1.json'), '{}');
  return workspace;
}

const purge = (workspace: string, ...more: string[]) =>
  runJson<ErrorJson & { purge?: { deleted: string[]; kept: string[] } }>([
    'destroy',
    '--purge',
    '--workspace',
    workspace,
    ...more,
  ]);

describe('destroy --purge', () => {
  it('refuses a directory tsr did not create and deletes nothing in it', async () => {
    const dir = tempWorkspace('tsr-foreign-');
    mkdirSync(path.join(dir, 'src'));
    writeFileSync(path.join(dir, 'src', 'precious.txt'), 'precious');
    for (const confirmation of [['--yes'], ['--confirm', 'dev']]) {
      const { result, json } = await purge(dir, ...confirmation);
      expect(result.code).toBe(5);
      expect(json.error.message).toContain(`no ${WORKSPACE_MARKER} marker`);
    }
    expect(existsSync(path.join(dir, 'src', 'precious.txt'))).toBe(true);
  });

  it('marks a directory it creates or finds empty, never one that holds files of someone else', () => {
    const dir = tempWorkspace('tsr-foreign-');
    writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    claimWorkspace(dir);
    expect(existsSync(path.join(dir, WORKSPACE_MARKER))).toBe(false);
    expect(isTsrWorkspace(dir)).toBe(false);

    const fresh = path.join(tempWorkspace('tsr-fresh-'), 'new');
    claimWorkspace(fresh);
    expect(isTsrWorkspace(fresh)).toBe(true);

    // A marker that is a link to one elsewhere does not count.
    const linked = tempWorkspace('tsr-linked-');
    symlinkSync(path.join(fresh, WORKSPACE_MARKER), path.join(linked, WORKSPACE_MARKER));
    expect(isTsrWorkspace(linked)).toBe(false);
  });

  it('deletes what tsr created, keeps the drill history and foreign files', async () => {
    const workspace = deployedWorkspace();
    writeFileSync(path.join(workspace, 'notes.txt'), 'mine');
    const { result, json } = await purge(workspace, '--confirm', 'dev');
    expect(result.code).toBe(0);
    expect(json.purge?.deleted.sort()).toEqual(['data', 'logs', 'secrets']);
    expect(readdirSync(workspace).sort()).toEqual([WORKSPACE_MARKER, 'notes.txt', 'runbooks']);

    const again = await purge(workspace, '--purge-history', '--confirm', 'dev');
    expect(again.result.code).toBe(0);
    expect(readdirSync(workspace).sort()).toEqual([WORKSPACE_MARKER, 'notes.txt']);
  });

  it('removes the workspace itself once nothing else is in it', async () => {
    const workspace = deployedWorkspace();
    const { result } = await purge(workspace, '--purge-history', '--confirm', 'dev');
    expect(result.code).toBe(0);
    expect(existsSync(workspace)).toBe(false);
  });

  it('never follows a link out of the workspace', async () => {
    const outside = tempWorkspace('tsr-outside-');
    writeFileSync(path.join(outside, 'keep.txt'), 'keep');
    const workspace = deployedWorkspace();
    symlinkSync(outside, path.join(workspace, 'data', 'link'));
    symlinkSync(outside, path.join(workspace, 'generator'));
    const { result } = await purge(workspace, '--confirm', 'dev');
    expect(result.code).toBe(0);
    expect(existsSync(path.join(workspace, 'generator'))).toBe(false);
    expect(readdirSync(outside)).toEqual(['keep.txt']);

    const linked = path.join(tempWorkspace('tsr-link-'), 'ws');
    symlinkSync(deployedWorkspace(), linked);
    const viaLink = await purge(linked, '--confirm', 'dev');
    expect(viaLink.result.code).toBe(5);
    expect(viaLink.json.error.message).toContain('symbolic link');
  });

  it('needs the environment name: --yes stops the platform but keeps the data', async () => {
    const workspace = deployedWorkspace();
    const { result, json } = await purge(workspace, '--yes');
    expect(result.code).toBe(5);
    expect(json.error.fix).toContain('--confirm dev');
    expect(existsSync(path.join(workspace, 'data', 'ports.json'))).toBe(true);

    const wrong = await purge(workspace, '--confirm', 'prod');
    expect(wrong.result.code).toBe(5);
    expect(existsSync(path.join(workspace, 'data', 'ports.json'))).toBe(true);
  });

  it('without --purge, --purge-history is a usage error', async () => {
    const { code } = await runTsr(['destroy', '--yes', '--purge-history', '--workspace', deployedWorkspace()]);
    expect(code).toBe(2);
  });
});
