import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, tempWorkspace } from './cli.js';

export interface TerminalResult {
  readonly code: number | null;
  /** What the terminal showed (stderr, and prompts). */
  readonly terminal: string;
  /** What went to stdout, redirected to a file as `tsr … > file` would. */
  readonly stdout: string;
}

const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the CLI with a terminal (util-linux `script` gives it a pseudo-terminal) as stdin and stderr, and stdout
 * redirected to a file. Types `answer` once `prompt` appears on the terminal.
 */
export function runOnTerminal(args: readonly string[], prompt: string, answer: string): Promise<TerminalResult> {
  const out = path.join(tempWorkspace('tsr-tty-'), 'stdout');
  const command = `${quote(process.execPath)} ${quote(path.join(ROOT, 'bin', 'run.js'))} ${args.map(quote).join(' ')} > ${quote(out)}`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TSR_')));
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let terminal = '';
    let answered = false;
    child.stdout.on('data', (data) => {
      terminal += data;
      if (!answered && terminal.includes(prompt)) {
        answered = true;
        child.stdin.write(`${answer}\r`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, terminal, stdout: readFileSync(out, 'utf8') }));
  });
}
