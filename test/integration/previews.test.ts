import { parseRunbook, RunbookValidationError } from '../../src/runbooks/load.js';
import { stepRegistry } from '../../src/runbooks/steps/index.js';
import { runJson, runTsr, tempWorkspace } from '../helpers/cli.js';

/** Nothing is deployed in these workspaces: what a command says comes from its input alone. */
const flags = () => ['--workspace', tempWorkspace('tsr-preview-')];

describe('previews that do not mislead', () => {
  it('bad input is exit 2 with or without --dry-run, before looking for the platform', async () => {
    const dry = await runTsr(['rotate', 'trade', '--to', 'mars', '--dry-run', ...flags()]);
    const real = await runTsr(['rotate', 'trade', '--to', 'mars', '--yes', ...flags()]);
    for (const result of [dry, real]) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('unknown region "mars"');
    }
    const source = await runTsr(['rotate', 'trade', '--from', 'us-est-1', '--to', 'secondary', '--yes', ...flags()]);
    expect(source.code).toBe(2);
    // …and before asking anything: no "pass --confirm" for a failover that could not run anyway.
    const failover = await runJson<{ error: { message: string } }>(['failover', 'all', '--to', 'mars', ...flags()]);
    expect(failover.result.code).toBe(2);
    expect(failover.json.error.message).toContain('unknown region "mars"');
  });

  it.each([
    [['chaos', 'region-down', 'us-wst-2', '--yes'], 'did you mean us-west-2?'],
    [['reconcile', '--region', 'mars'], 'use one of us-east-1, us-west-2'],
  ])('%j: a region not configured is bad input (2), not "nothing deployed" (3)', async (args, fix) => {
    const { result, json } = await runJson<{ error: { fix: string } }>([...args, ...flags()]);
    expect(result.code).toBe(2);
    expect(json.error.fix).toBe(fix);
  });

  it('a rotation to the region it comes from is a no-op, not a plan', async () => {
    const args = ['rotate', 'trade', '--from', 'us-east-1', '--to', 'us-east-1', '--dry-run', ...flags()];
    const human = await runTsr(args);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('nothing to do');
    expect(human.stdout).not.toMatch(/switchover/i);
    const { json } = await runJson<{ dryRun: boolean; noop?: string; plan: { steps: unknown[] } }>(args);
    expect(json.noop).toContain('nothing to do');
    expect(json.plan.steps).toEqual([]);
  });

  it('a runbook with a step without id reports every other problem too', () => {
    const text = [
      'name: bad',
      'description: many problems',
      'parameters:',
      '  app: { type: app }',
      'steps:',
      '  - type: sleep',
      '    params: { duration: 1s }',
      '  - id: two',
      '    type: no.such.type',
      '  - id: three',
      '    type: sleep',
      '    params: { duration: 1s }',
      '    timeout: 5',
      '  - id: four',
      '    type: sleep',
      '    title: ${nope}',
      '    params: { duration: 1s }',
    ].join('\n');
    let error: RunbookValidationError | undefined;
    try {
      parseRunbook(text, '/tmp/bad.yaml', stepRegistry);
    } catch (caught) {
      error = caught as RunbookValidationError;
    }
    expect(error).toBeInstanceOf(RunbookValidationError);
    const messages = error?.issues.map((i) => `${i.line} ${i.message}`) ?? [];
    expect(messages).toEqual([
      '6 step 1 (sleep): missing required field "id"',
      expect.stringMatching(/^9 step 2 "two" \(no\.such\.type\) › type: unknown step type "no\.such\.type"/),
      '13 step 3 "three" (sleep) › timeout: timeout 5 has no unit; write e.g. 5s',
      expect.stringMatching(/^16 step 4 "four" \(sleep\) › title: unknown variable \$\{nope\}/),
    ]);
  });
});
