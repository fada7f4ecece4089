/**
 * dynalite, the DynamoDB that stores the items, on an ephemeral loopback port only the front talks to: requests
 * passed through unchanged, and direct calls (replicated applies, key schemas, read-backs) that bypass the feed.
 */
import {
  Agent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { closeServer, listen } from '../../http-server.js';
import { API_VERSION, type BufferedResponse, forwardableHeaders, responseHeaders, sendAwsError } from './aws-http.js';
import { loadDynalite } from './dynalite-loader.js';
import { cacheTableDescriptions, captureStore, type DynaliteStore, writeChanges } from './dynalite-store.js';
import { closeLevelIteratorsOnReturn } from './level-iterators.js';
import { DynamoCallError, type ReplicatedChange } from './wire.js';

export class Dynalite {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64, timeout: 10_000 });
  private readonly keySchemas = new Map<string, string[]>();

  private constructor(
    private readonly server: Server,
    private readonly store: DynaliteStore,
    private readonly port: number,
    private readonly region: string,
  ) {}

  /** Starts dynalite persisted under `dir`, with table ARNs in `region`. */
  static async start(dir: string, region: string): Promise<Dynalite> {
    closeLevelIteratorsOnReturn();
    const dynalite = await loadDynalite();
    // dynalite reads the region for table ARNs from the environment when its store is created: give it ours.
    const savedRegion = process.env.AWS_REGION;
    process.env.AWS_REGION = region;
    let server: Server;
    let store: DynaliteStore;
    try {
      ({ server, store } = captureStore(() =>
        dynalite({ path: dir, createTableMs: 5, deleteTableMs: 5, updateTableMs: 5 }),
      ));
    } finally {
      if (savedRegion === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = savedRegion;
    }
    guardAgainstAbortedRequests(server);
    cacheTableDescriptions(store);
    server.keepAliveTimeout = 30_000;
    return new Dynalite(server, store, await listen(server, 0), region);
  }

  /** Changes replicated from another region (one per item, under the caller's item locks), written in-process. */
  writeReplicated(changes: readonly ReplicatedChange[]): Promise<void> {
    return writeChanges(this.store, changes);
  }

  async close(): Promise<void> {
    this.agent.destroy();
    await closeServer(this.server);
  }

  /** A request sent as is, its answer read whole. */
  send(method: string, body: Buffer, headers: OutgoingHttpHeaders, path = '/'): Promise<BufferedResponse> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** One DynamoDB operation; an error answer throws a DynamoCallError with its AWS type. */
  async call(operation: string, input: unknown): Promise<Record<string, unknown>> {
    const body = Buffer.from(JSON.stringify(input));
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const response = await this.send('POST', body, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': body.length,
      'x-amz-target': `${API_VERSION}.${operation}`,
      'x-amz-date': amzDate,
      authorization: `AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/${this.region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
    });
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(response.body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      // leave empty: the status decides
    }
    if (response.status !== 200) {
      const type =
        String(parsed.__type ?? 'UnknownError')
          .split('#')
          .pop() ?? 'UnknownError';
      throw new DynamoCallError(response.status, type, `${operation}: ${type}: ${String(parsed.message ?? '')}`);
    }
    return parsed;
  }

  /** The key attribute names of a table (cached until a schema operation names it), or undefined if unknown. */
  async keySchema(table: string): Promise<string[] | undefined> {
    const cached = this.keySchemas.get(table);
    if (cached) return cached;
    try {
      const described = await this.call('DescribeTable', { TableName: table });
      const schema = (described.Table as { KeySchema?: { AttributeName: string }[] } | undefined)?.KeySchema;
      if (!schema || schema.length === 0) return undefined;
      const names = schema.map((element) => element.AttributeName);
      this.keySchemas.set(table, names);
      return names;
    } catch {
      return undefined;
    }
  }

  /** The cached key schema only (no call). */
  knownKeySchema(table: string): string[] | undefined {
    return this.keySchemas.get(table);
  }

  /** CreateTable, DeleteTable and UpdateTable may change what a table's key is. */
  forgetKeySchema(table: string): void {
    this.keySchemas.delete(table);
  }

  /** Forwards a request to dynalite unchanged and streams the answer back. */
  forward(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const upstream = httpRequest(
        {
          host: '127.0.0.1',
          port: this.port,
          method: req.method,
          path: req.url,
          headers: forwardableHeaders(req.headers, body.length),
          agent: this.agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, responseHeaders(answer.headers));
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      upstream.on('error', (error) => {
        sendAwsError(res, 500, 'InternalFailure', `local DynamoDB did not answer: ${error.message}`);
        resolve();
      });
      upstream.end(body);
    });
  }
}

/** dynalite rethrows request stream errors (a client that hangs up mid-request), which would end the process. */
function guardAgainstAbortedRequests(server: Server): void {
  const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const on = req.on.bind(req);
    req.on = ((event: string, listener: (...args: unknown[]) => void) =>
      event === 'error' ? on('error', () => res.destroy()) : on(event, listener)) as typeof req.on;
    for (const handler of handlers) handler(req, res);
  });
}
