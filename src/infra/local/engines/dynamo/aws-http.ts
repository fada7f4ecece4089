/** Passing DynamoDB requests and answers through the front, and answering in the shape the AWS SDK expects. */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { sendJson } from '../../http-server.js';

export const API_VERSION = 'DynamoDB_20120810';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'expect',
]);

/** An answer read whole (to inspect or rewrite before passing it on). */
export interface BufferedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** An AWS-shaped error, so the SDK raises a named exception rather than a parse failure. */
export function sendAwsError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(
    res,
    status,
    { __type: `com.amazon.coral.service#${type}`, message },
    {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': randomUUID(),
    },
  );
}

export function forwardableHeaders(headers: IncomingHttpHeaders, bodyLength: number): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  out['content-length'] = bodyLength;
  return out;
}

/** dynalite's response headers as they were; the body is passed on byte for byte, so its length still holds. */
export function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && (name === 'content-length' || !HOP_BY_HOP.has(name))) out[name] = value;
  }
  return out;
}
