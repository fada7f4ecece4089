import path from 'node:path';
import { runJson, runTsr, tempWorkspace } from '../helpers/cli.js';

/** An environment where the SDK's credential chain finds nothing (no variables, files, profile or instance role). */
function noCredentials(): NodeJS.ProcessEnv {
  const home = tempWorkspace('tsr-nocreds-');
  return {
    HOME: home,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
    AWS_CONFIG_FILE: path.join(home, 'none'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
    AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
    AWS_WEB_IDENTITY_TOKEN_FILE: '',
  };
}

describe('AWS without credentials', () => {
  it('status fails fast, once, with the fix (not a DOWN row per service)', async () => {
    const { result, json } = await runJson<{ error: { message: string; fix: string; exitCode: number } }>(
      ['status', '--target', 'aws'],
      { env: noCredentials() },
    );
    expect(result.code).toBe(2);
    expect(json.error.message).toMatch(/^no AWS credentials found/);
    expect(json.error.fix).toContain('aws sso login');

    const human = await runTsr(['status', '--target', 'aws'], { env: noCredentials() });
    expect(human.code).toBe(2);
    expect(human.stderr.match(/no AWS credentials found/g)).toHaveLength(1);
    expect(human.stdout).not.toContain('DOWN');
  });
});
