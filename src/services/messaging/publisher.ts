import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';

export interface PublisherOptions {
  /**
   * Every region's broker: one URL, or an active/standby pair (Amazon MQ), tried in turn when the connection is lost.
   */
  readonly brokerUrls: Readonly<Record<string, string | readonly string[]>>;
  readonly clientIdPrefix: string;
  /**
   * Makes the client ids of this process unique among its siblings (TSR_WORKER_ID): two clients with one id take
   * each other's connection over. Default: the process id (unique on one machine only; 1 in every container).
   */
  readonly workerId?: string;
  readonly logger: Logger;
  readonly username?: string;
  readonly password?: string;
  /** How long one publish may wait for the broker's PUBACK before it counts as failed. */
  readonly timeoutMs?: number;
}

/** A publisher's MQTT client id for one region's broker. */
export function publisherClientId(prefix: string, region: string, workerId: string = String(process.pid)): string {
  return `${prefix}-${region}-${workerId}`;
}

/**
 * mqtt.js connection options for one broker or an active/standby pair: with several `servers`, mqtt.js moves to
 * the next one on each reconnect, so a client follows Amazon MQ's failover to the standby instance.
 */
export function brokerServers(urls: string | readonly string[]): Pick<mqtt.IClientOptions, 'servers'> {
  const list = typeof urls === 'string' ? [urls] : urls;
  return {
    servers: list.map((url) => {
      const parsed = new URL(url);
      const scheme = parsed.protocol.replace(/:$/, '');
      const protocol = (scheme === 'tls' ? 'mqtts' : scheme) as 'mqtt' | 'mqtts' | 'ws' | 'wss' | 'tcp' | 'ssl';
      const secure = protocol === 'mqtts' || protocol === 'ssl' || protocol === 'wss';
      return { host: parsed.hostname, port: Number(parsed.port || (secure ? 8883 : 1883)), protocol };
    }),
  };
}

/**
 * Publishes with QoS 1 to any region's broker and resolves only when the broker acknowledged every message, so a
 * caller can checkpoint after it. A broker that does not answer in time fails the call; the caller retries.
 */
export class BrokerPublisher {
  private readonly clients = new Map<string, MqttClient>();
  /** Per region: when its client was created, and whether it ever connected. */
  private readonly since = new Map<string, { createdAt: number; connected: boolean }>();

  constructor(private readonly options: PublisherOptions) {}

  private client(region: string): MqttClient {
    const existing = this.clients.get(region);
    if (existing) return existing;
    const urls = this.options.brokerUrls[region];
    if (!urls?.length) throw new Error(`no broker URL for region ${region}`);
    const client = mqtt.connect({
      ...brokerServers(urls),
      clientId: publisherClientId(this.options.clientIdPrefix, region, this.options.workerId),
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 1_000,
      connectTimeout: 5_000,
      username: this.options.username,
      password: this.options.password,
    });
    const since = { createdAt: Date.now(), connected: false };
    this.since.set(region, since);
    client.on('connect', () => (since.connected = true));
    client.on('error', (error) =>
      this.options.logger.warn({ region, err: error.message }, 'publisher connection error'),
    );
    this.clients.set(region, client);
    return client;
  }

  /**
   * True while connected; false once known down (it was connected and lost the connection, or it has not connected
   * within a publish timeout); undefined before the first publish to the region or while first connecting.
   */
  isConnected(region: string): boolean | undefined {
    const client = this.clients.get(region);
    const since = this.since.get(region);
    if (!client || !since) return undefined;
    if (client.connected) return true;
    if (since.connected || Date.now() - since.createdAt > (this.options.timeoutMs ?? 5_000)) return false;
    return undefined;
  }

  async publish(region: string, topic: string, messages: readonly (string | Buffer)[]): Promise<void> {
    if (!messages.length) return;
    const client = this.client(region);
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`broker in ${region} did not acknowledge within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(messages.map((m) => client.publishAsync(topic, m, { qos: 1 }))), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.endAsync(true)));
    this.clients.clear();
    this.since.clear();
  }
}
