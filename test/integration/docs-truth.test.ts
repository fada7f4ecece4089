import { readFileSync } from 'node:fs';
import path from 'node:path';
import { withContext } from '../../src/lib/next-command.js';
import { ROOT, runJson, runTsr, tempWorkspace } from '../helpers/cli.js';

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

interface Manifest {
  commands: Record<string, { flags: Record<string, { env?: string; description?: string }> }>;
}

/** Every TSR_* variable a command's help names, as oclif's env or as "[env: X]" in the description. */
function variablesInHelp(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest;
  const names = Object.values(manifest.commands).flatMap((c) =>
    Object.values(c.flags).flatMap((f) => [f.env, ...(f.description?.match(/TSR_[A-Z_]+/g) ?? [])]),
  );
  return [...new Set(names.filter((n): n is string => n?.startsWith('TSR_') ?? false))].sort();
}

describe('docs and help tell the truth', () => {
  it('help shows the variable of every config flag', async () => {
    const { stdout } = await runTsr(['status', '--help']);
    for (const variable of ['TSR_CONFIG', 'TSR_ENV', 'TSR_REGIONS', 'TSR_TARGET', 'TSR_WORKSPACE']) {
      expect(stdout).toContain(`[env: ${variable}]`);
    }
  });

  it('the README names every variable the help names, and the ones read elsewhere', () => {
    const variables = [...variablesInHelp(), 'TSR_TERRAFORM', 'TSR_ARC_ENDPOINTS'];
    expect(variables).toEqual(expect.arrayContaining(['TSR_CONFIG', 'TSR_BASE_PORT', 'TSR_WORKSPACE']));
    for (const variable of variables) expect(readme).toContain(variable);
  });

  it('the README lists exit code 6 and says how to put tsr on PATH, not npx', () => {
    expect(readme).toMatch(/6 records missing/);
    expect(readme).toContain('npm link');
    expect(readme).not.toMatch(/^\s*npx tsr/m);
  });

  it("a suggested next command keeps the user's --workspace", async () => {
    const workspace = tempWorkspace('tsr-docs-');
    const { result, json } = await runJson<{ error: { fix: string } }>(['status', '--workspace', workspace]);
    expect(result.code).toBe(3);
    expect(json.error.fix).toContain(`\`tsr deploy --workspace ${workspace}\``);
  });

  it('adds only the flags given, and not twice', () => {
    const flags = { workspace: '/tmp/my drill', env: 'prod' };
    expect(withContext('run `tsr runbook list` or `tsr deploy --env dev`', flags)).toBe(
      "run `tsr runbook list --workspace '/tmp/my drill' --env prod` or `tsr deploy --env dev --workspace '/tmp/my drill'`",
    );
    expect(withContext('see `tsr help status`', flags)).toBe('see `tsr help status`');
    expect(withContext('run `tsr status`', {})).toBe('run `tsr status`');
  });
});
