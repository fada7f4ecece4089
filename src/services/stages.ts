import type { Logger } from 'pino';
import { inboundClientId } from '../config/model.js';
import { migratePool } from './core-db/migrations.js';
import {
  createContext,
  corePool,
  runStreamStage,
  startGate,
  type RunningService,
  type ServiceContext,
} from './host.js';
import { pendingMetricLine, readSessionBacklog, startBacklogReporter } from './messaging/broker-backlog.js';
import { InboundSession } from './messaging/inbound-session.js';
import { BrokerPublisher } from './messaging/publisher.js';
import { acceptInboundBatch } from './pipeline/gateway.js';
import { inboundRoutes } from './pipeline/inbound-routes.js';
import { publishBatch, redeliverHeld, UnreachableRegions } from './pipeline/outbound.js';
import type { PipelineRecord } from './pipeline/records.js';
import { passThrough } from './pipeline/stage-io.js';
import { ActiveRegionResolver, type ServiceConfig } from './runtime/index.js';
import { safeStoreTable } from '../config/model.js';
import { settlementCoreBatch } from './settlement/core.js';
import { SettlementStore } from './settlement/core-store.js';
import { settlementEgressBatch } from './settlement/egress.js';
import { settlementOutboundRoute } from './settlement/outbound-gateway.js';
import { tradeCoreBatch } from './trade-matching/core.js';
import { TradeMatchingStore } from './trade-matching/core-store.js';
import { tradeEgressBatch } from './trade-matching/egress.js';
import { tradeOutboundRoute } from './trade-matching/outbound-gateway.js';

function publisherFor(context: ServiceContext, clientIdPrefix: string, logger: Logger): BrokerPublisher {
  const { brokerUrls, workerId, brokerCredentials } = context.config;
  const publisher = new BrokerPublisher({ brokerUrls, clientIdPrefix, workerId, logger, ...brokerCredentials });
  context.closers.push(() => publisher.close());
  return publisher;
}

