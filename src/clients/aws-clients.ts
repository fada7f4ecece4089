import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';

/** Local engines accept any credentials; these never reach AWS. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/**
 * Signs nothing: the local engines check only that an Authorization header of the SigV4 shape and a date are
 * present, never the signature. Real SigV4 (a body hash and HMACs per call) was about a third of a busy service's
 * CPU on the local platform. Never used against AWS: only clients with a local endpoint get it.
 */
export const LOCAL_SIGNER = {
  async sign<T extends { headers: Record<string, string> }>(
    request: T,
    options?: { signingDate?: Date | number | string; signingRegion?: string; signingService?: string },
  ): Promise<T> {
    const date = new Date(options?.signingDate ?? Date.now()).toISOString().replace(/[-:]|\.\d{3}/g, '');
    const scope = `${date.slice(0, 8)}/${options?.signingRegion ?? 'local'}/${options?.signingService ?? 'local'}`;
    request.headers['x-amz-date'] = date;
    request.headers.authorization = `AWS4-HMAC-SHA256 Credential=local/${scope}/aws4_request, SignedHeaders=host, Signature=0`;
    return request;
  },
};

export interface ClientTarget {
  readonly region: string;
  /** Endpoint override for local engines; undefined means the AWS regional endpoint and default credentials. */
  readonly endpoint?: string;
}

/** Options for any of our SDK clients: AWS defaults, or a local engine's endpoint without credentials or signing. */
export function clientOptions(target: ClientTarget) {
  // The middleware chain is built once per command type instead of on every send (about a fifth of a call's CPU);
  // safe because nothing here changes a client's middleware stack after its first request.
  const common = { region: target.region, cacheMiddleware: true };
  if (!target.endpoint) return common;
  return {
    ...common,
    endpoint: target.endpoint,
    credentials: LOCAL_CREDENTIALS,
    signer: LOCAL_SIGNER,
    // kinesalite and dynalite speak HTTP/1.1 only; keep-alive avoids a TCP handshake per call.
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }) }),
    maxAttempts: 3,
  };
}

export function kinesisClient(target: ClientTarget): KinesisClient {
  return new KinesisClient(clientOptions(target));
}

export function dynamoClient(target: ClientTarget): DynamoDBClient {
  return new DynamoDBClient(clientOptions(target));
}
