import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import type { Logger } from 'pino';

export interface Gate {
  isOn(): boolean;
  onChange(listener: (on: boolean) => void): void;
}

export interface InboundMessage {
  readonly topic: string;
  readonly payload: Buffer;
}

export interface InboundSessionOptions {
  /**
   * mqtt://host:port locally, mqtts://host:8883 on Amazon MQ; an active/standby pair is tried in turn (after a lost
   * connection or a failed attempt, the next one), so the session follows the broker's failover.
   */
  readonly brokerUrl: string | readonly string[];
  /** Fixed per region: the broker keeps this session's subscriptions and backlog while we are away. */
  readonly clientId: string;
  readonly topics: readonly string[];
  /**
   * Resolves once every message of the batch is durably accepted (or durably rejected); only then are they
   * acknowledged. Messages of one batch arrive in broker order.
   */
  readonly handleBatch: (messages: InboundMessage[]) => Promise<void>;
  /** The queue routing control: consume only while it is ON. */
  readonly gate: Gate;
  readonly logger: Logger;
  readonly username?: string;
  readonly password?: string;
  /** Most messages handled (and acknowledged) together. Default 250. */
  readonly maxBatch?: number;
  /** How long a partial batch waits for more messages. Default 5 ms. */
  readonly lingerMs?: number;
  readonly keepaliveSeconds?: number;
}

interface Pending extends InboundMessage {
  readonly messageId?: number;
  /** The connection it came in on: it is acknowledged there (only), whether or not our SUBACK has arrived yet. */
  readonly connection: number;
  readonly socket: Socket;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An inbound gateway's persistent MQTT 3.1.1 session (clean=false, fixed client id, QoS 1 subscriptions). It is
 * established at start whatever the gate says, so the broker holds messages for it from then on, and it stays
 * connected (consuming) only while the gate is ON.
 *
 * Speaks MQTT directly (mqtt-packet) rather than through mqtt.js, whose client acknowledges one message at a time:
 * here messages are handled in batches and PUBACKed together only after the batch is durable, so at-least-once
 * delivery costs one safe-store write and one stream put per batch instead of per message. Unacknowledged messages
 * are redelivered by the broker when the session reconnects. Handler failures are retried with backoff, never
 * skipped.
 */
export class InboundSession {
  private socket?: Socket;
  private connection = 0;
  private pending: Pending[] = [];
  private flushing?: Promise<void>;
  private lingerTimer?: NodeJS.Timeout;
  private keepaliveTimer?: NodeJS.Timeout;
  private wanted = false;
  private stopped = false;
  private transition: Promise<void> = Promise.resolve();
  private nextPacketId = 1;
  received = 0;
  acknowledged = 0;
  handlerRetries = 0;

  constructor(private readonly options: InboundSessionOptions) {}

  async start(): Promise<void> {
    // Establish the session and its subscriptions even if we are not to consume yet.
    this.wanted = true;
    await this.connect();
    if (!this.options.gate.isOn()) await this.disconnect();
    this.options.gate.onChange((on) => {
      this.transition = this.transition.then(() =>
        this.stopped ? undefined : on ? this.connect() : this.disconnect(),
      );
    });
  }

  get consuming(): boolean {
    return Boolean(this.socket && !this.socket.destroyed);
  }

  private async connect(): Promise<void> {
    this.wanted = true;
    for (let attempt = 0; !this.socket && this.wanted && !this.stopped; attempt++) {
      try {
        await this.open(this.currentUrl());
      } catch (error) {
        this.failures++;
        this.options.logger.warn({ err: (error as Error).message, attempt }, 'cannot reach the broker; retrying');
        await sleep(Math.min(5_000, 250 * 2 ** attempt));
      }
    }
  }

  private failures = 0;

  /** The broker URL to try: the same one while it works, the next instance after each failed attempt. */
  private currentUrl(): string {
    const urls = typeof this.options.brokerUrl === 'string' ? [this.options.brokerUrl] : this.options.brokerUrl;
    return urls[this.failures % urls.length];
  }

