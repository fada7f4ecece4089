import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../src/errors.js';
import { findProviderMirror } from '../../src/infra/aws/validate.js';

const platform = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;

describe('the provider mirror npm run validate:aws uses', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-mirror-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('lists every hashicorp/aws version unpacked for this platform, in version order', () => {
    for (const version of ['6.2.0', '5.100.0', '5.9.1'])
      mkdirSync(path.join(dir, 'registry.terraform.io/hashicorp/aws', version, platform), { recursive: true });
    // A version without this platform's binary cannot be used here.
    mkdirSync(path.join(dir, 'registry.terraform.io/hashicorp/aws/6.9.0/other_arch'), { recursive: true });
    expect(findProviderMirror({ TSR_TF_PROVIDER_MIRROR: dir })).toEqual({
      dir,
      versions: ['5.9.1', '5.100.0', '6.2.0'],
    });
  });

  test('an empty or missing mirror is an error naming where it looked and how to fix it, never a silent pass', () => {
    const attempt = () => findProviderMirror({ TSR_TF_PROVIDER_MIRROR: dir });
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(new RegExp(`no local mirror of the hashicorp/aws provider for ${platform} in ${dir}`));
    try {
      attempt();
    } catch (error) {
      expect((error as UserError).fix).toMatch(/TSR_TF_PROVIDER_MIRROR/);
    }
  });
});
