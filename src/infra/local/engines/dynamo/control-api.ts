/**
 * The engine's reserved HTTP API under /_tsr/ (everything else on the front port is DynamoDB):
 *   GET  /_tsr/health                                 → EngineHealth
 *   GET  /_tsr/changes?after=<seq>&limit=<n>&waitMs=<ms> → ChangesPage (changes with seq > after, oldest first)
 *   POST /_tsr/trim?upTo=<seq>                        → { trimmed, firstSeq } (drops changes every consumer applied)
 *   POST /_tsr/apply  body ApplyRequest               → ApplyResult (replicated changes, not recorded in this feed;
 *                                                       `delivered` alone, with no changes, reports an idle origin)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../../http-server.js';
import type { ChangeFeed } from './change-feed.js';
import {
  type ApplyResult,
  DynamoCallError,
  type EngineHealth,
  HttpError,
  isPlainObject,
  parseNonNegativeInt,
  type ReplicatedChange,
  validateReplicatedChange,
} from './wire.js';

export const RESERVED_PREFIX = '/_tsr/';

const MAX_PAGE = 10_000;
const MAX_WAIT_MS = 20_000;
/** A replicated batch may be larger than one DynamoDB request (dynalite's 16 MB), but not without bound. */
const MAX_APPLY_BYTES = 4 * 17 * 1024 * 1024;

export interface ControlApiContext {
  readonly feed: ChangeFeed;
  health(): EngineHealth;
  apply(changes: readonly ReplicatedChange[], delivered: Readonly<Record<string, number>>): Promise<ApplyResult>;
  /** While closing, long polls answer at once. */
  isClosing(): boolean;
}

export async function handleControlRequest(
  req: IncomingMessage,
  res: ServerResponse,
  context: ControlApiContext,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://engine');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  const { feed } = context;
  switch (route) {
    case 'GET /_tsr/health':
      sendJson(res, 200, context.health());
      return;
    case 'GET /_tsr/changes': {
      const after = parseNonNegativeInt(url.searchParams.get('after'), 'after', 0);
      const limit = Math.max(1, Math.min(MAX_PAGE, parseNonNegativeInt(url.searchParams.get('limit'), 'limit', 1000)));
      // Long poll: with waitMs, an empty answer waits for the next write (lag at rest stays in milliseconds).
      const waitMs = Math.min(MAX_WAIT_MS, parseNonNegativeInt(url.searchParams.get('waitMs'), 'waitMs', 0));
      if (!context.isClosing()) await feed.waitForChanges(after, waitMs);
      sendJson(res, 200, feed.page(after, limit));
      return;
    }
    case 'POST /_tsr/trim': {
      const upTo = parseNonNegativeInt(url.searchParams.get('upTo'), 'upTo', -1);
      if (upTo < 0) throw new HttpError(400, 'upTo is required');
      const trimmed = feed.trim(upTo);
      sendJson(res, 200, { trimmed, firstSeq: feed.firstSeq });
      return;
    }
    case 'POST /_tsr/apply': {
      const { changes, delivered } = parseApplyRequest(await readBody(req, MAX_APPLY_BYTES));
      try {
        sendJson(res, 200, await context.apply(changes, delivered));
      } catch (error) {
        const status = error instanceof DynamoCallError && error.status < 500 ? 409 : 503;
        sendJson(res, status, { error: error instanceof Error ? error.message : String(error) });
      }
      return;
    }
    default:
      throw new HttpError(404, `no such endpoint: ${route}`);
  }
}

function parseApplyRequest(body: Buffer): {
  changes: ReplicatedChange[];
  delivered: Record<string, number>;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'body must be JSON: { "changes": [...] }');
  }
  if (!isPlainObject(parsed) || !Array.isArray(parsed.changes)) {
    throw new HttpError(400, 'body must be { "changes": [...] }');
  }
  const delivered = parsed.delivered ?? {};
  if (
    !isPlainObject(delivered) ||
    !Object.values(delivered).every((ts) => typeof ts === 'number' && Number.isFinite(ts))
  ) {
    throw new HttpError(400, 'delivered must map origin regions to stamps (ms since the epoch)');
  }
  return { changes: parsed.changes.map(validateReplicatedChange), delivered: delivered as Record<string, number> };
}
