import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';

/** Local engines accept any credentials; these never reach AWS. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface ClientTarget {
  readonly region: string;
  /** Endpoint override for local engines; undefined means the AWS regional endpoint and default credentials. */
  readonly endpoint?: string;
}

function localOptions(target: ClientTarget) {
  if (!target.endpoint) return { region: target.region };
  return {
    region: target.region,
    endpoint: target.endpoint,
    credentials: LOCAL_CREDENTIALS,
    // kinesalite and dynalite speak HTTP/1.1 only; keep-alive avoids a TCP handshake per call.
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) }),
    maxAttempts: 3,
  };
}

export function kinesisClient(target: ClientTarget): KinesisClient {
  return new KinesisClient(localOptions(target));
}

export function dynamoClient(target: ClientTarget): DynamoDBClient {
  return new DynamoDBClient(localOptions(target));
}
