import {
  durableSubscriptionPattern,
  jolokiaUrl,
  subscribersPageUrl,
  pendingMetricLine,
  readSessionBacklog,
} from '../../src/services/messaging/broker-backlog.js';

const URLS = ['mqtts://b-1.mq.us-east-1.amazonaws.com:8883', 'mqtts://b-2.mq.us-east-1.amazonaws.com:8883'];
const MBEAN = (topic: string, consumer: string) =>
  `org.apache.activemq:brokerName=b,clientId=tm-inbound-us-east-1,consumerId=${consumer},destinationName=${topic},destinationType=Topic,endpoint=Consumer,type=Broker`;

type Call = { url: string; body?: { type: string; mbean: string; attribute: string[] }; auth: string };

function fakeFetch(answers: Record<string, { status: number; body?: unknown } | Error>) {
  const calls: Call[] = [];
  const fetch = async (url: string, init: RequestInit) => {
    calls.push({
      url,
      body: init.body ? (JSON.parse(String(init.body)) as Call['body']) : undefined,
      auth: (init.headers as Record<string, string>).authorization,
    });
    const answer = answers[url] ?? { status: 404 };
    if (answer instanceof Error) throw answer;
    return {
      ok: answer.status < 400,
      status: answer.status,
      json: async () => answer.body,
      text: async () => String(answer.body),
    };
  };
  return { fetch, calls };
}

test('the Jolokia API of each broker instance is on its console port, over HTTPS', () => {
  expect(jolokiaUrl(URLS[0])).toBe('https://b-1.mq.us-east-1.amazonaws.com:8162/api/jolokia/');
});

test("the session's pending count is the sum of its durable subscriptions' PendingQueueSize, read from the active instance", async () => {
  const { fetch, calls } = fakeFetch({
    // The standby instance's console does not answer.
    [jolokiaUrl(URLS[0])]: new Error('connect ECONNREFUSED'),
    [jolokiaUrl(URLS[1])]: {
      status: 200,
      body: {
        status: 200,
        value: {
          [MBEAN('tm.in.trades', 'Durable(x)')]: { PendingQueueSize: 5, DestinationName: 'tm.in.trades' },
          [MBEAN('tm.in.settlements', 'Durable(y)')]: { PendingQueueSize: 2, DestinationName: 'tm.in.settlements' },
        },
      },
    },
  });
  const backlog = await readSessionBacklog({
    brokerUrls: URLS,
    clientId: 'tm-inbound-us-east-1',
    username: 'tsr',
    password: 'secret',
    fetch,
  });
  expect(backlog).toEqual({
    pending: 7,
    byTopic: { 'tm.in.trades': 5, 'tm.in.settlements': 2 },
    instance: jolokiaUrl(URLS[1]),
  });
  expect(calls.map((c) => c.url)).toEqual(URLS.map(jolokiaUrl));
  expect(calls[1].body).toEqual({
    type: 'read',
    mbean: durableSubscriptionPattern('tm-inbound-us-east-1'),
    attribute: ['PendingQueueSize', 'DestinationName'],
  });
  expect(calls[1].body?.mbean).toContain('endpoint=Consumer,clientId=tm-inbound-us-east-1,');
  expect(calls[1].auth).toBe(`Basic ${Buffer.from('tsr:secret').toString('base64')}`);
});

test('no subscription, a refusal or no answer is an error, never a zero', async () => {
  const { fetch } = fakeFetch({
    [jolokiaUrl(URLS[0])]: { status: 200, body: { status: 404, error: 'javax.management.InstanceNotFoundException' } },
    [jolokiaUrl(URLS[1])]: { status: 401 },
  });
  const backlog = await readSessionBacklog({ brokerUrls: URLS, clientId: 'c', username: 'u', password: 'p', fetch });
  expect(backlog).toEqual({
    error: expect.stringMatching(/InstanceNotFoundException.*HTTP 401.*subscribers\.jsp: HTTP 404/),
  });
  const empty = fakeFetch({
    [jolokiaUrl(URLS[0])]: { status: 200, body: { status: 200, value: {} } },
    [jolokiaUrl(URLS[1])]: new Error('timeout'),
  });
  const none = await readSessionBacklog({
    brokerUrls: URLS,
    clientId: 'c',
    username: 'u',
    password: 'p',
    fetch: empty.fetch,
  });
  expect(none).toEqual({ error: expect.stringMatching(/no durable subscription of c/) });
});

test('the log line is CloudWatch embedded metric format: a 1-second metric with the dimensions the platform reads', () => {
  const line = pendingMetricLine({ environment: 'dev', app: 'trade', region: 'us-east-1' }, 3, 1_700_000_000_000);
  expect(line).toEqual({
    _aws: {
      Timestamp: 1_700_000_000_000,
      CloudWatchMetrics: [
        {
          Namespace: 'TSR',
          Dimensions: [['Environment', 'App', 'Region']],
          Metrics: [{ Name: 'BrokerPending', Unit: 'Count', StorageResolution: 1 }],
        },
      ],
    },
    Environment: 'dev',
    App: 'trade',
    Region: 'us-east-1',
    BrokerPending: 3,
  });
});

test('a console without Jolokia: the durable subscribers page gives the same pending count', async () => {
  const page = `<subscribers>
<subscriber clientId="tm-inbound-us-east-1" subscriptionName="AT_LEAST_ONCE:tm/in/trades" connectionId="c1" destinationName="tm.in.trades" selector="" active="no">
  <stats pendingQueueSize="12" dispatchedQueueSize="0" dispatchedCounter="3" enqueueCounter="15" dequeueCounter="3"/>
</subscriber>
<subscriber clientId="st-inbound-us-east-1" subscriptionName="AT_LEAST_ONCE:st/in/settlements" connectionId="c2" destinationName="st.in.settlements" selector="" active="yes">
  <stats pendingQueueSize="99" dispatchedQueueSize="0" dispatchedCounter="0" enqueueCounter="0" dequeueCounter="0"/>
</subscriber>
</subscribers>`;
  const { fetch, calls } = fakeFetch({
    [jolokiaUrl(URLS[0])]: { status: 404 },
    'https://b-1.mq.us-east-1.amazonaws.com:8162/admin/xml/subscribers.jsp': { status: 200, body: page },
  });
  const backlog = await readSessionBacklog({
    brokerUrls: URLS.slice(0, 1),
    clientId: 'tm-inbound-us-east-1',
    username: 'u',
    password: 'p',
    fetch,
  });
  expect(backlog).toMatchObject({ pending: 12, byTopic: { 'tm.in.trades': 12 } });
  expect(calls.map((c) => c.url)).toEqual([jolokiaUrl(URLS[0]), subscribersPageUrl(URLS[0])]);
});
