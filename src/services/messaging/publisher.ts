import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';

export interface PublisherOptions {
  /** Every region's broker URL. */
  readonly brokerUrls: Readonly<Record<string, string>>;
  readonly clientIdPrefix: string;
  readonly logger: Logger;
  readonly username?: string;
  readonly password?: string;
  /** How long one publish may wait for the broker's PUBACK before it counts as failed. */
  readonly timeoutMs?: number;
}

/**
 * Publishes with QoS 1 to any region's broker and resolves only when the broker acknowledged every message, so a
 * caller can checkpoint after it. A broker that does not answer in time fails the call; the caller retries.
 */
export class BrokerPublisher {
  private readonly clients = new Map<string, MqttClient>();

  constructor(private readonly options: PublisherOptions) {}

  private client(region: string): MqttClient {
    const existing = this.clients.get(region);
    if (existing) return existing;
    const url = this.options.brokerUrls[region];
    if (!url) throw new Error(`no broker URL for region ${region}`);
    const client = mqtt.connect(url, {
      clientId: `${this.options.clientIdPrefix}-${region}-${process.pid}`,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 1_000,
      connectTimeout: 5_000,
      username: this.options.username,
      password: this.options.password,
    });
    client.on('error', (error) =>
      this.options.logger.warn({ region, err: error.message }, 'publisher connection error'),
    );
    this.clients.set(region, client);
    return client;
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
  }
}
