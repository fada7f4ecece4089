import { Agent } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LOCAL_CREDENTIALS, LOCAL_SIGNER } from '../platform/clients.js';

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
  // Middleware built once per command type, as for every client of ours (see platform/clients.ts).
  if (!endpoint) return new DynamoDBClient({ region, requestHandler, maxAttempts: 3, cacheMiddleware: true });
  return new DynamoDBClient({
    region,
    cacheMiddleware: true,
    endpoint,
    credentials: LOCAL_CREDENTIALS,
    signer: LOCAL_SIGNER,
    requestHandler,
    maxAttempts: 2,
  });
}
