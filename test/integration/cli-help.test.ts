import { readFileSync } from 'node:fs';
import path from 'node:path';
import { closest } from '../../src/domain/suggest.js';
import { ROOT, runJson, runTsr, tempWorkspace } from '../helpers/cli.js';

describe('help and slips', () => {
  it.each([[['help', 'status']], [['status', '-h']], [['status', '--help']]])('%j shows the help', async (args) => {
    const { code, stdout } = await runTsr(args);
    expect(code).toBe(0);
    expect(stdout).toContain('USAGE');
    expect(stdout).toContain('$ tsr status');
  });

  it.each([
    ['statu', 'tsr status'],
    ['rotat trade --to us-west-2', 'tsr rotate trade --to us-west-2'],
    ['runbok lst', 'tsr runbook list'],
    ['generator rat 100', 'tsr generator rate 100'],
  ])('"%s" suggests `%s`, exit 2', async (typed, suggestion) => {
    const { code, stderr } = await runTsr(typed.split(' '));
    expect(code).toBe(2);
    expect(stderr).toContain(`did you mean \`${suggestion}\`?`);
    expect(stderr).not.toMatch(/\w:\w/); // no colon the user never typed (rotat:trade)
  });

  it('commands that declare exit codes list them in their help, from the one table', async () => {
    const { stdout } = await runTsr(['failover', '--help']);
    expect(stdout).toMatch(/EXIT CODES\n {2}0 {3}ok: done\n/);
    expect(stdout).toContain('5   refused: a safety rule or a check refused, or no confirmation; nothing was changed');
    expect(stdout).not.toContain('6   records missing');
    expect((await runTsr(['reconcile', '--help'])).stdout).toContain('6   records missing');
  });

  it('tsr help <slip> suggests the help meant', async () => {
    const { code, stderr } = await runTsr(['help', 'runbok', 'lst']);
    expect(code).toBe(2);
    expect(stderr).toContain('did you mean `tsr help runbook list`?');
    expect((await runTsr(['help', 'generatr'])).stderr).toContain('did you mean `tsr help generator`?');
  });

  it('says so in JSON with --json', async () => {
    const { result, json } = await runJson<{ error: { message: string; exitCode: number } }>(['statu']);
    expect(result.code).toBe(2);
    expect(json.error.message).toContain('did you mean `tsr status --json`?');
  });

  it('has every verb a topic advertises', async () => {
    const topics = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).oclif.topics as Record<
      string,
      { description: string }
    >;
    const verbs = topics.generator.description
      .split(':')[1]
      .split(',')
      .map((v) => v.trim());
    expect(verbs).toContain('rate');
    for (const verb of verbs) expect((await runTsr(['generator', verb, '--help'])).code).toBe(0);
  });

  it('tells the version as JSON', async () => {
    const { result, json } = await runJson<Record<string, string>>(['version']);
    expect(result.code).toBe(0);
    expect(json).toEqual(expect.objectContaining({ name: 'tsr', version: expect.stringMatching(/^\d+\.\d+\.\d+/) }));
    expect(json.node).toBe(process.versions.node);
  });

  it('completes commands in bash', async () => {
    const cache = tempWorkspace('tsr-complete-');
    const { code } = await runTsr(['autocomplete', '--refresh-cache'], { env: { XDG_CACHE_HOME: cache } });
    expect(code).toBe(0);
    const bash = readFileSync(path.join(cache, 'tsr', 'autocomplete', 'functions', 'bash', 'tsr.bash'), 'utf8');
    for (const command of ['rotate', 'failover', 'reconcile', 'destroy']) expect(bash).toContain(command);
  });

  it('suggests only what is a slip away', () => {
    const ids = ['status', 'rotate', 'runbook:list', 'routing-control:list'];
    expect(closest('stats', ids)).toBe('status');
    expect(closest('routing-contrl:lst', ids)).toBe('routing-control:list');
    expect(closest('xyzzy', ids)).toBeUndefined();
    expect(closest('generator:rat:100', ['generator:rate'])).toBeUndefined();
  });
});
