/** Per-stage counters and the metrics server, over a real socket on 127.0.0.1. */
import { type MetricsSnapshot, ServiceMetrics, startMetricsServer } from '../../src/services/runtime/metrics.js';

test('GET /metrics returns counters, gauges, uptime and sources; GET /health follows the health check', async () => {
  const metrics = new ServiceMetrics({
    service: 'tm-ingestion',
    app: 'trade',
    stage: 'ingestion',
    region: 'us-east-1',
  });
  let backlog = 7;
  let healthy = true;
  metrics.inc('in', 10);
  metrics.inc('out', 9);
  metrics.inc('rejected');
  metrics.inc('custom');
  metrics.gauge('backlog', () => backlog);
  metrics.source('gate', () => ({ on: true, degraded: false }));
  metrics.source('broken', () => {
    throw new Error('nope');
  });
  const server = await startMetricsServer(metrics, {
    port: 0,
    health: () => ({ ok: healthy, detail: healthy ? undefined : 'gate degraded' }),
  });
  try {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const snapshot = (await (await fetch(`${server.url}/metrics`)).json()) as MetricsSnapshot;
    expect(snapshot).toMatchObject({
      service: 'tm-ingestion',
      app: 'trade',
      stage: 'ingestion',
      region: 'us-east-1',
      counters: { in: 10, out: 9, rejected: 1, duplicates: 0, errors: 0, custom: 1 },
      gauges: { backlog: 7 },
      sources: { gate: { on: true, degraded: false }, broken: { error: 'nope' } },
    });
    expect(snapshot.uptimeMs).toBeGreaterThanOrEqual(0);
    backlog = 3;
    expect(((await (await fetch(`${server.url}/metrics`)).json()) as MetricsSnapshot).gauges.backlog).toBe(3);

    const ok = await fetch(`${server.url}/health`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ ok: true, service: 'tm-ingestion' });
    healthy = false;
    const sick = await fetch(`${server.url}/health`);
    expect(sick.status).toBe(503);
    expect(await sick.json()).toMatchObject({ ok: false, detail: 'gate degraded' });
    expect((await fetch(`${server.url}/nothing`)).status).toBe(404);
  } finally {
    await server.close();
  }
});

test('a taken port is named', async () => {
  const metrics = new ServiceMetrics({ service: 'x' });
  const first = await startMetricsServer(metrics, { port: 0 });
  try {
    await expect(startMetricsServer(metrics, { port: first.port })).rejects.toThrow(
      /already in use \(TSR_METRICS_PORT\)/,
    );
  } finally {
    await first.close();
  }
});
