import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';

export interface Gate {
  isOn(): boolean;
  onChange(listener: (on: boolean) => void): void;
}

export interface InboundSessionOptions {
  readonly brokerUrl: string;
  /** Fixed per region: the broker keeps this session's subscriptions and backlog while we are away. */
  readonly clientId: string;
  readonly topics: readonly string[];
  /** Resolves once the message is durably accepted (or durably rejected); only then is it acknowledged. */
  readonly handle: (topic: string, payload: Buffer) => Promise<void>;
  /** The queue routing control: consume only while it is ON. */
  readonly gate: Gate;
  readonly logger: Logger;
  readonly username?: string;
  readonly password?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An inbound gateway's persistent MQTT session (QoS 1, clean=false, fixed client id). It is established at start
 * whatever the gate says, so the broker holds messages for it from then on; it stays connected, consuming, only
 * while the gate is ON. A message is acknowledged only after `handle` resolved: a crash before that means the broker
 * delivers it again (at least once). Infrastructure failures are retried with backoff, never skipped.
 */
export class InboundSession {
  private client?: MqttClient;
  private stopped = false;
  private transition: Promise<void> = Promise.resolve();
  received = 0;
  acknowledged = 0;
  handlerRetries = 0;

  constructor(private readonly options: InboundSessionOptions) {}

  async start(): Promise<void> {
    // Establish the session and its subscriptions even if we are not to consume yet.
    await this.connect();
    if (!this.options.gate.isOn()) await this.disconnect();
    this.options.gate.onChange((on) => {
      this.transition = this.transition.then(() =>
        this.stopped ? undefined : on ? this.connect() : this.disconnect(),
      );
    });
  }

  get consuming(): boolean {
    return Boolean(this.client?.connected);
  }

  private async connect(): Promise<void> {
    if (this.client) return;
    const { brokerUrl, clientId, topics, username, password, logger } = this.options;
    const client = mqtt.connect(brokerUrl, {
      clientId,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 1_000,
      connectTimeout: 5_000,
      username,
      password,
    });
    client.handleMessage = (packet, done) => {
      this.received++;
      void this.handleWithRetry(packet.topic, packet.payload as Buffer).then(() => {
        this.acknowledged++;
        done();
      });
    };
    client.on('error', (error) => logger.warn({ err: error.message }, 'broker connection error'));
    this.client = client;
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.subscribeAsync(
      topics.map((topic) => topic),
      { qos: 1 },
    );
    logger.info({ clientId, topics }, 'inbound session connected: consuming');
  }

  private async handleWithRetry(topic: string, payload: Buffer): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.options.handle(topic, payload);
      } catch (error) {
        this.handlerRetries++;
        this.options.logger.error({ err: (error as Error).message, attempt }, 'could not accept a message; retrying');
        await sleep(Math.min(5_000, 100 * 2 ** attempt));
      }
    }
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    // A graceful end waits for the message in hand to be acknowledged; the rest stays queued at the broker.
    await client.endAsync(false);
    this.options.logger.info('inbound session disconnected: messages are held by the broker');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.transition;
    await this.disconnect();
  }
}
