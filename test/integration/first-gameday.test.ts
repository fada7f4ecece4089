/**
 * The README's front door, as written: `npm start` in a fresh clone (build, deploy the local platform, run the
 * `quick` game day), then the "Your first game day" commands in their order — list, dry run, a second run, history,
 * a report compared with the first run — and the README's way to stop the platform. The clone is this checkout's
 * tracked files with its installed node_modules (what `npm ci` leaves), so its build and its default workspace
 * (`./.tsr`) are its own and never touch the suite's.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { keepForDebugging, ROOT, runCommand } from '../helpers/cli.js';

/**
 * A fresh clone after `npm ci`: this checkout's files as a commit of its working tree would hold them (tracked and
 * new, nothing git ignores), and its installed dependencies linked in.
 */
function cloneCheckout(): string {
  const clone = mkdtempSync(path.join(os.tmpdir(), 'tsr-readme-'));
  chmodSync(clone, 0o755); // the PostgreSQL user must enter the workspace inside it
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  const files = listed.stdout.split('\0').filter((file) => file && existsSync(path.join(ROOT, file)));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
    cpSync(path.join(ROOT, file), path.join(clone, file));
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
  return clone;
}

/**
 * How a run ended, in the few lines a failure report must show: the summary (PASSED/FAILED with why, the verdict,
 * the objectives) and any step that did not complete — not the steps table that precedes them.
 */
function outcome(code: number | null, output: string) {
  const at = output.lastIndexOf('Game day quick:');
  const notCompleted = output
    .split('\n')
    .filter((line) => /^\| \d+ \|/.test(line) && !/\| (completed|skipped) \|/.test(line));
  return {
    code,
    summary: at >= 0 ? output.slice(at, at + 2_000) : output.slice(-2_000),
    notCompleted,
  };
}

describe('README: npm start, then your first game day', () => {
  const clone = cloneCheckout();
  const tsr = (...args: string[]) => runCommand('./bin/run.js', args, { cwd: clone });
  const workspace = path.join(clone, '.tsr');
  let done = false;

  afterAll(async () => {
    if (!done) keepForDebugging(workspace, ['runbooks', 'gamedays', 'logs'], 'README first game day');
    // The README's way to stop it; then the clone goes (the test made it).
    await tsr('destroy', '--yes');
    await tsr('destroy', '--purge', '--confirm', 'dev');
    rmSync(clone, { recursive: true, force: true });
  }, 120_000);

  it('runs the quick game day from npm start, then lists, plans, runs again, and compares the two runs', async () => {
    const start = await runCommand('npm', ['start'], { cwd: clone });
    const started = `${start.stdout}\n${start.stderr}`;
    expect(outcome(start.code, started)).toEqual({ ...outcome(start.code, started), code: 0 });
    // It ends with the verdict, the objectives table and the report's path.
    expect(started).toMatch(/verdict/i);
    expect(started).toMatch(/rto/i);
    const reportPath = started.match(/(\S*\.tsr\/gamedays\/\S+?)\/?report\.(html|md)/)?.[0];
    expect(reportPath).toBeDefined();
    // The bundle: report.md, report.json, report.html and junit.xml (the run, the verdict, one case per objective).
    const bundle = path.dirname(path.resolve(clone, reportPath as string));
    for (const file of ['report.md', 'report.json', 'report.html', 'junit.xml'])
      expect(existsSync(path.join(bundle, file))).toBe(true);
    const junit = readFileSync(path.join(bundle, 'junit.xml'), 'utf8');
    expect(junit.match(/<testcase /g)).toHaveLength(9); // run, verdict, seven objectives of quick
    expect(junit).toContain('failures="0"');

    const list = await tsr('gameday', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/quick/);

    const plan = await tsr('gameday', 'quick', '--dry-run');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/us-west-2/); // the secondary, resolved
    expect(plan.stdout).toMatch(/us-east-1/);

    // Off a terminal the run needs what its comment in the README says.
    const second = await tsr('gameday', 'quick', '--yes', '--confirm', 'dev');
    expect(outcome(second.code, second.stdout)).toEqual({ ...outcome(second.code, second.stdout), code: 0 });

    const history = await tsr('gameday', 'history', '--json');
    expect(history.code).toBe(0);
    const runs = (JSON.parse(history.stdout) as { runs: { runId: string; passed: boolean; scenario: string }[] }).runs;
    expect(runs).toHaveLength(2);
    expect(runs.every((r) => r.passed)).toBe(true);
    const [newer, older] = [...runs].sort((a, b) => b.runId.localeCompare(a.runId));

    const compared = await tsr('gameday', 'report', newer.runId, '--compare', older.runId);
    expect(compared.code).toBe(0);
    expect(compared.stdout).toContain(older.runId);
    expect(compared.stdout).toMatch(/RTO/i);
    done = true;
  }, 900_000);
});
