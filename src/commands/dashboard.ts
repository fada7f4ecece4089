import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Flags } from '@oclif/core';
import { ExitCode, UserError } from '../errors.js';
import { TsrCommand } from '../lib/base-command.js';
import { untilInterrupted } from '../lib/watch.js';
import { localDashboardUrl } from '../platform/dashboard-url.js';
import { assertSupervisorAlive } from '../platform/local-platform.js';
import { requireState } from '../infra/local/state.js';
import { startDashboard } from '../dashboard/server.js';

export interface DashboardResult {
  readonly url: string;
  readonly opened: boolean;
  /** aws: served by this command until Ctrl-C. */
  readonly foreground: boolean;
}

/** Opens `url` in the desktop's browser; false when there is no opener (a server, CI). */
function openBrowser(url: string): Promise<boolean> {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  return new Promise((resolve) => {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

export default class Dashboard extends TsrCommand<typeof Dashboard> {
  static override summary = 'Print (or open) the live dashboard: flow, health, drills, reconcile, charts, actions';
  static override description =
    'The local platform serves its dashboard on 127.0.0.1 from the moment it is deployed; this prints its URL, ' +
    'with the access token the page needs (kept in <workspace>/secrets/dashboard-token; the page sets a cookie on ' +
    'the first visit). --open opens it in the desktop browser.\n\n' +
    'The page shows, live: per app, region and stage the records in/out/rejected/backlog and rates, business ' +
    'counts, where each app is active (its routing controls), the generator, offered vs confirmed rate ' +
    '("falling behind" and the limiting stage); engines, services and replication lag; the running runbook step by ' +
    'step with its clocks, and past runs with their reports; reconcile; charts of the last 15 minutes. Its buttons ' +
    '(generator, rotate, fail over, lose/restore a region, routing controls, reconcile and replay) run the same ' +
    'code as the commands; destructive ones ask for the app, region or environment name to be typed.\n\n' +
    'With --target aws there is no local platform to serve it: this command serves the dashboard itself, on ' +
    '127.0.0.1 with a fresh token, until Ctrl-C.';
  static override examples = [
    '<%= config.bin %> dashboard',
    '<%= config.bin %> dashboard --open',
    '<%= config.bin %> dashboard --json',
    '<%= config.bin %> dashboard --target aws --port 8080   # serves it in the foreground until Ctrl-C',
  ];
  static exitCodes = [ExitCode.ok, ExitCode.usage, ExitCode.notDeployed];
  static override flags = {
    open: Flags.boolean({ description: 'open it in the desktop browser' }),
    port: Flags.integer({
      description: 'aws target: the port to serve on (127.0.0.1) [default: any free port]',
      min: 0,
      max: 65_535,
    }),
  };

  async run(): Promise<DashboardResult> {
    const config = this.loadConfig();
    if (config.target === 'aws') return this.serveForeground(config);
    if (this.flags.port !== undefined)
      throw new UserError(
        '--port is for --target aws: the local platform serves its dashboard on its own port',
        'drop --port (set local.basePort to fix every local port)',
        ExitCode.usage,
      );
    const state = requireState(config);
    assertSupervisorAlive(state);
    const url = localDashboardUrl(state);
    if (!url)
      throw new UserError(
        'this deployment has no dashboard running',
        `see ${state.workspace}/logs/dashboard.log; a deployment made by an older tsr gets one after \`tsr destroy --yes\` and \`tsr deploy\``,
        ExitCode.notDeployed,
      );
    const opened = this.flags.open ? await openBrowser(url) : false;
    if (!this.jsonEnabled()) {
      this.log(url);
      if (this.flags.open && !opened) this.logToStderr('No browser to open here: open the URL above yourself.');
    }
    return { url, opened, foreground: false };
  }

  private async serveForeground(config: ReturnType<typeof this.loadConfig>): Promise<DashboardResult> {
    const dashboard = await startDashboard({
      config,
      token: randomBytes(32).toString('base64url'),
      port: this.flags.port ?? 0,
      // Every refresh is AWS API calls (ARC, CloudWatch): slower than locally.
      timing: { fastMs: 2_000, slowMs: 10_000, businessMs: 60_000, flowMs: 20_000, idleMs: 60_000 },
    });
    const opened = this.flags.open ? await openBrowser(dashboard.url) : false;
    if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify({ url: dashboard.url, foreground: true })}\n`);
    else this.log(`${dashboard.url}\nServing the dashboard for ${config.environment} on AWS until Ctrl-C.`);
    await untilInterrupted((signal) => new Promise((resolve) => signal.addEventListener('abort', resolve)));
    await dashboard.close();
    return { url: dashboard.url, opened, foreground: true };
  }
}
