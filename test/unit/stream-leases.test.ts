import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { LeaseTable } from '../../src/services/runtime/stream/lease-table.js';
import { ConsumerCounters } from '../../src/services/runtime/stream/metrics.js';
import type { ConsumedRecord } from '../../src/services/runtime/stream/records.js';
import { holds, type Holding } from '../../src/services/runtime/stream/shard-reader.js';

const dynamo = mockClient(DynamoDBClient);
const refused = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

/** Lease bookkeeping and counters with a mocked DynamoDB client: the conditions every lease write carries. No network. */
describe('stream consumer lease bookkeeping', () => {
  const table = () => new LeaseTable(new DynamoDBClient({ region: 'us-east-1' }), 'leases', 'trades', 'me', 10_000);
  beforeEach(() => dynamo.reset());

  it('takes a never-taken lease only if it still does not exist, a known one only at the counter it read', async () => {
    dynamo.on(UpdateItemCommand).resolves({ Attributes: marshall({ leaseKey: 'trades|s1', owner: 'me', counter: 1 }) });
    expect(await table().take('s1', undefined, 5_000)).toMatchObject({ owner: 'me' });
    await table().take('s1', { leaseKey: 'trades|s1', owner: 'other', counter: 7 }, 5_000);
    const [first, second] = dynamo.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
    expect(first.ConditionExpression).toBe('attribute_not_exists(leaseKey)');
    expect(first.Key).toEqual({ leaseKey: { S: 'trades|s1' } });
    expect(first.ExpressionAttributeValues?.[':exp']).toEqual({ N: '15000' });
    expect(second.ConditionExpression).toBe('#counter = :observed');
    expect(second.ExpressionAttributeValues?.[':observed']).toEqual({ N: '7' });
  });

  it('reports a lease someone else changed first, or that is no longer ours, instead of throwing', async () => {
    dynamo.on(UpdateItemCommand).rejects(refused());
    expect(await table().take('s1', undefined, 0)).toBeUndefined();
    expect(await table().renew('s1', 0)).toBe(false);
    expect(await table().checkpoint('s1', '42')).toBe(false);
    await table().release('s1'); // not ours any more: nothing to give back
    for (const call of dynamo.commandCalls(UpdateItemCommand).slice(1)) {
      expect(call.args[0].input.ConditionExpression).toBe('#owner = :me');
    }
  });

  it('passes other errors on (a renewal that failed is retried, not taken as lost)', async () => {
    dynamo.on(UpdateItemCommand).rejects(new Error('socket hang up'));
    await expect(table().renew('s1', 0)).rejects.toThrow('socket hang up');
  });

  it('reads leases by shard id, retrying unprocessed keys', async () => {
    dynamo
      .on(BatchGetItemCommand)
      .resolvesOnce({
        Responses: { leases: [marshall({ leaseKey: 'trades|s1', owner: 'w2', counter: 3 })] },
        UnprocessedKeys: { leases: { Keys: [{ leaseKey: { S: 'trades|s2' } }] } },
      })
      .resolvesOnce({ Responses: { leases: [marshall({ leaseKey: 'trades|s2', counter: 1 })] } });
    const leases = await table().read(['s1', 's2']);
    expect([...leases.keys()]).toEqual(['s1', 's2']);
    expect(leases.get('s1')?.owner).toBe('w2');
  });

  it('acts on a holding only while it is owned, not crashed, and within its lease time', () => {
    const holding: Holding = { shardId: 's1', owned: true, validUntil: 2_000, wake: new AbortController() };
    expect(holds(holding, false, 1_999)).toBe(true);
    expect(holds(holding, false, 2_000)).toBe(false); // renewals late: wait for one before reading on
    expect(holds(holding, true, 0)).toBe(false);
    expect(holds({ ...holding, owned: false }, false, 0)).toBe(false);
  });
});

describe('stream consumer counters', () => {
  const record = (seq: string, arrivedAt: number): ConsumedRecord => ({
    sequenceNumber: seq,
    partitionKey: 'p',
    data: Buffer.from('{}'),
    approximateArrivalTimestamp: new Date(arrivedAt),
    json: <T>() => ({}) as T,
  });

  it('counts a checkpointed batch per shard and in total, with where its records spent their time', () => {
    const counters = new ConsumerCounters();
    counters.countCheckpointed(
      's1',
      { records: [record('1', 100), record('2', 300)], readAt: 400, handledAt: 450 },
      500,
    );
    const m = counters.snapshot({ streamName: 'trades', workerId: 'me', running: true, active: true }, ['s1']);
    expect(m).toMatchObject({ recordsIn: 2, batches: 1, shardsOwned: ['s1'] });
    expect(m.recordMs).toEqual({ inStream: 300 + 100, handling: 50 * 2, checkpointing: 50 * 2 });
    expect(m.shards.s1).toMatchObject({ owned: true, recordsIn: 2, batches: 1, lastRecordAgeMs: 200 });
  });

  it('counts records the handler is given again after finishing them as redelivered, per shard', () => {
    const counters = new ConsumerCounters();
    counters.countHandled('s1', [record('98', 0), record('99', 0)]);
    counters.countHandled('s1', [record('100', 0), record('101', 0)]); // longer numbers are larger: not again
    counters.countHandled('s2', [record('5', 0)]); // another shard keeps its own mark
    let m = counters.snapshot({ streamName: 'trades', workerId: 'me', running: true, active: true }, ['s1', 's2']);
    expect(m.recordsRedelivered).toBe(0);
    // Read again from the checkpoint after 98 (a failed checkpoint write): 99 to 101 again, then 102 new.
    counters.countHandled('s1', [record('99', 0), record('100', 0), record('101', 0), record('102', 0)]);
    counters.countHandled('s1', [record('103', 0)]);
    m = counters.snapshot({ streamName: 'trades', workerId: 'me', running: true, active: true }, ['s1', 's2']);
    expect(m.recordsRedelivered).toBe(3);
    expect(m.shards.s1.recordsRedelivered).toBe(3);
    expect(m.shards.s2?.recordsRedelivered ?? 0).toBe(0);
  });
});
