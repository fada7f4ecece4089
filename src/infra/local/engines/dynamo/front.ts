/**
 * The engine's front HTTP server: routes the reserved /_tsr/ API, intercepts writes, forwards everything else to
 * dynalite, counts time per DynamoDB operation, and can wait for the requests in flight before the engine closes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BodyTooLargeError, readBody, sendJson } from '../../http-server.js';
import { API_VERSION, sendAwsError } from './aws-http.js';
import { RESERVED_PREFIX } from './control-api.js';
import { WRITE_OPS } from './write-interceptor.js';
import { HttpError, isPlainObject } from './wire.js';

const SCHEMA_OPS = new Set(['CreateTable', 'DeleteTable', 'UpdateTable']);
/** dynalite refuses bodies above 16 MB; leave room so it answers with its own error. */
const MAX_BODY_BYTES = 17 * 1024 * 1024;

export interface FrontRoutes {
  control(req: IncomingMessage, res: ServerResponse): Promise<void>;
  write(
    operation: string,
    input: Record<string, unknown>,
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
  ): Promise<void>;
  forward(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void>;
  /** A schema operation named this table: its key may change. */
  schemaChanged(table: string): void;
}

export class DynamoFront {
  readonly server: Server;
  /** Requests served per DynamoDB operation: count and total milliseconds. */
  readonly operationStats = new Map<string, { count: number; ms: number }>();
  private inFlight = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly routes: FrontRoutes) {
    this.server = createServer((req, res) => {
      this.inFlight += 1;
      this.handle(req, res)
        .catch((error: unknown) => {
          if (error instanceof HttpError) sendJson(res, error.status, { error: error.message });
          else if (error instanceof BodyTooLargeError) sendJson(res, 413, { error: error.message });
          else sendAwsError(res, 500, 'InternalFailure', error instanceof Error ? error.message : String(error));
        })
        .finally(() => {
          this.inFlight -= 1;
          if (this.inFlight === 0) this.idle?.();
        });
    });
    this.server.keepAliveTimeout = 30_000;
    this.server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /**
   * Stops accepting, lets the requests in flight finish (at most `graceMs`: acknowledged writes must be recorded
   * before the feed is saved), then drops every connection.
   */
  async close(graceMs = 5_000): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.inFlight > 0) {
      await Promise.race([
        new Promise<void>((resolve) => (this.idle = resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    this.server.closeAllConnections();
    await stopped;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if ((req.url ?? '').startsWith(RESERVED_PREFIX)) {
      await this.routes.control(req, res);
      return;
    }
    const started = performance.now();
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(`${API_VERSION}.`) ? target.slice(API_VERSION.length + 1) : '';
    try {
      await this.handleDynamo(req, res, operation);
    } finally {
      const stats = this.operationStats.get(operation || 'other') ?? { count: 0, ms: 0 };
      stats.count += 1;
      stats.ms += performance.now() - started;
      this.operationStats.set(operation || 'other', stats);
    }
  }

  private async handleDynamo(req: IncomingMessage, res: ServerResponse, operation: string): Promise<void> {
    const body = await readBody(req, MAX_BODY_BYTES);
    if (req.method === 'POST' && operation !== '') {
      // dynalite throws (and would take the process down) on a JSON body that is not an object, e.g. `null`.
      let input: unknown;
      try {
        input = JSON.parse(body.toString('utf8'));
      } catch {
        input = undefined;
      }
      if (!isPlainObject(input)) {
        sendAwsError(res, 400, 'SerializationException', 'request body must be a JSON object');
        return;
      }
      if (WRITE_OPS.has(operation)) {
        await this.routes.write(operation, input, req, body, res);
        return;
      }
      if (SCHEMA_OPS.has(operation) && typeof input.TableName === 'string') this.routes.schemaChanged(input.TableName);
    }
    await this.routes.forward(req, body, res);
  }
}
