import type { Shard } from '@aws-sdk/client-kinesis';
import type { LeaseItem } from '../../src/services/runtime/stream/lease-table.js';
import {
  eligibleShards,
  freeShards,
  leaseToSteal,
  leftBehind,
  liveWorkers,
  shareOf,
} from '../../src/services/runtime/stream/shard-balance.js';

const lease = (shard: string, owner?: string, leaseExpiresAt?: number, checkpoint?: string): [string, LeaseItem] => [
  shard,
  { leaseKey: `s|${shard}`, owner, leaseExpiresAt, checkpoint },
];
const NOW = 1_000_000;

/** Pure: which shards a worker reads, and which leases it takes, from one read of shards and leases. */
describe('stream consumer shard balancing', () => {
  it('reads a reshard’s children only once every listed parent reached SHARD_END', () => {
    const shards: Pick<Shard, 'ShardId' | 'ParentShardId' | 'AdjacentParentShardId'>[] = [
      { ShardId: 'parent' },
      { ShardId: 'child-1', ParentShardId: 'parent' },
      { ShardId: 'child-2', ParentShardId: 'parent', AdjacentParentShardId: 'gone' }, // 'gone' is not listed any more
    ];
    expect(eligibleShards(shards, new Map())).toEqual(['parent']);
    expect(eligibleShards(shards, new Map([lease('parent', undefined, 0, 'SHARD_END')]))).toEqual([
      'child-1',
      'child-2',
    ]);
  });

  it('counts as live the owners of unexpired leases, and always this worker', () => {
    const leases = new Map([
      lease('a', 'w2', NOW + 1),
      lease('b', 'w2', NOW + 1),
      lease('c', 'w3', NOW),
      lease('d', 'me', NOW + 1),
    ]);
    expect([...liveWorkers(['a', 'b', 'c', 'd'], leases, 'me', NOW)]).toEqual([
      ['me', []],
      ['w2', ['a', 'b']],
    ]);
    expect(shareOf(5, 2)).toEqual({ max: 3, min: 2 });
  });

  it('reclaims its own leases left by a previous run, and sees released, expired and new leases as free', () => {
    const leases = new Map([
      lease('mine-expired', 'me', NOW - 1),
      lease('mine-held', 'me', NOW + 9),
      lease('released', undefined, 0),
      lease('expired', 'w2', NOW),
      lease('taken', 'w2', NOW + 1),
    ]);
    const eligible = ['mine-expired', 'mine-held', 'released', 'expired', 'taken', 'new'];
    const held = (shard: string) => shard === 'mine-held';
    expect(leftBehind(eligible, leases, 'me', held)).toEqual(['mine-expired']);
    expect(freeShards(eligible, leases, held, NOW)).toEqual(['mine-expired', 'released', 'expired', 'new']);
  });

  it('steals from the busiest worker only while it holds more than one above this worker', () => {
    const live = new Map([
      ['me', []],
      ['w2', ['a', 'b', 'c']],
      ['w3', ['d']],
    ]);
    expect(leaseToSteal(live, 'me', 0, () => 1)).toEqual({ shardId: 'b', from: 'w2' });
    expect(leaseToSteal(live, 'me', 2)).toBeUndefined(); // 3 is not more than 2 + 1
    expect(leaseToSteal(new Map([['me', []]]), 'me', 0)).toBeUndefined();
  });
});
