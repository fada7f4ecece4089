/**
 * What the broker holds for an inbound gateway's persistent session, read from the broker itself (Amazon MQ for
 * ActiveMQ) and published as a CloudWatch metric, so `tsr` can tell from outside the VPC whether a region is drained.
 *
 * Why this measure: ActiveMQ maps an MQTT session with clean=false and QoS 1 subscriptions to JMS durable topic
 * subscriptions (its default MQTT subscription strategy); messages held for the session are the durable
 * subscriptions' pending messages, not a queue. Amazon MQ's CloudWatch per-destination metrics give QueueSize for
 * queues only, and per broker just a count of inactive durable subscribers, so no CloudWatch metric counts what a
 * durable subscription holds. The broker's JMX does (`PendingQueueSize` of each durable subscription MBean), reachable
 * through the Jolokia REST API of its web console (port 8162, HTTPS) — only inside the VPC, where the gateway runs.
 * (Where the console has no Jolokia API, its durable subscribers page, `/admin/xml/subscribers.jsp`, gives the same
 * `pendingQueueSize`.) The gateway reads it every few seconds and logs it in CloudWatch embedded metric format (EMF): CloudWatch Logs turns
 * the line into a high-resolution metric (TSR/BrokerPending, dimensions Environment, App, Region), with no
 * PutMetricData permission and no agent.
 */

import { BROKER_PENDING_METRIC } from '../../clients/broker-metrics.js';

export { BROKER_PENDING_METRIC };

/** Amazon MQ serves the ActiveMQ web console (and its Jolokia API) on port 8162 of each broker instance. */
const CONSOLE_PORT = 8162;

/** The Jolokia endpoint of the broker instance behind an `mqtts://host:8883` (or `ssl://`) URL. */
export function jolokiaUrl(brokerUrl: string): string {
  const url = new URL(brokerUrl);
  return `https://${url.hostname}:${CONSOLE_PORT}/api/jolokia/`;
}

/**
 * The MBeans of every durable subscription of one client id, active or not, on any topic: ActiveMQ registers each
 * under its destination with `endpoint=Consumer,clientId=<id>` (the MQTT client id is the JMS client id).
 */
export function durableSubscriptionPattern(clientId: string): string {
  return (
    'org.apache.activemq:type=Broker,brokerName=*,destinationType=Topic,destinationName=*,' +
    `endpoint=Consumer,clientId=${clientId},consumerId=*`
  );
}

export interface SessionBacklog {
  /** Messages the broker holds for the session, summed over its subscriptions. */
  readonly pending: number;
  /** Per topic (ActiveMQ's dotted name). */
  readonly byTopic: Readonly<Record<string, number>>;
  readonly instance: string;
}

type Fetch = (url: string, init: RequestInit) => Promise<Pick<Response, 'ok' | 'status' | 'json' | 'text'>>;

/**
 * Reads the pending count of a session's durable subscriptions from the active broker instance. The standby
 * instance's console does not answer, so each instance is tried in turn; undefined when none answers or the session
 * has no subscription there (never zero for "could not tell").
 */
export async function readSessionBacklog(options: {
  readonly brokerUrls: readonly string[];
  readonly clientId: string;
  readonly username: string;
  readonly password: string;
  readonly fetch?: Fetch;
  readonly timeoutMs?: number;
}): Promise<SessionBacklog | { readonly error: string }> {
  const doFetch = options.fetch ?? (fetch as Fetch);
  const auth = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
  const problems: string[] = [];
  for (const brokerUrl of options.brokerUrls) {
    const instance = jolokiaUrl(brokerUrl);
    try {
      const response = await doFetch(instance, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'read',
          mbean: durableSubscriptionPattern(options.clientId),
          attribute: ['PendingQueueSize', 'DestinationName'],
        }),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
      if (!response.ok) {
        // A console without the Jolokia API: its subscribers page carries the same figure.
        const fromPage = await readSubscribersPage(doFetch, brokerUrl, auth, options.clientId, options.timeoutMs);
        if ('pending' in fromPage) return fromPage;
        problems.push(`${instance}: HTTP ${response.status}; ${fromPage.error}`);
        continue;
      }
      const answer = (await response.json()) as { status?: number; error?: string; value?: unknown };
      if (answer.status !== 200 || !answer.value || typeof answer.value !== 'object') {
        problems.push(`${instance}: ${answer.error ?? `Jolokia status ${answer.status}`}`);
        continue;
      }
      const byTopic: Record<string, number> = {};
      for (const attributes of Object.values(answer.value as Record<string, unknown>)) {
        const a = attributes as { PendingQueueSize?: unknown; DestinationName?: unknown };
        if (typeof a.PendingQueueSize !== 'number') continue;
        const topic = typeof a.DestinationName === 'string' ? a.DestinationName : '?';
        byTopic[topic] = (byTopic[topic] ?? 0) + a.PendingQueueSize;
      }
      if (Object.keys(byTopic).length === 0) {
        problems.push(`${instance}: no durable subscription of ${options.clientId}`);
        continue;
      }
      return { pending: Object.values(byTopic).reduce((n, v) => n + v, 0), byTopic, instance };
    } catch (error) {
      problems.push(`${instance}: ${(error as Error).message}`);
    }
  }
  return { error: problems.join('; ') || 'no broker URL' };
}

