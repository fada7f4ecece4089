import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream } from 'node:fs';
import path from 'node:path';
import { ExitCode, UserError } from '../../errors.js';

export interface TerraformBinary {
  readonly name: 'terraform' | 'tofu';
  readonly path: string;
}

/** Finds terraform (preferred) or tofu on PATH; TSR_TERRAFORM may name the binary explicitly. */
export function findTerraform(env: NodeJS.ProcessEnv = process.env): TerraformBinary {
  const explicit = env.TSR_TERRAFORM;
  if (explicit) {
    const name = path.basename(explicit).startsWith('tofu') ? 'tofu' : 'terraform';
    if (isExecutable(explicit)) return { name, path: explicit };
    throw new UserError(
      `TSR_TERRAFORM=${explicit} is not an executable file`,
      'point it at a terraform or tofu binary, or unset it',
    );
  }
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const name of ['terraform', 'tofu'] as const) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return { name, path: candidate };
    }
  }
  throw new UserError(
    'neither terraform nor tofu was found on PATH: the AWS target applies the synthesized stacks with one of them',
    'install Terraform (https://developer.hashicorp.com/terraform/install) or OpenTofu (https://opentofu.org/docs/intro/install/), ' +
      'or set TSR_TERRAFORM to its path; `tsr synth` works without either',
    ExitCode.usage,
  );
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface TerraformRun {
  readonly args: readonly string[];
  readonly cwd: string;
  /** Full output goes here. */
  readonly logFile: string;
  readonly signal?: AbortSignal;
  readonly env?: NodeJS.ProcessEnv;
  /** Called with each output line (for progress). */
  readonly onLine?: (line: string) => void;
}

export interface TerraformOutcome {
  readonly code: number;
  readonly stdout: string;
  /** The last lines of output, for error messages. */
  readonly tail: string;
  readonly interrupted: boolean;
}

/** Runs one terraform/tofu command non-interactively; never throws for a non-zero exit (the caller decides). */
export function runTerraform(binary: TerraformBinary, run: TerraformRun): Promise<TerraformOutcome> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(run.logFile, { flags: 'a' });
    log.write(`$ ${binary.name} ${run.args.join(' ')}\n`);
    const child = spawn(binary.path, [...run.args], {
      cwd: run.cwd,
      env: { ...(run.env ?? process.env), TF_IN_AUTOMATION: '1', TF_INPUT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const tail: string[] = [];
    let partial = '';
    const take = (chunk: Buffer, isStdout: boolean) => {
      const text = chunk.toString();
      log.write(text);
      if (isStdout) stdout += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 30) tail.shift();
        run.onLine?.(line);
      }
    };
    child.stdout.on('data', (c: Buffer) => take(c, true));
    child.stderr.on('data', (c: Buffer) => take(c, false));
    let interrupted = false;
    const abort = () => {
      interrupted = true;
      // SIGINT lets terraform stop gracefully and release its state lock.
      child.kill('SIGINT');
    };
    if (run.signal?.aborted) abort();
    run.signal?.addEventListener('abort', abort, { once: true });
    child.once('error', (error) => {
      run.signal?.removeEventListener('abort', abort);
      log.end();
      reject(error);
    });
    child.once('close', (code, signal) => {
      run.signal?.removeEventListener('abort', abort);
      if (partial.trim()) tail.push(partial);
      log.end(() => resolve({ code: code ?? (signal ? 128 : 1), stdout, tail: tail.join('\n'), interrupted }));
    });
  });
}
