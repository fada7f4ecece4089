/**
 * The link's HTTP API (127.0.0.1):
 *   GET  /lag            → TableLag[] (one per global table per ordered region pair)
 *   GET  /health         → LinkState
 *   POST /pause          → LinkState   (stop applying; pulling continues, so pending and lag keep being measured)
 *   POST /resume         → LinkState
 *   POST /delay?ms=<n>   → LinkState   (added one-way delay: a change is applied no earlier than its ts + n)
 *   POST /lost?region=<r> → LinkState  (region r was lost: its changes the link holds unapplied are forgotten, and
 *                                       pulled again from its feed when it answers again)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http-server.js';
import type { TableLag } from './lag.js';

export interface LinkState {
  readonly ok: true;
  readonly paused: boolean;
  readonly delayMs: number;
  readonly regions: readonly string[];
  readonly tables: readonly string[];
}

const MAX_DELAY_MS = 24 * 60 * 60 * 1000;

/** What the API reads and changes. */
export interface LinkApi {
  lag(): TableLag[];
  state(): LinkState;
  setPaused(paused: boolean): void;
  setDelay(ms: number): void;
  /** False when the region is not one of the link's. */
  forgetUnapplied(region: string): boolean;
}

export function handleLinkRequest(req: IncomingMessage, res: ServerResponse, link: LinkApi): void {
  const url = new URL(req.url ?? '/', 'http://link');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  req.resume(); // bodies are not used
  switch (route) {
    case 'GET /lag':
      sendJson(res, 200, link.lag());
      return;
    case 'GET /health':
      sendJson(res, 200, link.state());
      return;
    case 'POST /pause':
    case 'POST /resume':
      link.setPaused(route === 'POST /pause');
      sendJson(res, 200, link.state());
      return;
    case 'POST /delay': {
      const raw = url.searchParams.get('ms') ?? '';
      const ms = /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(ms) || ms > MAX_DELAY_MS) {
        sendJson(res, 400, { error: `ms must be an integer between 0 and ${MAX_DELAY_MS}, got '${raw}'` });
        return;
      }
      link.setDelay(ms);
      sendJson(res, 200, link.state());
      return;
    }
    case 'POST /lost': {
      const region = url.searchParams.get('region') ?? '';
      if (!link.forgetUnapplied(region)) {
        sendJson(res, 400, { error: `region must be one of ${link.state().regions.join(', ')}, got '${region}'` });
        return;
      }
      sendJson(res, 200, link.state());
      return;
    }
    default:
      sendJson(res, 404, { error: `no such endpoint: ${route}` });
  }
}
