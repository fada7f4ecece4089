/**
 * Lease bookkeeping in DynamoDB: one item per shard, key `leaseKey = "<stream>|<shardId>"`, holding `owner`,
 * `leaseExpiresAt` (epoch ms), `checkpoint` (the last sequence number whose batch the handler finished, or
 * SHARD_END) and `counter` (bumped by every write, for optimistic concurrency). Every write is conditional:
 * - take: the item is absent, or its counter is still the one we read;
 * - renew, checkpoint and release: `owner = me`. A failed condition means the lease was lost.
 */
import { BatchGetItemCommand, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { backoffDelay, errorName, sleep } from '../retry.js';

export interface LeaseItem {
  readonly leaseKey: string;
  readonly owner?: string;
  readonly leaseExpiresAt?: number;
  readonly checkpoint?: string;
  readonly counter?: number;
}

const N = { owner: '#owner', exp: '#exp', counter: '#counter', checkpoint: '#checkpoint' };
const LEASE_NAMES = { '#owner': 'owner', '#exp': 'leaseExpiresAt', '#counter': 'counter' };

export function isConditionFailure(error: unknown): boolean {
  return errorName(error) === 'ConditionalCheckFailedException';
}

export class LeaseTable {
  constructor(
    private readonly dynamo: DynamoDBClient,
    private readonly table: string,
    private readonly streamName: string,
    private readonly workerId: string,
    readonly leaseDurationMs: number,
  ) {}

  private key(shardId: string) {
    return { leaseKey: { S: `${this.streamName}|${shardId}` } };
  }

  /** The leases of these shards that exist, by shard id (consistent reads; unprocessed keys retried). */
  async read(shardIds: readonly string[]): Promise<Map<string, LeaseItem>> {
    const found = new Map<string, LeaseItem>();
    for (let i = 0; i < shardIds.length; i += 100) {
      let keys: Record<string, { S: string }>[] | undefined = shardIds.slice(i, i + 100).map((id) => this.key(id));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 0) await sleep(backoffDelay(attempt - 1));
        if (attempt > 10) throw new Error(`could not read ${keys.length} leases of ${this.streamName}`);
        const answer = await this.dynamo.send(
          new BatchGetItemCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const raw of answer.Responses?.[this.table] ?? []) {
          const item = unmarshall(raw) as LeaseItem;
          found.set(item.leaseKey.slice(this.streamName.length + 1), item);
        }
        keys = answer.UnprocessedKeys?.[this.table]?.Keys as typeof keys;
      }
    }
    return found;
  }

  /**
   * Takes a lease we read as free (or ours) as `observed`, valid from `now`; the lease as written, or undefined when
   * someone else changed it first.
   */
  async take(shardId: string, observed: LeaseItem | undefined, now: number): Promise<LeaseItem | undefined> {
    try {
      const answer = await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(shardId),
          UpdateExpression:
            `SET ${N.owner} = :me, ${N.exp} = :exp, streamName = :stream, shardId = :shard, ` +
            `${N.counter} = if_not_exists(${N.counter}, :zero) + :one`,
          ConditionExpression:
            observed?.counter !== undefined ? `${N.counter} = :observed` : 'attribute_not_exists(leaseKey)',
          ExpressionAttributeNames: LEASE_NAMES,
          ExpressionAttributeValues: {
            ':me': { S: this.workerId },
            ':exp': { N: String(now + this.leaseDurationMs) },
            ':stream': { S: this.streamName },
            ':shard': { S: shardId },
            ':zero': { N: '0' },
            ':one': { N: '1' },
            ...(observed?.counter !== undefined ? { ':observed': { N: String(observed.counter) } } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return unmarshall(answer.Attributes ?? {}) as LeaseItem;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Extends our lease from `now`; false when it is no longer ours. Other errors throw (retried next round). */
  async renew(shardId: string, now: number): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(shardId),
          UpdateExpression: `SET ${N.exp} = :exp, ${N.counter} = ${N.counter} + :one`,
          ConditionExpression: `${N.owner} = :me`,
          ExpressionAttributeNames: LEASE_NAMES,
          ExpressionAttributeValues: {
            ':me': { S: this.workerId },
            ':exp': { N: String(now + this.leaseDurationMs) },
            ':one': { N: '1' },
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Gives our lease back (expired at once); a lease no longer ours is left alone. */
  async release(shardId: string): Promise<void> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(shardId),
          UpdateExpression: `REMOVE ${N.owner} SET ${N.exp} = :zero, ${N.counter} = ${N.counter} + :one`,
          ConditionExpression: `${N.owner} = :me`,
          ExpressionAttributeNames: LEASE_NAMES,
          ExpressionAttributeValues: { ':me': { S: this.workerId }, ':zero': { N: '0' }, ':one': { N: '1' } },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /** Records progress on our lease; false when it is no longer ours. Other errors throw. */
  async checkpoint(shardId: string, sequenceNumber: string): Promise<boolean> {
    try {
      await this.dynamo.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: this.key(shardId),
          UpdateExpression: `SET ${N.checkpoint} = :seq, ${N.counter} = ${N.counter} + :one`,
          ConditionExpression: `${N.owner} = :me`,
          ExpressionAttributeNames: { '#owner': 'owner', '#counter': 'counter', '#checkpoint': 'checkpoint' },
          ExpressionAttributeValues: {
            ':seq': { S: sequenceNumber },
            ':me': { S: this.workerId },
            ':one': { N: '1' },
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
