import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { Aedes } from 'aedes';
import { bindPort, closeServer, sendJson } from '../http-server.js';
import type { StartedEngine } from './server-util.js';

export interface BrokerEngineOptions {
  /** MQTT port. */
  readonly port: number;
  /** Admin HTTP port: health and per-session backlog, read from the broker's own persistence. */
  readonly adminPort: number;
  /** When `port` is taken, bind any free port instead (the one bound is reported); otherwise fail naming it. */
  readonly anyPortIfTaken?: boolean;
}

/** Messages queued for a persistent session (QoS 1, clean=false) and not yet acknowledged by its client. */
export async function sessionBacklog(broker: Aedes, clientId: string): Promise<number> {
  let count = 0;
  const persistence = (broker as unknown as { persistence: unknown }).persistence as {
    outgoingStream(client: { id: string }): AsyncIterable<unknown>;
  };
  for await (const packet of persistence.outgoingStream({ id: clientId })) if (packet) count++;
  return count;
}

/** One region's message broker: aedes speaking MQTT 3.1.1/5 on 127.0.0.1. */
export async function startBrokerEngine(options: BrokerEngineOptions): Promise<StartedEngine> {
  const broker = await Aedes.createBroker();
  const mqttServer = createNetServer(broker.handle);
  const admin = createHttpServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, body: unknown) => sendJson(response, status, body);
    if (url.pathname === '/health') return reply(200, { ok: true, clients: broker.connectedClients });
    const clientId = url.searchParams.get('clientId');
    if (url.pathname === '/backlog' && clientId) {
      sessionBacklog(broker, clientId).then(
        (backlog) => reply(200, { clientId, backlog }),
        (error: Error) => reply(500, { error: error.message }),
      );
      return;
    }
    reply(404, { error: 'use GET /health or GET /backlog?clientId=<id>' });
  });
  const mqttPort = await bindPort(mqttServer, options.port, options.anyPortIfTaken);
  const adminPort = await bindPort(admin, options.adminPort, options.anyPortIfTaken);
  return {
    endpoint: `mqtt://127.0.0.1:${mqttPort}`,
    ports: [mqttPort, adminPort],
    close: async () => {
      await Promise.all([closeServer(mqttServer), closeServer(admin)]);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
