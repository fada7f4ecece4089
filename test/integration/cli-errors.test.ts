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
