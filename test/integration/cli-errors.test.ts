import { runJson } from '../helpers/cli.js';

interface ErrorJson {
  error: { message: string; fix?: string; exitCode: number };
}

describe('errors with --json', () => {
  it.each([
    [['config', 'show', '--bogus'], /Nonexistent flag: --bogus/],
    [['rotate', 'nosuchapp'], /nosuchapp/],
    [['status', '--target', 'gcp'], /--target=gcp/],
    [['failover'], /Missing 1 required arg/],
  ])('%j: only {error: {message, fix, exitCode}} and exit 2', async (args, message) => {
    const { result, json } = await runJson<ErrorJson>(args);
    expect(result.code).toBe(2);
    expect(Object.keys(json)).toEqual(['error']);
    expect(Object.keys(json.error).sort()).toEqual(['exitCode', 'fix', 'message']);
    expect(json.error.message).toMatch(message);
    expect(json.error.exitCode).toBe(2);
    expect(json.error.fix).toContain('--help');
    expect(result.stdout.length).toBeLessThan(1_000);
  });
});

describe('absurd flow settings are refused before anything runs', () => {
  it.each([
    [['generator', 'start', '--rate', 'fast'], /--rate fast is not a rate/, /--rate auto/],
    [['generator', 'start', '--rate', '0'], /--rate 0 is not a rate/, /1 to 5000/],
    // oclif's own bound checks: the bound is in the message, with "See more help with --help".
    [['status', '--behind-after', '2'], /--behind-after[\s\S]*greater than or equal to 5[\s\S]*--help/, undefined],
    [['status', '--behind-after', '99999'], /--behind-after[\s\S]*less than or equal to 3600[\s\S]*--help/, undefined],
  ])('%j exits 2 naming the value and the fix', async (args, message, fix) => {
    const { result, json } = await runJson<ErrorJson>([...args, '--workspace', '/nonexistent-tsr-workspace']);
    expect(result.code).toBe(2);
    expect(json.error.message).toMatch(message);
    if (fix) expect(json.error.fix).toMatch(fix);
  });
});
