import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AppName } from '../config/apps.js';
import { inboundClientId, type ResourceNames } from '../config/model.js';
import { ExitCode, UserError } from '../errors.js';
import { readState, type LocalState } from '../infra/local/state.js';
import type {
  DatabaseTransition,
  DatabaseTransitionMode,
  QueueDepth,
  ServiceChange,
  ServiceRef,
  StreamBacklog,
} from './capabilities.js';
import { dynamoClient, kinesisClient } from '../clients/aws-clients.js';
import { requestJson } from './json-request.js';
import { appStreamBacklogs } from './stream-backlog.js';

/** A request to the control process; its refusals are the user's to act on. */
function post<T>(url: string, timeoutMs: number): Promise<T> {
  return requestJson<T>(url, { method: 'POST' }, timeoutMs).catch((error: Error) => {
    throw new UserError(error.message, 'see `tsr status` and the supervisor log', ExitCode.failure);
  });
}

/**
 * The drill operations of the local target, carried out by the control process (it owns the engines, the service
 * processes and the replication topology) or measured from the engines themselves.
 */
export class LocalDrills {
  constructor(
    private readonly workspace: string,
    private readonly names: ResourceNames,
    private readonly environment: string,
  ) {}

  /** The state as the control process keeps it now (writers and regions change during a drill). */
  state(): LocalState {
    const state = readState(this.workspace);
    if (!state) throw new UserError('the local platform is not deployed', 'run `tsr deploy`', ExitCode.notDeployed);
    return state;
  }

  private supervisor(path: string): string {
    return `${this.state().endpoints.supervisor}${path}`;
  }

  async databaseWriter(app: AppName): Promise<string | undefined> {
    return this.state().writers[app];
  }

  async moveDatabase(app: AppName, to: string, mode: DatabaseTransitionMode): Promise<DatabaseTransition> {
    const result = await post<{ from: string; to: string; durationMs: number }>(
      this.supervisor(`/database/${mode}?app=${app}&to=${encodeURIComponent(to)}`),
      180_000,
    );
    return { app, mode, from: result.from, to: result.to, completed: true, durationMs: result.durationMs };
  }

  async restartService(service: ServiceRef): Promise<ServiceChange> {
    const id = service.app === 'generator' ? 'generator' : `${service.app}/${service.stage}@${service.region}`;
    await post(this.supervisor(`/services/restart?filter=${encodeURIComponent(id)}`), 60_000);
    return { service: id, region: service.region, action: 'restart' };
  }

  async regionDown(region: string): Promise<void> {
    await post(this.supervisor(`/regions/down?region=${encodeURIComponent(region)}`), 60_000);
  }

  async regionUp(region: string): Promise<void> {
    await post(this.supervisor(`/regions/up?region=${encodeURIComponent(region)}`), 180_000);
  }

  /** Messages the region's broker holds for the app's inbound session, read from the broker's persistence. */
  async brokerQueueDepth(app: AppName, region: string): Promise<QueueDepth> {
    const admin = this.state().endpoints.regions[region]?.brokerAdmin;
    const queue = inboundClientId(app, region);
    const measuredAt = new Date().toISOString();
    try {
      const { backlog } = await requestJson<{ backlog: number }>(
        `${admin}/backlog?clientId=${encodeURIComponent(queue)}`,
        undefined,
        3_000,
      );
      return { app, region, queues: [{ queue, depth: backlog }], depth: backlog, measuredAt };
    } catch (error) {
      return {
        app,
        region,
        queues: [{ queue }],
        measuredAt,
        detail: `broker in ${region} does not answer: ${(error as Error).message}`,
      };
    }
  }

  /** Records waiting after each stream consumer's checkpoint, per stage stream of the app in the region. */
  async streamBacklog(app: AppName, region: string, options: { limit?: number } = {}): Promise<StreamBacklog[]> {
    const endpoints = this.state().endpoints.regions[region];
    const kinesis = kinesisClient({ region, endpoint: endpoints.kinesis });
    const dynamo = dynamoClient({ region, endpoint: endpoints.dynamodb });
    try {
      return await appStreamBacklogs(kinesis, dynamo, this.names, app, region, options.limit);
    } finally {
      kinesis.destroy();
      dynamo.destroy();
    }
  }

  safeStoreClient(region: string): DynamoDBClient {
    return dynamoClient({ region, endpoint: this.state().endpoints.regions[region]?.dynamodb });
  }
}
