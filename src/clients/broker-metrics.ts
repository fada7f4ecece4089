/**
 * The metric an inbound gateway on AWS publishes for its persistent session (services/messaging/broker-backlog.ts)
 * and the AWS platform reads (wait.drained): messages the broker holds for the session, read from the broker's
 * JMX. One place, so the writer and the reader cannot drift apart.
 */
export const BROKER_PENDING_METRIC = {
  namespace: 'TSR',
  name: 'BrokerPending',
  dimensions: ['Environment', 'App', 'Region'] as const,
} as const;
