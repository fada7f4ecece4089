import { createServer, type Server } from 'node:net';
import mqtt from 'mqtt';
import pino from 'pino';
import { startBrokerEngine } from '../../src/infra/local/engines/broker-engine.js';
import type { StartedEngine } from '../../src/infra/local/engines/server-util.js';
import { InboundSession } from '../../src/services/messaging/inbound-session.js';
import { BrokerPublisher } from '../../src/services/messaging/publisher.js';
import { eventually } from '../helpers/eventually.js';

const logger = pino({ level: 'silent' });
const TOPIC = 'tm/out/confirmations';

/** A port nothing listens on: the "active" instance of a broker that has failed over to its standby. */
async function deadPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The broker sessions of ECS tasks, on the real local broker (aedes): client ids made from each task's worker id
 * keep two tasks of one service from taking each other's connection over, and a region's active/standby pair of
 * broker URLs is followed to whichever instance answers.
 */
describe('broker sessions of AWS tasks on the real broker', () => {
  let broker: StartedEngine;
  let live: string;
  let dead: string;
  beforeAll(async () => {
    broker = await startBrokerEngine({ port: 0, adminPort: 0 });
    live = `mqtt://127.0.0.1:${broker.ports[0]}`;
    dead = `mqtt://127.0.0.1:${await deadPort()}`;
  });
  afterAll(async () => {
    await broker.close();
  });

  it('two tasks of one outbound gateway (one process id, distinct worker ids) both stay connected', async () => {
    const received: string[] = [];
    const listener = await mqtt.connectAsync(live, { clientId: 'listener', clean: true });
    await listener.subscribeAsync(TOPIC, { qos: 1 });
    listener.on('message', (_t, payload) => received.push(payload.toString()));
    const tasks = ['tm-outbound-gateway-us-east-1-aaaa1111', 'tm-outbound-gateway-us-east-1-bbbb2222'].map(
      (workerId) =>
        new BrokerPublisher({ brokerUrls: { 'us-east-1': live }, clientIdPrefix: 'trade-out', workerId, logger }),
    );
    try {
      // Alternating publishes: with one client id each connect would close the other's connection.
      for (let round = 0; round < 5; round++) {
        await tasks[0].publish('us-east-1', TOPIC, [`a${round}`]);
        await tasks[1].publish('us-east-1', TOPIC, [`b${round}`]);
      }
      expect(tasks.map((t) => t.isConnected('us-east-1'))).toEqual([true, true]);
      await eventually(() => received.length === 10, { what: 'all ten messages at the listener' });
      expect(received.sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4']);
    } finally {
      await Promise.all(tasks.map((t) => t.close()));
      await listener.endAsync(true);
    }
  });

  it('a publisher and an inbound session reach the standby instance when the active one does not answer', async () => {
    const publisher = new BrokerPublisher({
      brokerUrls: { 'us-east-1': [dead, live] },
      clientIdPrefix: 'failover',
      workerId: 'w1',
      logger,
      timeoutMs: 10_000,
    });
    const batches: string[] = [];
    const session = new InboundSession({
      brokerUrl: [dead, live],
      clientId: 'tm-inbound-us-east-1-failover',
      topics: ['tm/in/trades'],
      gate: { isOn: () => true, onChange: () => undefined },
      logger,
      handleBatch: async (messages) => void batches.push(...messages.map((m) => m.payload.toString())),
    });
    try {
      await session.start();
      expect(session.consuming).toBe(true);
      await publisher.publish('us-east-1', 'tm/in/trades', ['t1', 't2']);
      await eventually(() => batches.length === 2, { what: 'both messages through the standby' });
      expect(batches).toEqual(['t1', 't2']);
    } finally {
      await session.stop();
      await publisher.close();
    }
  });
});
