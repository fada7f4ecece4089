import { createServer } from 'node:http';
import path from 'node:path';
import mqtt from 'mqtt';
import { BrokerPublisher, brokerServers, publisherClientId } from '../messaging/publisher.js';
import { resourceNames, type RunningService } from '../host.js';
import {
  ActiveRegionResolver,
  RegionGate,
  routingControlsFor,
  type ServiceConfig,
  serviceLogger,
} from '../runtime/index.js';
import { TradeGenerator } from './generator.js';
import { startHeapCollector } from '../../clients/heap-collector.js';
import { followLedgerTable, ledgerTableOf, tableSink } from './table-control.js';

const DEFAULT_RATE = Number(process.env.TSR_GENERATOR_RATE ?? 10);

/**
 * The generator process: obeys the trade-generator routing control, publishes to the region whose trade dns
 * control is ON, listens for confirmations on every region's broker, and serves its status and live settings on
 * 127.0.0.1:TSR_METRICS_PORT (`GET /status[?latencySince=<epoch ms>]`, `GET /metrics`, `GET /health`,
 * `POST /config {"rate": N | "auto"}`).
 */
export async function startGeneratorService(config: ServiceConfig): Promise<RunningService> {
  const logger = serviceLogger(config);
  const names = resourceNames(config);
  const controls = routingControlsFor(config, names);
  const gate = new RegionGate({ controls, control: 'trade-generator', logger });
  const resolver = new ActiveRegionResolver({
    controls,
    regionControls: ActiveRegionResolver.dnsControls('trade', config.regions),
    logger,
  });
  await Promise.all([gate.start(), resolver.start()]);
  const { brokerUrls, workerId, brokerCredentials } = config;
  const publisher = new BrokerPublisher({
    brokerUrls,
    clientIdPrefix: 'generator',
    workerId,
    logger,
    ...brokerCredentials,
  });
  // AWS: the ledger, the rate and the status go through the ledger table (the root filesystem is read-only).
  const ledgerTable = ledgerTableOf(config);
  const generator = new TradeGenerator(
    { rate: DEFAULT_RATE },
    {
      publisher,
      enabled: () => gate.isOn(),
      targetRegion: () => resolver.activeRegion(),
      degraded: () => gate.state().degraded || resolver.state().degraded,
      topic: names.topics.tmInTrades,
      ledgerDir: path.join(process.env.TSR_WORKSPACE ?? '.', 'generator'),
      ledgerSink: ledgerTable ? tableSink(ledgerTable, logger) : undefined,
      logger,
    },
  );
  generator.start();
  const stopCollector = startHeapCollector({ workDone: () => generator.messagesSent });
  const unfollow = ledgerTable ? followLedgerTable(ledgerTable, generator, logger) : async () => undefined;

  // Confirmations come back on the broker of the region that decided them: listen to all.
  const listeners = Object.entries(brokerUrls).map(([region, urls]) => {
    const client = mqtt.connect({
      ...brokerServers(urls),
      clientId: publisherClientId('generator-confirmations', region, workerId),
      clean: true,
      reconnectPeriod: 1_000,
      ...brokerCredentials,
    });
    client.on('connect', () => void client.subscribeAsync(names.topics.tmOutConfirmations, { qos: 0 }));
    client.on('message', (_topic, payload) => {
      try {
        generator.confirmation(JSON.parse(payload.toString('utf8')), region);
      } catch {
        generator.confirmation({ status: 'UNPARSEABLE' });
      }
    });
    client.on('error', (error) => logger.warn({ region, err: error.message }, 'confirmation listener error'));
    return client;
  });

  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = url.pathname;
    if (req.method === 'GET' && (route === '/status' || route === '/metrics')) {
      const since = Number(url.searchParams.get('latencySince') ?? '');
      const status = generator.status(Number.isFinite(since) && since > 0 ? since : undefined);
      return reply(200, { ...status, counters: { out: status.messagesSent }, gauges: {} });
    }
    if (req.method === 'GET' && route === '/health') return reply(200, { ok: true });
    if (req.method === 'POST' && route === '/config') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        try {
          const { rate } = JSON.parse(body || '{}') as { rate?: unknown };
          const valid =
            rate === 'auto' || (typeof rate === 'number' && Number.isFinite(rate) && rate > 0 && rate <= 5_000);
          if (rate !== undefined && !valid) {
            return reply(400, { error: 'rate must be a number of pairs per second between 1 and 5000, or "auto"' });
          }
          generator.configure({ rate: rate as number | 'auto' | undefined });
          logger.info({ rate }, 'generator settings changed');
          reply(200, generator.status());
        } catch {
          reply(400, { error: 'body must be JSON like {"rate": 50}' });
        }
      });
      return;
    }
    reply(404, { error: 'use GET /status, GET /health or POST /config' });
  });
  await new Promise<void>((resolve) => server.listen(config.metricsPort ?? 0, '127.0.0.1', () => resolve()));
  const address = server.address();

  return {
    metricsPort: typeof address === 'object' && address ? address.port : config.metricsPort,
    stop: async () => {
      stopCollector();
      await generator.stop();
      await unfollow();
      await Promise.all(listeners.map((l) => l.endAsync(true)));
      await publisher.close();
      await Promise.all([gate.stop(), resolver.stop()]);
      await controls.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
