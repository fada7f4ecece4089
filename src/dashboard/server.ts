import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { TsrConfig } from '../config/model.js';
import { describeError, ExitCode, UserError } from '../errors.js';
import { bindPort, BodyTooLargeError, closeServer, readBody, sendJson } from '../infra/local/http-server.js';
import { Actions, NO_GAMEDAY, type GameDayRunner } from './actions.js';
import { Collector, DEFAULT_TIMING, type CollectorTiming } from './collector.js';
import { gameDayFile } from './gamedays.js';
import { checkRequest, tokenCookie } from './security.js';
import type { ActionName, DashboardSections, SectionName } from './view-model.js';

/** The page bundle `npm run build` writes (esbuild): dist/dashboard/page/app.js and app.css. */
function pageDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const built = path.join(here, 'page');
  return existsSync(built) ? built : path.join(here, '..', '..', 'dist', 'dashboard', 'page');
}

interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const dir = pageDir();
  const assets = new Map<string, Asset>();
  for (const [name, type] of [
    ['app.js', 'text/javascript; charset=utf-8'],
    ['app.css', 'text/css; charset=utf-8'],
  ]) {
    const file = path.join(dir, name);
    if (!existsSync(file))
      throw new Error(`the dashboard page is not built (${file} is missing): run \`npm run build\``);
    const body = readFileSync(file);
    assets.set(`/${name}`, { type, body, gzip: gzipSync(body, { level: 9 }) });
  }
  return assets;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  // The URL of the first visit carries the token: never send it on as a Referer.
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * The page shell; the token is handed only to a request that already proved it has it (URL or cookie). The views
 * as they are now ride along as a JSON data block, so the first paint has data without waiting for the stream.
 */