  /** One connection: CONNECT, wait for CONNACK, SUBSCRIBE, wait for SUBACK. */
  private open(brokerUrl: string): Promise<void> {
    const { clientId, topics, username, password, logger } = this.options;
    const url = new URL(brokerUrl);
    const secure = url.protocol === 'mqtts:' || url.protocol === 'ssl:';
    const port = Number(url.port || (secure ? 8883 : 1883));
    const socket: Socket = secure
      ? tlsConnect({ host: url.hostname, port, servername: url.hostname })
      : tcpConnect({ host: url.hostname, port });
    socket.setNoDelay(true);
    const connection = ++this.connection;
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const keepalive = this.options.keepaliveSeconds ?? 30;
    return new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => fail(new Error(`no CONNACK/SUBACK from ${url.host} within 10 s`)), 10_000);
      let ready = false;
      const fail = (error: Error) => {
        clearTimeout(timeout);
        socket.destroy();
        if (!ready) reject(error);
      };
      socket.on('data', (chunk) => parser.parse(chunk));
      socket.on('error', (error) => fail(error));
      socket.on('close', () => {
        clearTimeout(timeout);
        if (this.socket === socket) this.connectionLost(connection);
        if (!ready) reject(new Error(`broker ${url.host} closed the connection`));
      });
      parser.on('error', (error) => fail(error));
      parser.on('packet', (packet: Packet) => {
        switch (packet.cmd) {
          case 'connack':
            if (packet.returnCode)
              return fail(new Error(`broker refused the session (CONNACK return code ${packet.returnCode})`));
            this.write(socket, {
              cmd: 'subscribe',
              messageId: this.packetId(),
              subscriptions: topics.map((topic) => ({ topic, qos: 1 })),
            });
            return;
          case 'suback':
            if (packet.granted.some((qos) => qos === 128))
              return fail(new Error(`broker refused a subscription to ${topics.join(', ')}`));
            ready = true;
            clearTimeout(timeout);
            this.socket = socket;
            this.keepaliveTimer = setInterval(() => this.write(socket, { cmd: 'pingreq' }), (keepalive * 1000) / 2);
            logger.info({ clientId, topics }, 'inbound session connected: consuming');
            resolve();
            return;
          case 'publish':
            // A persistent session gets what the broker held right after CONNACK, before our SUBACK.
            return this.receive(packet, connection, socket);
          default:
            return; // pingresp and acknowledgements of our own packets need no action
        }
      });
      socket.once(secure ? 'secureConnect' : 'connect', () =>
        this.write(socket, {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: false,
          clientId,
          keepalive,
          username,
          password: password === undefined ? undefined : Buffer.from(password),
        }),
      );
    });
  }

  private packetId(): number {
    this.nextPacketId = (this.nextPacketId % 65_535) + 1;
    return this.nextPacketId;
  }

  private write(socket: Socket, packet: Packet): void {
    if (!socket.destroyed) socket.write(mqttPacket.generate(packet));
  }

  private receive(packet: IPublishPacket, connection: number, socket: Socket): void {
    if (connection !== this.connection) return;
    this.received++;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    this.pending.push({
      topic: packet.topic,
      payload,
      messageId: packet.qos > 0 ? packet.messageId : undefined,
      connection,
      socket,
    });
    const max = this.options.maxBatch ?? 250;
    if (this.pending.length >= max) this.scheduleFlush(0);
    else this.scheduleFlush(this.options.lingerMs ?? 5);
  }

  private scheduleFlush(delayMs: number): void {
    if (this.flushing) return; // the running flush picks up what arrived meanwhile
    if (delayMs === 0) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      this.flushing = this.flushLoop();
      return;
    }
    this.lingerTimer ??= setTimeout(() => {
      this.lingerTimer = undefined;
      this.flushing ??= this.flushLoop();
    }, delayMs);
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, this.options.maxBatch ?? 250);
        await this.handleWithRetry(batch);
        // Acknowledge on the connection the messages came in on, if it is still the current one; after a reconnect
        // the broker redelivers them. (Not `this.socket`: it is set only at SUBACK, and messages the broker held for
        // the session arrive before that; acknowledging them nowhere left them in flight at the broker for good.)
        for (const message of batch) {
          if (message.connection !== this.connection || message.socket.destroyed) continue;
          if (message.messageId !== undefined)
            this.write(message.socket, { cmd: 'puback', messageId: message.messageId });
          this.acknowledged++;
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async handleWithRetry(batch: Pending[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.options.handleBatch(batch.map(({ topic, payload }) => ({ topic, payload })));
      } catch (error) {
        this.handlerRetries++;
        this.options.logger.error(
          { err: (error as Error).message, attempt, messages: batch.length },
          'could not accept messages; retrying',
        );
        await sleep(Math.min(5_000, 100 * 2 ** attempt));
      }
    }
  }

  /** The broker went away while we wanted to consume: forget unacknowledged messages (it redelivers) and reconnect. */
  private connectionLost(connection: number): void {
    clearInterval(this.keepaliveTimer);
    this.socket = undefined;
    if (connection === this.connection) this.pending = []; // never acknowledged: the broker sends them again
    if (this.wanted && !this.stopped) {
      this.options.logger.warn('broker connection lost; reconnecting');
      this.transition = this.transition.then(() => this.connect());
    }
  }

  private async disconnect(): Promise<void> {
    this.wanted = false;
    const socket = this.socket;
    if (!socket) return;
    // Finish and acknowledge what arrived; the rest stays queued at the broker for the next consumer.
    socket.pause();
    if (this.pending.length) this.scheduleFlush(0);
    await this.flushing;
    this.socket = undefined;
    clearInterval(this.keepaliveTimer);
    this.write(socket, { cmd: 'disconnect' });
    await new Promise<void>((resolve) => socket.end(() => resolve()));
    socket.destroy();
    this.options.logger.info('inbound session disconnected: messages are held by the broker');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.transition;
    await this.disconnect();
  }
}