/** Inbound gateway: a persistent broker session consumed while the app's queue control for this region is ON. */
async function inboundGateway(context: ServiceContext): Promise<RunningService> {
  const { app, names, config, io, logger } = context;
  const t = names.topics;
  const routes = inboundRoutes(app, t);
  const nackTopic = app === 'trade' ? t.tmOutConfirmations : t.stOutRejections;
  const publisher = publisherFor(context, `${app}-nack`, logger);
  const gate = await startGate(context, `${app}-queue-${config.region}`);
  const session = new InboundSession({
    // Every broker instance of this region (Amazon MQ: active, then standby), one session per app and region:
    // the ECS service of an inbound gateway runs one task at a time (see services.ts), so no sibling takes it over.
    brokerUrl: config.brokerUrls[config.region],
    clientId: inboundClientId(app, config.region),
    ...config.brokerCredentials,
    topics: Object.keys(routes),
    gate: { isOn: () => gate.isOn(), onChange: (listener) => void gate.onChange((state) => listener(state.on)) },
    logger,
    handleBatch: async (messages) => {
      const rejections = await acceptInboundBatch(io, (topic) => routes[topic], messages);
      if (rejections.length)
        await publisher.publish(
          config.region,
          nackTopic,
          rejections.map((r) => JSON.stringify(r)),
        );
    },
  });
  await session.start();
  context.metrics.source('session', () => ({
    consuming: session.consuming,
    received: session.received,
    acknowledged: session.acknowledged,
  }));
  // On Amazon MQ: what the broker holds for this session, read from the broker and published for `tsr` (wait.drained)
  // as a CloudWatch metric (see broker-backlog.ts). Locally the platform reads the broker itself.
  if (config.target === 'aws' && config.brokerCredentials) {
    const credentials = config.brokerCredentials;
    const identity = { environment: config.environment, app, region: config.region };
    const reporter = startBacklogReporter({
      read: () =>
        readSessionBacklog({
          brokerUrls: config.brokerUrls[config.region] ?? [],
          clientId: inboundClientId(app, config.region),
          username: credentials.username,
          password: credentials.password,
        }),
      publish: (backlog) => logger.info(pendingMetricLine(identity, backlog.pending), 'broker backlog'),
      onError: (error) => logger.warn({ err: error }, 'cannot read the broker backlog of this session'),
    });
    context.closers.push(() => reporter.stop());
    context.metrics.source('brokerBacklog', () => reporter.last());
  }
  return {
    stop: async () => {
      await session.stop();
      for (const close of context.closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
    },
  };
}

/**
 * Core: matches only while the app control for this region is ON and this region's database is the writer
 * (a logical-replication subscriber is a reader): records wait in the stream otherwise.
 */
async function core(context: ServiceContext): Promise<RunningService> {
  const { app, config, io, logger } = context;
  const pool = corePool(context);
  await migratePool(pool, app);
  const gate = await startGate(context, `${app}-app-${config.region}`);
  let writer = false;
  const checkWriter = async () => {
    try {
      const { rows } = await pool.query(
        `SELECT count(*)::int AS subscriptions FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
         WHERE d.datname = current_database() AND s.subenabled`,
      );
      writer = rows[0].subscriptions === 0;
    } catch (error) {
      writer = false;
      logger.warn({ err: (error as Error).message }, 'cannot tell whether the database is the writer; not matching');
    }
  };
  await checkWriter();
  const timer = setInterval(() => void checkWriter(), 1_000);
  context.closers.push(() => clearInterval(timer));
  context.metrics.source('database', () => ({ writer }));
  const tradeStore =
    app === 'trade' ? new TradeMatchingStore(pool, { priceTolerance: config.priceTolerance }) : undefined;
  const settlementStore = app === 'settlement' ? new SettlementStore(pool) : undefined;
  return runStreamStage(
    context,
    (records) =>
      tradeStore
        ? tradeCoreBatch(io, tradeStore, records)
        : settlementCoreBatch(io, settlementStore as SettlementStore, records),
    () => gate.isOn() && writer,
  );
}

/** Outbound gateway: publishes to senders on this region's broker and to the other app's active region. */
async function outboundGateway(context: ServiceContext): Promise<RunningService> {
  const { app, config, names, io, logger } = context;
  const other = app === 'trade' ? 'settlement' : 'trade';
  const resolver = new ActiveRegionResolver({
    controls: context.controls,
    regionControls: ActiveRegionResolver.dnsControls(other, config.regions),
    logger,
  });
  await resolver.start();
  context.closers.push(() => resolver.stop());
  context.metrics.source('destination', () => resolver.state());
  const activeRegion = () => {
    const region = resolver.activeRegion();
    if (!region) throw new Error(`no ${other} dns routing control is known to be ON yet`);
    return region;
  };
  const publisher = publisherFor(context, `${app}-outbound`, logger);
  const t = names.topics;
  const route = (record: PipelineRecord) =>
    app === 'trade'
      ? tradeOutboundRoute(record, config.region, activeRegion, {
          confirmations: t.tmOutConfirmations,
          settlements: t.stInSettlements,
        })
      : settlementOutboundRoute(record, config.region, activeRegion, {
          results: t.tmInSettlements,
          rejections: t.stOutRejections,
        });
  // Records for the other app's broker that cannot be reached are held in the safe store instead of blocking the
  // shard (issue #5, see pipeline/outbound.ts); this loop delivers them once it can, also after a restart.
  const unreachable = new UnreachableRegions();
  const options = { ownRegion: config.region, unreachable, logger };
  const store = { dynamo: context.dynamo, table: safeStoreTable(config.environment, app, 'outbound-gateway') };
  let held = 0;
  let running: Promise<unknown> | undefined;
  const retry = setInterval(() => {
    running ??= redeliverHeld(io, store, publisher, route, options)
      .then((r) => (held = r.left))
      .catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'redelivering held records failed'))
      .finally(() => (running = undefined));
  }, 2_000);
  context.closers.push(async () => {
    clearInterval(retry);
    await running;
  });
  context.metrics.gauge('held', () => held);
  return runStreamStage(context, (records) => publishBatch(io, publisher, records, route, options));
}

/** Starts the stage this process is configured for. */
export async function startStage(config: ServiceConfig): Promise<RunningService> {
  const context = await createContext(config);
  const service = await runStage(context);
  return { metricsPort: context.metricsPort, stop: () => service.stop() };
}

function runStage(context: ServiceContext): Promise<RunningService> {
  switch (context.stage) {
    case 'inbound-gateway':
      return inboundGateway(context);
    case 'ingestion':
      return runStreamStage(context, (records) => passThrough(context.io, records));
    case 'core':
      return core(context);
    case 'egress':
      return runStreamStage(context, (records) =>
        context.app === 'trade' ? tradeEgressBatch(context.io, records) : settlementEgressBatch(context.io, records),
      );
    case 'outbound-gateway':
      return outboundGateway(context);
  }
}
