import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'tsr_dashboard';
export const TOKEN_HEADER = 'x-tsr-token';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

export type Verdict =
  | { readonly ok: true; readonly viaQuery: boolean }
  | { readonly ok: false; readonly status: 400 | 401 | 403; readonly reason: string };

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

/** The host name of a Host header ("127.0.0.1:4500" → "127.0.0.1", "[::1]:4500" → "[::1]"). */
function hostName(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
}

/**
 * Every request: the Host header names this machine's loopback (a page of another site resolving its own name to
 * 127.0.0.1 — DNS rebinding — is refused), and the token comes in the URL (first visit) or the cookie set then.
 * Requests that change something are POSTs that also carry the token in a header (a form of another site cannot
 * set it) and an Origin of this very dashboard.
 */
export function checkRequest(req: IncomingMessage, token: string): Verdict {
  const host = req.headers.host ?? '';
  if (!LOOPBACK_NAMES.has(hostName(host).toLowerCase()))
    return { ok: false, status: 403, reason: `Host "${host}" is not this machine's loopback address` };
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const fromQuery = url.searchParams.get('token') ?? undefined;
  const viaQuery = sameToken(fromQuery, token);
  if (!viaQuery && !sameToken(cookieToken(req), token))
    return { ok: false, status: 401, reason: 'missing or wrong token: open the URL `tsr dashboard` prints' };
  if (req.method === 'GET' || req.method === 'HEAD') return { ok: true, viaQuery };
  if (req.method !== 'POST') return { ok: false, status: 400, reason: `method ${req.method} is not accepted` };
  const header = req.headers[TOKEN_HEADER];
  if (!sameToken(Array.isArray(header) ? header[0] : header, token))
    return { ok: false, status: 401, reason: `a change needs the token in the ${TOKEN_HEADER} header` };
  if (req.headers.origin !== `http://${host}`)
    return { ok: false, status: 403, reason: `Origin "${req.headers.origin ?? ''}" is not this dashboard` };
  return { ok: true, viaQuery };
}

/** Set on the first visit with the token in the URL: later requests (the event stream, assets) need no token. */
export function tokenCookie(token: string): string {
  return `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
}
