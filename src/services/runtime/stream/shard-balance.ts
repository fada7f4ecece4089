/**
 * Shard balancing, decided from one read of the shard list and the leases (pure). Live workers are the owners of
 * unexpired leases plus this one; a worker takes free leases only up to ceil(shards / live workers), and steals one
 * lease per round while it holds fewer than floor(shards / live). A closed shard's children are eligible only once
 * their parents reached SHARD_END.
 */
import type { Shard } from '@aws-sdk/client-kinesis';
import type { LeaseItem } from './lease-table.js';
import { SHARD_END } from './records.js';

/** The shards to read: not finished, and whose parents (if still listed) are finished. */
export function eligibleShards(
  shards: readonly Pick<Shard, 'ShardId' | 'ParentShardId' | 'AdjacentParentShardId'>[],
  leases: ReadonlyMap<string, LeaseItem>,
): string[] {
  const ids = new Set(shards.map((s) => s.ShardId as string));
  const finished = (shardId: string) => leases.get(shardId)?.checkpoint === SHARD_END;
  return shards
    .filter((s) => !finished(s.ShardId as string))
    .filter((s) => [s.ParentShardId, s.AdjacentParentShardId].every((p) => !p || !ids.has(p) || finished(p)))
    .map((s) => s.ShardId as string);
}

/** Live workers and the eligible shards each holds unexpired at `now`; `me` is always live. */
export function liveWorkers(
  eligible: readonly string[],
  leases: ReadonlyMap<string, LeaseItem>,
  me: string,
  now: number,
): Map<string, string[]> {
  const live = new Map<string, string[]>([[me, []]]);
  for (const shardId of eligible) {
    const lease = leases.get(shardId);
    if (lease?.owner && (lease.leaseExpiresAt ?? 0) > now && lease.owner !== me) {
      live.set(lease.owner, [...(live.get(lease.owner) ?? []), shardId]);
    }
  }
  return live;
}

/** The fair share of one of `workers` live workers: at most `max` shards, at least `min`. */
export function shareOf(shards: number, workers: number): { max: number; min: number } {
  return { max: Math.ceil(shards / workers), min: Math.floor(shards / workers) };
}

/** Our leases from a previous run of this worker id that we do not hold now: ours at once, whatever their expiry. */
export function leftBehind(
  eligible: readonly string[],
  leases: ReadonlyMap<string, LeaseItem>,
  me: string,
  held: (shardId: string) => boolean,
): string[] {
  return eligible.filter((shardId) => leases.get(shardId)?.owner === me && !held(shardId));
}

/** Leases never taken, released, or expired at `now`, that we do not hold. */
export function freeShards(
  eligible: readonly string[],
  leases: ReadonlyMap<string, LeaseItem>,
  held: (shardId: string) => boolean,
  now: number,
): string[] {
  return eligible.filter((shardId) => {
    if (held(shardId)) return false;
    const lease = leases.get(shardId);
    return !lease || !lease.owner || (lease.leaseExpiresAt ?? 0) <= now;
  });
}

/**
 * The lease to take to balance: one of the busiest other worker's, if it holds more than one above what we hold
 * (`mine`); `pick` chooses among its shards (random by default, so two balancers rarely pick the same one).
 */
export function leaseToSteal(
  live: ReadonlyMap<string, readonly string[]>,
  me: string,
  mine: number,
  pick: (count: number) => number = (count) => Math.floor(Math.random() * count),
): { shardId: string; from: string } | undefined {
  const [victim, theirs] =
    [...live].filter(([owner]) => owner !== me).sort((a, b) => b[1].length - a[1].length)[0] ?? [];
  if (!victim || !theirs || theirs.length <= mine + 1) return undefined;
  return { shardId: theirs[pick(theirs.length)], from: victim };
}

export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
