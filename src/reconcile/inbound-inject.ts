/**
 * Accepting messages as an app's inbound gateway does — stored in its safe store, then put on its ingestion stream,
 * with the ids, kinds and partition keys the gateway gives them — for drills that cannot reach the gateway's broker.
 * On AWS the brokers are private to the VPC; the safe stores and streams answer through the AWS APIs. Every write is
 * idempotent by id, so a message that also arrives through the broker (or is injected twice) changes nothing.
 * Used by the canary and by replay into an inbound gateway on the AWS target (docs/runbooks.md#step-types).
 */
import type { AppName } from '../config/apps.js';
import { safeStoreTable, streamName } from '../config/model.js';
import { kinesisClient } from '../clients/aws-clients.js';
import type { Platform } from '../platform/platform.js';
import { acceptInboundBatch } from '../services/pipeline/gateway.js';
import { inboundRoutes } from '../services/pipeline/inbound-routes.js';
import { newCounters, type StageIO } from '../services/pipeline/stage-io.js';
import { SafeStore } from '../services/runtime/safe-store.js';
import { StreamProducer } from '../services/runtime/stream-producer.js';
import { reconcileDynamoClient } from './clients.js';

export interface InboundMessage {
  readonly topic: string;
  readonly payload: string;
}

/** Accepts `messages` at `app`'s inbound gateway in `region`; returns how many were accepted and rejected. */
export async function acceptAtInboundGateway(
  platform: Platform,
  app: AppName,
  region: string,
  messages: readonly InboundMessage[],
): Promise<{ accepted: number; rejected: number }> {
  const env = platform.config.environment;
  const endpoints = platform.endpoints(region);
  const dynamo = reconcileDynamoClient(region, endpoints.dynamodb);
  const kinesis = kinesisClient({ region, endpoint: endpoints.kinesis });
  try {
    const store = new SafeStore(dynamo, safeStoreTable(env, app, 'inbound-gateway'));
    const producer = new StreamProducer(kinesis, streamName(env, app, 'ingestion'));
    const io: StageIO = {
      app,
      stage: 'inbound-gateway',
      region,
      counters: newCounters(),
      putAll: (items) => store.putAll(items),
      forward: async (records) => {
        await producer.put(records.map((record) => ({ partitionKey: record.partitionKey, data: record })));
      },
    };
    const routes = inboundRoutes(app, platform.names.topics);
    const unknown = messages.find((m) => !routes[m.topic]);
    if (unknown) throw new Error(`the ${app} inbound gateway does not take ${unknown.topic}`);
    const rejections = await acceptInboundBatch(
      io,
      (topic) => routes[topic],
      messages.map((m) => ({ topic: m.topic, payload: Buffer.from(m.payload) })),
    );
    return { accepted: messages.length - rejections.length, rejected: rejections.length };
  } finally {
    dynamo.destroy();
    kinesis.destroy();
  }
}
