import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT, tempWorkspace } from '../helpers/cli.js';

/**
 * With --target aws there is no local platform to serve the dashboard: `tsr dashboard` serves it in the foreground
 * on 127.0.0.1 until Ctrl-C. No AWS is reachable here (and no credentials are given): the page is served and says
 * the platform cannot be read.
 */
describe('tsr dashboard --target aws', () => {
  it('serves the page on 127.0.0.1 with a fresh token until Ctrl-C', async () => {
    const cwd = tempWorkspace('tsr-dashboard-aws-');
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('TSR_') && !k.startsWith('AWS_')),
    );
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'bin', 'run.js'), 'dashboard', '--target', 'aws', '--json'],
      {
        cwd,
        env: {
          ...env,
          AWS_SHARED_CREDENTIALS_FILE: path.join(cwd, 'none'),
          AWS_CONFIG_FILE: path.join(cwd, 'none'),
          AWS_EC2_METADATA_DISABLED: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const firstLine = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.once('close', () => reject(new Error(`exited before printing its URL: ${out}`)));
    });
    const { url, foreground } = JSON.parse(firstLine) as { url: string; foreground: boolean };
    expect(foreground).toBe(true);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{40,}$/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('app.js');
    expect((await fetch(`${new URL(url).origin}/?token=wrong`)).status).toBe(401);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 60_000);
});
