/**
 * `npm run validate:aws`: synthesizes the AWS stacks for two and three regions and runs a real `terraform init`
 * (providers from a local mirror only, see src/infra/aws/validate.ts) and `terraform validate` on every one of them,
 * with every hashicorp/aws version the mirror holds. Fails, naming what is missing, when terraform or the mirror is
 * absent: a check that cannot run must not pass.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { describeError, UserError } from '../src/errors.js';
import { synthesize } from '../src/infra/aws/synth.js';
import { findTerraform } from '../src/infra/aws/terraform.js';
import { findProviderMirror, validateStackDirs } from '../src/infra/aws/validate.js';

const REGION_SETS = [
  ['us-east-1', 'us-west-2'],
  ['us-east-1', 'us-west-2', 'eu-west-1'],
];

async function main(): Promise<number> {
  const binary = findTerraform();
  const mirror = findProviderMirror();
  // An empty CLI config: the caller's own (or a TF_CLI_CONFIG_FILE naming a missing file) plays no part.
  const terraformVersion = execFileSync(binary.path, ['version'], {
    encoding: 'utf8',
    env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1' },
  }).split('\n')[0];
  console.log(`${terraformVersion}; hashicorp/aws ${mirror.versions.join(', ')} from ${mirror.dir}`);
  const work = mkdtempSync(path.join(os.tmpdir(), 'tsr-validate-aws-'));
  try {
    const dirs: string[] = [];
    for (const regions of REGION_SETS) {
      const config = loadConfig({ environment: 'validate', regions, target: 'aws' }, {}, work);
      const synth = synthesize(config, path.join(work, `${regions.length}-regions`));
      dirs.push(...synth.stacks.map((s) => s.dir));
    }
    const results = await validateStackDirs(binary, mirror, dirs, (r) => {
      const where = path.basename(path.dirname(path.dirname(r.dir)));
      console.log(`  ${r.valid ? 'valid  ' : 'INVALID'} ${where}/${r.stack} (hashicorp/aws ${r.providerVersion})`);
      if (!r.valid) console.log(`${r.output}`.replace(/^/gm, '      '));
    });
    const invalid = results.filter((r) => !r.valid);
    const versions = [...new Set(results.map((r) => r.providerVersion))].join(', ');
    console.log(
      `validate:aws: ${results.length - invalid.length}/${results.length} stack validations passed ` +
        `(${dirs.length} stacks for ${REGION_SETS.map((r) => r.length).join(' and ')} regions × ` +
        `hashicorp/aws ${versions}; ${terraformVersion})`,
    );
    return invalid.length ? 1 : 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const fix = error instanceof UserError && error.fix ? `\n  fix: ${error.fix}` : '';
    console.error(`validate:aws: ${describeError(error)}${fix}`);
    process.exit(1);
  },
);