/** The web console's durable subscribers page (`/admin/xml/subscribers.jsp`) of the instance behind `brokerUrl`. */
export function subscribersPageUrl(brokerUrl: string): string {
  return `https://${new URL(brokerUrl).hostname}:${CONSOLE_PORT}/admin/xml/subscribers.jsp`;
}

/** The pending count of `clientId`'s durable subscriptions, from the subscribers page's XML. */
export function parseSubscribersPage(xml: string, clientId: string): Omit<SessionBacklog, 'instance'> | undefined {
  const byTopic: Record<string, number> = {};
  for (const match of xml.matchAll(/<subscriber\s([^>]*)>([\s\S]*?)<\/subscriber>/g)) {
    const attributes = (text: string) =>
      Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const subscriber = attributes(match[1]);
    if (subscriber.clientId !== clientId) continue;
    const stats = attributes(/<stats\s([^>]*)\/?>/.exec(match[2])?.[1] ?? '');
    const pending = Number(stats.pendingQueueSize);
    if (!Number.isFinite(pending)) continue;
    const topic = subscriber.destinationName ?? '?';
    byTopic[topic] = (byTopic[topic] ?? 0) + pending;
  }
  if (Object.keys(byTopic).length === 0) return undefined;
  return { pending: Object.values(byTopic).reduce((n, v) => n + v, 0), byTopic };
}

async function readSubscribersPage(
  doFetch: Fetch,
  brokerUrl: string,
  auth: string,
  clientId: string,
  timeoutMs = 5_000,
): Promise<SessionBacklog | { readonly error: string }> {
  const url = subscribersPageUrl(brokerUrl);
  try {
    const response = await doFetch(url, {
      method: 'GET',
      headers: { authorization: auth },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) return { error: `${url}: HTTP ${response.status}` };
    const found = parseSubscribersPage(await response.text(), clientId);
    return found ? { ...found, instance: url } : { error: `${url}: no durable subscription of ${clientId}` };
  } catch (error) {
    return { error: `${url}: ${(error as Error).message}` };
  }
}

/** One log line in CloudWatch embedded metric format: CloudWatch Logs extracts the metric from it. */
export function pendingMetricLine(
  identity: { readonly environment: string; readonly app: string; readonly region: string },
  pending: number,
  at = Date.now(),
): Record<string, unknown> {
  return {
    _aws: {
      Timestamp: at,
      CloudWatchMetrics: [
        {
          Namespace: BROKER_PENDING_METRIC.namespace,
          Dimensions: [[...BROKER_PENDING_METRIC.dimensions]],
          // High resolution: wait.drained polls every few seconds, a one-minute metric would answer a minute late.
          Metrics: [{ Name: BROKER_PENDING_METRIC.name, Unit: 'Count', StorageResolution: 1 }],
        },
      ],
    },
    Environment: identity.environment,
    App: identity.app,
    Region: identity.region,
    [BROKER_PENDING_METRIC.name]: pending,
  };
}

/**
 * Reads the session's backlog every `intervalMs` and hands each reading to `publish` (the gateway logs it as EMF);
 * a failed read is reported and publishes nothing, so the platform sees no fresh datapoint rather than a zero.
 */
export function startBacklogReporter(options: {
  readonly read: () => ReturnType<typeof readSessionBacklog>;
  readonly publish: (backlog: SessionBacklog) => void;
  readonly onError: (error: string) => void;
  readonly intervalMs?: number;
}): { stop(): void; last(): SessionBacklog | { readonly error: string } | undefined } {
  let last: SessionBacklog | { readonly error: string } | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    last = await options.read();
    if (stopped) return;
    if ('error' in last) options.onError(last.error);
    else options.publish(last);
    timer = setTimeout(() => void tick(), options.intervalMs ?? 5_000);
    timer.unref();
  };
  void tick();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    last: () => last,
  };
}
