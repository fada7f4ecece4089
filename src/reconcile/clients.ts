import { Agent } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { clientOptions } from '../clients/aws-clients.js';

/**
 * A DynamoDB client for reconciliation: like the services' one, but with connect and request timeouts, so an engine
 * that stops answering mid-run fails its comparisons (reported as unchecked) instead of hanging the run.
 */
export function reconcileDynamoClient(region: string, endpoint?: string): DynamoDBClient {
  const requestHandler = new NodeHttpHandler({
    httpAgent: endpoint ? new Agent({ keepAlive: true, maxSockets: 64 }) : undefined,
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
  });
  return new DynamoDBClient({ ...clientOptions({ region, endpoint }), requestHandler, maxAttempts: endpoint ? 2 : 3 });
}
