/**
 * The link's shape and shared state: one source per region (its feed cursor and health), one pair per ordered
 * region pair (its queue and health), and the settings the HTTP API changes while the loops run.
 */
import type { Agent } from 'node:http';
import { ChangeQueue, Waker } from './change-queue.js';

export interface SourceState {
  readonly region: string;
  readonly endpoint: string;
  epoch?: string;
  fetchedSeq: number;
  /** Bumped when the link forgets what it pulled (a lost region): a page asked for before is dropped. */
  generation: number;
  trimmedTo: number;
  lastOkAt: number;
  /** When the last pull started that found nothing more in the feed: every change stamped before it is queued. */
  caughtUpAt?: number;
  error?: string;
  /** Something the operator should know about this feed (restart, truncation), kept until the link restarts. */
  note?: string;
  backpressured: boolean;
  trimming: boolean;
  trimAgain: boolean;
  readonly pairs: PairState[];
  readonly waker: Waker;
}

export interface PairState {
  readonly source: SourceState;
  readonly to: string;
  readonly endpoint: string;
  readonly queue: ChangeQueue;
  error?: string;
  lastContactAt: number;
  /**
   * The source region was lost: what the link holds of its changes and has not applied here is forgotten (it stays
   * in the source's own feed, out of reach until the region is back, as unreplicated changes are on AWS).
   */
  forgetQueued?: boolean;
  readonly waker: Waker;
}

/** What every loop of one link shares. */
export interface LinkContext {
  readonly agent: Agent;
  /** The global tables: changes to any other table are never replicated. */
  readonly tables: ReadonlySet<string>;
  readonly pollIntervalMs: number;
  /** Changes buffered per pair before pulling pauses. */
  readonly maxBuffered: number;
  /** Changed by the HTTP API (pause, resume, delay) and by close. */
  readonly control: { paused: boolean; delayMs: number; closed: boolean };
}

/** A source per region and a pair per ordered region pair, everything starting from nothing. */
export function buildTopology(
  regions: readonly { region: string; endpoint: string }[],
  startedAt: number,
): { sources: SourceState[]; pairs: PairState[] } {
  const sources: SourceState[] = regions.map((source) => ({
    region: source.region,
    endpoint: source.endpoint.replace(/\/+$/, ''),
    fetchedSeq: 0,
    generation: 0,
    trimmedTo: 0,
    lastOkAt: startedAt,
    backpressured: false,
    trimming: false,
    trimAgain: false,
    pairs: [],
    waker: new Waker(),
  }));
  for (const source of sources) {
    for (const target of sources) {
      if (target === source) continue;
      source.pairs.push({
        source,
        to: target.region,
        endpoint: target.endpoint,
        queue: new ChangeQueue(),
        lastContactAt: 0,
        waker: new Waker(),
      });
    }
  }
  return { sources, pairs: sources.flatMap((source) => source.pairs) };
}

/** Highest seq of the pair's source that the pair no longer needs (the source may be trimmed up to it). */
export function cursor(pair: PairState): number {
  const head = pair.queue.first();
  if (!head) return pair.source.fetchedSeq;
  return head.epoch === pair.source.epoch ? head.change.seq - 1 : 0;
}
