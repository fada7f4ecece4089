/**
 * Per-stage counters and gauges of one service process, and a small HTTP server on 127.0.0.1 that `tsr status` and
 * the dashboard read: `GET /metrics` (JSON snapshot: counters, gauges, uptime, gate state, consumer metrics, …) and
 * `GET /health` (200 when healthy, 503 otherwise).
 */
import { createServer, type Server } from 'node:http';

export const STANDARD_COUNTERS = ['in', 'out', 'rejected', 'duplicates', 'errors'] as const;
export type StandardCounter = (typeof STANDARD_COUNTERS)[number];

export interface MetricsIdentity {
  readonly service: string;
  readonly app?: string;
  readonly stage?: string;
  readonly region?: string;
  readonly workerId?: string;
}

export interface MetricsSnapshot extends MetricsIdentity {
  readonly pid: number;
  readonly startedAt: string;
  readonly uptimeMs: number;
  /** in, out, rejected, duplicates, errors, plus any custom counter. */
  readonly counters: Readonly<Record<string, number>>;
  /** e.g. backlog. */
  readonly gauges: Readonly<Record<string, number>>;
  /** Registered sources by name, e.g. `gate` (GateState), `consumer` (ConsumerMetrics). */
  readonly sources: Readonly<Record<string, unknown>>;
}

export interface HealthReport {
  readonly ok: boolean;
  readonly detail?: string;
  readonly [key: string]: unknown;
}

export class ServiceMetrics {
  readonly startedAt = Date.now();
  private readonly counters = new Map<string, number>(STANDARD_COUNTERS.map((name) => [name, 0]));
  private readonly gauges = new Map<string, number | (() => number)>();
  private readonly sources = new Map<string, () => unknown>();

  constructor(readonly identity: MetricsIdentity) {}

  inc(counter: StandardCounter | (string & {}), by = 1): void {
    this.counters.set(counter, (this.counters.get(counter) ?? 0) + by);
  }

  count(counter: string): number {
    return this.counters.get(counter) ?? 0;
  }

  /** A gauge: a value, or a function read at each snapshot. */
  gauge(name: string, value: number | (() => number)): void {
    this.gauges.set(name, value);
  }

  /** A part of the snapshot read at each request, e.g. `source('consumer', () => consumer.metrics())`. */
  source(name: string, read: () => unknown): void {
    this.sources.set(name, read);
  }

  snapshot(): MetricsSnapshot {
    const gauges: Record<string, number> = {};
    for (const [name, value] of this.gauges) {
      try {
        gauges[name] = typeof value === 'function' ? value() : value;
      } catch {
        gauges[name] = Number.NaN;
      }
    }
    const sources: Record<string, unknown> = {};
    for (const [name, read] of this.sources) {
      try {
        sources[name] = read();
      } catch (error) {
        sources[name] = { error: error instanceof Error ? error.message : String(error) };
      }
    }
    return {
      ...this.identity,
      pid: process.pid,
      startedAt: new Date(this.startedAt).toISOString(),
      uptimeMs: Date.now() - this.startedAt,
      counters: Object.fromEntries(this.counters),
      gauges,
      sources,
    };
  }
}

export interface MetricsServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Default 127.0.0.1 (never exposed beyond the host). */
  readonly host?: string;
  /** Health for `GET /health`; default: always ok. */
  readonly health?: () => HealthReport;
}

export interface MetricsServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(metrics: ServiceMetrics, opts: MetricsServerOptions): Promise<MetricsServer> {
  const host = opts.host ?? '127.0.0.1';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    let status = 200;
    let body: unknown;
    if (req.method !== 'GET') {
      status = 405;
      body = { error: 'GET only' };
    } else if (path === '/metrics') {
      body = metrics.snapshot();
    } else if (path === '/health') {
      let report: HealthReport;
      try {
        report = opts.health ? opts.health() : { ok: true };
      } catch (error) {
        report = { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
      status = report.ok ? 200 : 503;
      body = { ...metrics.identity, uptimeMs: Date.now() - metrics.startedAt, ...report };
    } else {
      status = 404;
      body = { error: `no such endpoint: ${path} (try /metrics or /health)` };
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
  server.keepAliveTimeout = 5_000;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`metrics port ${opts.port} on ${host} is already in use (TSR_METRICS_PORT)`)
          : error,
      ),
    );
    server.listen(opts.port, host, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : opts.port);
    });
  });
  return {
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
