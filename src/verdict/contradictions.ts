/**
 * Contradictory confirmations from the generator's confirmation logs, found in bounded memory. Confirmations arrive in
 * any order, so they cannot be merged with the ledger directly; instead they are split by a hash of the side's id
 * into buckets of at most `bucketBytes` of log each (on disk when there is more than one), and each bucket is read
 * alone. Only the contradicted sides are kept: as many as there are duplicates, not as many as there are pairs.
 */
import { appendFileSync, createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { contradictory } from './classify.js';
import { confirmationEntries } from './ledger.js';
import type { LedgerSource } from '../platform/ledger-source.js';
import { keyOfTradeId } from './streams.js';

/** FNV-1a: cheap and well spread over ids that differ in their last characters. */
function bucketOf(id: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % buckets;
}

/** Of one bucket's (id, status) lines, the sides whose statuses contradict each other. */
function judgeBucket(entries: Iterable<[string, string]>, into: Map<string, string[]>): void {
  const heard = new Map<string, Set<string>>();
  for (const [id, status] of entries) {
    let statuses = heard.get(id);
    if (!statuses) heard.set(id, (statuses = new Set()));
    statuses.add(status);
  }
  for (const [id, statuses] of heard) if (contradictory([...statuses])) into.set(id, [...statuses].sort());
}

export interface Contradictions {
  /** Side id → the statuses its sender heard, for contradicted sides only. */
  readonly sides: ReadonlyMap<string, readonly string[]>;
  /** Confirmation lines about the ledger's runs. */
  readonly read: number;
}

/** The contradictions in a workspace's confirmation files (one per run: `confirmations-<run>.jsonl`). */
export function findContradictionsInFiles(
  files: readonly string[],
  runs: ReadonlySet<string>,
  bucketBytes = 2 * 2 ** 20,
): Promise<Contradictions> {
  const total = files.reduce((sum, file) => sum + statSync(file).size, 0);
  const lines = async function* () {
    for (const file of files) yield* createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  };
  return findContradictions(lines(), runs, { totalBytes: total, bucketBytes });
}

/** The contradictions among the confirmation lines of a ledger source's runs. */
export function findSourceContradictions(source: LedgerSource, runs: readonly string[]): Promise<Contradictions> {
  return findContradictions(source.confirmationLines(runs), new Set(runs), {});
}

/**
 * `totalBytes` (when known) sizes the buckets: one in memory when it fits `bucketBytes`; unknown (a table), 16
 * buckets on disk, so memory stays bounded whatever the log's size.
 */
export async function findContradictions(
  confirmationLines: AsyncIterable<string>,
  runs: ReadonlySet<string>,
  options: { totalBytes?: number; bucketBytes?: number },
): Promise<Contradictions> {
  const bucketBytes = options.bucketBytes ?? 2 * 2 ** 20;
  const buckets = options.totalBytes === undefined ? 16 : Math.max(1, Math.ceil(options.totalBytes / bucketBytes));
  const sides = new Map<string, string[]>();
  let read = 0;
  const relevant = async function* () {
    for await (const line of confirmationEntries(confirmationLines)) {
      const key = keyOfTradeId(line.id);
      if (!key || !runs.has(key.run)) continue;
      read++;
      yield [line.id, line.status] as [string, string];
    }
  };
  if (buckets === 1) {
    const entries: [string, string][] = [];
    for await (const entry of relevant()) entries.push(entry);
    judgeBucket(entries, sides);
    return { sides, read };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-verdict-'));
  try {
    const file = (b: number) => path.join(dir, `bucket-${b}.tsv`);
    const pending: string[][] = Array.from({ length: buckets }, () => []);
    const flush = (b: number) => {
      if (pending[b].length) appendFileSync(file(b), pending[b].join(''));
      pending[b] = [];
    };
    for await (const [id, status] of relevant()) {
      const b = bucketOf(id, buckets);
      pending[b].push(`${id}\t${status}\n`);
      if (pending[b].length >= 2_000) flush(b);
    }
    for (let b = 0; b < buckets; b++) flush(b);
    for (let b = 0; b < buckets; b++) {
      let text: string;
      try {
        text = readFileSync(file(b), 'utf8');
      } catch {
        continue; // nothing fell into this bucket
      }
      judgeBucket(
        text
          .split('\n')
          .filter(Boolean)
          .map((line) => line.split('\t') as [string, string]),
        sides,
      );
    }
    return { sides, read };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
