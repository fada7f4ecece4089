import pino from 'pino';
import { startBrokerEngine } from '../../src/infra/local/engines/broker-engine.js';
import type { StartedEngine } from '../../src/infra/local/engines/server-util.js';
import { InboundSession } from '../../src/services/messaging/inbound-session.js';
import { BrokerPublisher } from '../../src/services/messaging/publisher.js';

const TOPIC = 'tm/in/trades';
const CLIENT_ID = 'tm-inbound-test';

/** A gate the test opens by hand, as the queue routing control would. */
function manualGate() {
  let on = false;
  const listeners: ((on: boolean) => void)[] = [];
  return {
    gate: { isOn: () => on, onChange: (listener: (on: boolean) => void) => void listeners.push(listener) },
    open: () => {
      on = true;
      for (const listener of listeners) listener(true);
    },
  };
}

/**
 * Against the real local broker (aedes): what the broker held for the gateway's persistent session while its queue
 * was closed arrives right after CONNACK, before the SUBACK. It must be acknowledged once accepted, or it stays in
 * flight at the broker for good (and a rotation's drain wait never sees the backlog reach zero).
 */
describe('InboundSession on the real broker', () => {
  let broker: StartedEngine;
  let admin: string;

  beforeAll(async () => {
    broker = await startBrokerEngine({ port: 0, adminPort: 0 });
    admin = `http://127.0.0.1:${broker.ports[1]}`;
  });

  afterAll(async () => {
    await broker.close();
  });

  const backlog = async () =>
    ((await (await fetch(`${admin}/backlog?clientId=${CLIENT_ID}`)).json()) as { backlog: number }).backlog;

  it('accepts and acknowledges what the broker held for the session while the gate was closed', async () => {
    const accepted: string[] = [];
    const { gate, open } = manualGate();
    const session = new InboundSession({
      brokerUrl: broker.endpoint,
      clientId: CLIENT_ID,
      topics: [TOPIC],
      handleBatch: async (messages) => {
        for (const m of messages) accepted.push(m.payload.toString('utf8'));
      },
      gate,
      logger: pino({ level: 'silent' }),
      lingerMs: 1,
    });
    // Gate closed: the session is established (the broker keeps messages for it) and then disconnected.
    await session.start();
    const publisher = new BrokerPublisher({
      brokerUrls: { local: broker.endpoint },
      clientIdPrefix: 'sender',
      logger: pino({ level: 'silent' }),
    });
    try {
      await publisher.publish('local', TOPIC, ['{"held":1}', '{"held":2}']);
      expect(await backlog()).toBe(2);

      open();
      const deadline = Date.now() + 5_000;
      while ((accepted.length < 2 || (await backlog()) > 0) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(accepted.sort()).toEqual(['{"held":1}', '{"held":2}']);
      expect(await backlog()).toBe(0);
      expect(session.acknowledged).toBe(2);
    } finally {
      await session.stop();
      await publisher.close();
    }
  });
});
