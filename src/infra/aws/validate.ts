import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, UserError } from '../../errors.js';
import { runTerraform, type TerraformBinary } from './terraform.js';

/** Where Terraform looks for providers without a network by default, plus the path this project's CI images use. */
export const DEFAULT_MIRROR_DIRS = [
  '/opt/tf-plugins',
  path.join(os.homedir(), '.terraform.d', 'plugins'),
  '/usr/local/share/terraform/plugins',
  '/usr/share/terraform/plugins',
];

const AWS_PROVIDER_PATH = path.join('registry.terraform.io', 'hashicorp', 'aws');

export interface ProviderMirror {
  /** The mirror's root (holds registry.terraform.io/…). */
  readonly dir: string;
  /** hashicorp/aws versions unpacked there for this platform, e.g. ["5.100.0"]. */
  readonly versions: readonly string[];
}

function platformDir(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  return `${process.platform}_${arch}`;
}

/**
 * The first directory holding hashicorp/aws in Terraform's unpacked mirror layout
 * (`registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/`): TSR_TF_PROVIDER_MIRROR if set, else the defaults.
 */
export function findProviderMirror(env: NodeJS.ProcessEnv = process.env): ProviderMirror {
  const candidates = env.TSR_TF_PROVIDER_MIRROR ? [env.TSR_TF_PROVIDER_MIRROR] : DEFAULT_MIRROR_DIRS;
  for (const dir of candidates) {
    const root = path.join(dir, AWS_PROVIDER_PATH);
    if (!existsSync(root)) continue;
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, platformDir())))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (versions.length) return { dir, versions };
  }
  throw new UserError(
    `no local mirror of the hashicorp/aws provider for ${platformDir()} in ${candidates.join(', ')}`,
    'set TSR_TF_PROVIDER_MIRROR to a directory laid out as registry.terraform.io/hashicorp/aws/<version>/<os_arch>/ ' +
      '(e.g. made with `terraform providers mirror`)',
    ExitCode.usage,
  );
}

/**
 * A Terraform CLI configuration (in a fresh temporary directory; the user's own ~/.terraformrc is never read or
 * touched) that installs hashicorp/aws only from `mirror.dir`, pinned to `version` through the mirror's content.
 */
function cliConfigFor(mirrorDir: string, workDir: string): string {
  const file = path.join(workDir, 'terraformrc');
  writeFileSync(
    file,
    [
      'provider_installation {',
      '  filesystem_mirror {',
      `    path    = ${JSON.stringify(mirrorDir)}`,
      '    include = ["registry.terraform.io/hashicorp/aws"]',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  return file;
}

export interface StackValidation {
  readonly stack: string;
  readonly dir: string;
  readonly providerVersion: string;
  readonly valid: boolean;
  /** Terraform's diagnostics when invalid. */
  readonly output?: string;
}

/** An override file (Terraform merges `*_override.tf.json` last) pinning the provider to one version. */
const VERSION_OVERRIDE = 'tsr_provider_version_override.tf.json';

/**
 * `terraform init` (backend off, providers from the mirror only) and `terraform validate` in each stack directory,
 * once per provider version in the mirror: an override file pins each version in turn, so every version there is
 * checked, not only the newest the stacks' range allows.
 */
export async function validateStackDirs(
  binary: TerraformBinary,
  mirror: ProviderMirror,
  stackDirs: readonly string[],
  onStack?: (result: StackValidation) => void,
): Promise<StackValidation[]> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'tsr-tf-validate-'));
  try {
    const env = {
      ...process.env,
      TF_CLI_CONFIG_FILE: cliConfigFor(mirror.dir, work),
      TF_PLUGIN_CACHE_DIR: '',
      CHECKPOINT_DISABLE: '1',
    };
    const results: StackValidation[] = [];
    for (const pinned of mirror.versions)
      for (const dir of stackDirs) {
        const stack = path.basename(dir);
        const logFile = path.join(work, `${stack}.log`);
        const common = { cwd: dir, logFile, env };
        writeFileSync(
          path.join(dir, VERSION_OVERRIDE),
          JSON.stringify({
            terraform: { required_providers: { aws: { source: 'hashicorp/aws', version: `= ${pinned}` } } },
          }),
        );
        const init = await runTerraform(binary, {
          ...common,
          args: ['init', '-backend=false', '-input=false', '-upgrade', '-no-color'],
        });
        const version =
          /- Installed hashicorp\/aws v([\d.]+)|- Using previously-installed hashicorp\/aws v([\d.]+)/.exec(
            init.stdout,
          );
        const providerVersion = version?.[1] ?? version?.[2] ?? '?';
        let result: StackValidation;
        if (init.code !== 0) {
          result = { stack, dir, providerVersion, valid: false, output: init.tail };
        } else {
          const validate = await runTerraform(binary, { ...common, args: ['validate', '-no-color'] });
          result = {
            stack,
            dir,
            providerVersion,
            valid: validate.code === 0,
            output: validate.code === 0 ? undefined : validate.tail,
          };
        }
        rmSync(path.join(dir, VERSION_OVERRIDE), { force: true });
        onStack?.(result);
        results.push(result);
      }
    return results;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