function page(environment: string, token: string, initial: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="tsr-token" content="${token.replace(/[^A-Za-z0-9_-]/g, '')}">
<title>tsr · ${environment.replace(/[^A-Za-z0-9_-]/g, '')} · control room</title>
<link rel="stylesheet" href="app.css">
<script type="application/json" id="initial">${initial.replace(/</g, '\\u003c')}</script>
</head><body><div id="app"><p class="loading">Connecting to the platform…</p></div>
<script type="module" src="app.js"></script></body></html>`;
}

export interface DashboardOptions {
  readonly config: TsrConfig;
  readonly token: string;
  /** 0: any free port. */
  readonly port: number;
  /** Take any free port when `port` is taken. */
  readonly anyPortIfTaken?: boolean;
  readonly gameday?: GameDayRunner;
  readonly timing?: CollectorTiming;
}

export interface RunningDashboard {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024;
const KEEPALIVE_MS = 15_000;

/**
 * The dashboard: one HTTP server on 127.0.0.1 serving the page, an event stream that pushes each view when it
 * changes, and the actions. Every request passes checkRequest (loopback Host, token; POST with the token header and
 * this Origin).
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const { config, token } = options;
  const assets = loadAssets();
  const sections: Partial<Record<SectionName, string>> = {};
  const streams = new Set<ServerResponse>();

  const broadcast = (text: string) => {
    for (const res of streams) res.write(text);
  };
  const publish = <K extends SectionName>(name: K, value: DashboardSections[K]) => {
    const json = JSON.stringify(value);
    if (sections[name] === json) return;
    sections[name] = json;
    broadcast(`event: ${name}\ndata: ${json}\n\n`);
  };
  const collector = new Collector(config, publish, options.timing ?? DEFAULT_TIMING);
  const samplesSent = { count: 0 };
  const actions = new Actions(
    config,
    (views) => publish('actions', views),
    (label) => collector.mark(label),
    options.gameday ?? NO_GAMEDAY,
  );
  collector.gamedayAvailable = actions.gamedayAvailable;
  publish('actions', []);

  // New chart points go out as they are taken.
  const history = collector.history;
  const add = history.add.bind(history);
  history.add = (sample) => {
    add(sample);
    samplesSent.count++;
    broadcast(`event: sample\ndata: ${JSON.stringify(sample)}\n\n`);
  };

  const openStream = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    for (const [name, json] of Object.entries(sections)) res.write(`event: ${name}\ndata: ${json}\n\n`);
    res.write(`event: history\ndata: ${JSON.stringify(history.allSamples())}\n\n`);
    streams.add(res);
    collector.viewers = streams.size;
    if (streams.size === 1) collector.wake(); // the first page: read now, not at the next idle refresh
    const keepalive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
    req.on('close', () => {
      clearInterval(keepalive);
      streams.delete(res);
      collector.viewers = streams.size;
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const verdict = checkRequest(req, token);
    if (!verdict.ok) return sendJson(res, verdict.status, { error: { message: verdict.reason } }, SECURITY_HEADERS);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const cookie = verdict.viaQuery ? { 'set-cookie': tokenCookie(token) } : {};
    if (req.method === 'GET' && url.pathname === '/') {
      const html = page(
        config.environment,
        token,
        `{${Object.entries(sections)
          .map(([k, v]) => `"${k}":${v}`)
          .join(',')}}`,
      );
      res.writeHead(200, { ...SECURITY_HEADERS, ...cookie, 'content-type': 'text/html; charset=utf-8' });
      return res.end(html);
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204, SECURITY_HEADERS);
      return res.end();
    }
    const asset = assets.get(url.pathname);
    if (req.method === 'GET' && asset) {
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': asset.type,
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      });
      return res.end(gzip ? asset.gzip : asset.body);
    }
    if (req.method === 'GET' && url.pathname === '/events') return openStream(req, res);
    if (req.method === 'GET' && url.pathname === '/api/state') {
      const body = Object.fromEntries(Object.entries(sections).map(([k, v]) => [k, JSON.parse(v as string)]));
      return sendJson(res, 200, { ...body, history: history.allSamples() }, SECURITY_HEADERS);
    }
    const report = /^\/runs\/([^/]+)\/report$/.exec(url.pathname);
    if (req.method === 'GET' && report) {
      const text = collector.runs.reportText(decodeURIComponent(report[1]));
      if (text === undefined) return sendJson(res, 404, { error: { message: 'no report for this run' } });
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
      return res.end(text);
    }
    const gameday = /^\/gamedays\/([^/]+)\/(report\.html|report\.json)$/.exec(url.pathname);
    if (req.method === 'GET' && gameday) {
      const file = gameDayFile(config.workspace, decodeURIComponent(gameday[1]), gameday[2]);
      if (!file) return sendJson(res, 404, { error: { message: 'no such game-day report' } });
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        // A report is a document, not part of the app: no script runs in it.
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        'content-type': gameday[2].endsWith('html') ? 'text/html; charset=utf-8' : 'application/json',
      });
      return res.end(readFileSync(file));
    }
    const action = /^\/api\/actions\/([a-z.]+)$/.exec(url.pathname);
    if (req.method === 'POST' && action) {
      try {
        const body = await readBody(req, MAX_BODY);
        const request = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
        const view = actions.start(action[1] as ActionName, request as never);
        return sendJson(res, 202, { action: view }, SECURITY_HEADERS);
      } catch (error) {
        const status = error instanceof BodyTooLargeError ? 413 : error instanceof UserError ? 400 : 500;
        const exitCode = error instanceof UserError ? error.exitCode : ExitCode.failure;
        return sendJson(
          res,
          exitCode === ExitCode.refused ? 409 : status,
          {
            error: { message: describeError(error), fix: error instanceof UserError ? error.fix : undefined, exitCode },
          },
          SECURITY_HEADERS,
        );
      }
    }
    sendJson(res, 404, { error: { message: `nothing at ${req.method} ${url.pathname}` } }, SECURITY_HEADERS);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => sendJson(res, 500, { error: { message: describeError(error) } }));
  });
  const port = await bindPort(server, options.port, options.anyPortIfTaken ?? false);
  collector.start();
  return {
    port,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    async close() {
      for (const res of streams) res.end();
      await collector.stop();
      await closeServer(server);
    },
  };
}
