import { runJson, tempWorkspace } from '../helpers/cli.js';
import { runOnTerminal } from '../helpers/terminal.js';

interface ErrorJson {
  error: { message: string; fix?: string; exitCode: number };
}

/** No platform is deployed here: getting past the confirmation ends in "not deployed" (3), a refusal in 5. */
const flags = () => ['--workspace', tempWorkspace('tsr-confirm-')];
const override = ['routing-control', 'set', 'trade-dns-us-east-1=On', '--override', 'trade-at-least-one-dns'];

describe('one confirmation rule', () => {
  it.each([
    ['overriding a safety rule', override],
    ['a forced failover, even with --yes', ['failover', 'trade', '--to', 'us-west-2', '--yes']],
  ])('%s needs the environment name without a terminal', async (_what, args) => {
    const { result, json } = await runJson<ErrorJson>([...args, ...flags()]);
    expect(result.code).toBe(5);
    expect(json.error.fix).toBe('pass --confirm dev');
  });

  it('--confirm with the environment name goes ahead; another name is refused', async () => {
    expect((await runJson<ErrorJson>([...override, '--confirm', 'dev', ...flags()])).result.code).toBe(3);
    expect(
      (await runJson<ErrorJson>(['failover', 'all', '--to', 'us-west-2', '--confirm', 'dev', ...flags()])).result.code,
    ).toBe(3);
    const wrong = await runJson<ErrorJson>([...override, '--confirm', 'prod', ...flags()]);
    expect(wrong.result.code).toBe(5);
    expect(wrong.json.error.message).toContain('does not match "dev"');
  });

  it('asks on the terminal through stderr, never stdout, also when stdout is redirected', async () => {
    const typed = await runOnTerminal([...override, ...flags()], 'type "dev"', 'dev');
    expect(typed.terminal).toContain('To skip the safety rule trade-at-least-one-dns, type "dev"');
    expect(typed.stdout).toBe('');
    expect(typed.code).toBe(3); // confirmed, then found nothing deployed

    const mistyped = await runOnTerminal([...override, ...flags()], 'type "dev"', 'dve');
    expect(mistyped.code).toBe(5);
    expect(mistyped.stdout).toBe('');
  });

  it('with --json on a terminal, stdout holds only the JSON', async () => {
    const result = await runOnTerminal([...override, '--json', ...flags()], 'type "dev"', 'nope');
    expect(result.code).toBe(5);
    expect(JSON.parse(result.stdout)).toEqual({
      error: { message: 'cancelled; nothing was changed', exitCode: 5 },
    });
  });
});
