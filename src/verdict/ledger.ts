/**
 * The generator's ledger and confirmation log, read as ordered streams (docs/domain.md#the-generator): per generator
 * run, its ledger (every pair a broker acknowledged, in sequence order) and its confirmations (what senders heard, in
 * arrival order), from wherever the platform keeps them (src/platform/ledger-source.ts: workspace files, or on AWS
 * a global table).
 */
import { ExitCode, UserError } from '../errors.js';
import type { LedgerSource } from '../platform/ledger-source.js';
import type { LedgerPair } from './model.js';
import { compareKeys, type PairKey } from './streams.js';

/** No ledger: the verdict has nothing to judge, and says how to get one. */
export function noLedger(where: string): UserError {
  return new UserError(
    `no generator ledger in ${where}: the verdict judges the pairs the generator sent`,
    'run load first (`tsr generator start --rate 10`, then `tsr generator stop`), or point --workspace at the ' +
      'workspace of the platform that ran it',
    ExitCode.usage,
  );
}

interface RawLedgerLine {
  seq?: number;
  scenario?: string;
  submittedAt?: number;
  region?: string;
  sides?: { tradeId?: string }[];
  expected?: LedgerPair['expected'];
}

const SUBMITTED_AT = /"submittedAt":(\d+)/;

/**
 * The pairs of every run's ledger, in (run, seq) order, sent in [sinceMs, untilMs). A line outside the window is
 * recognised without parsing it. A line cut short (a crash mid-write) is skipped and counted.
 */
export async function* ledgerPairs(
  source: LedgerSource,
  runs: readonly string[],
  window: { sinceMs?: number; untilMs?: number },
  counters: { unreadable: number },
): AsyncGenerator<LedgerPair & { key: PairKey }> {
  let previous: PairKey | undefined;
  for (const run of runs) {
    let number = 0;
    for await (const line of source.pairLines(run)) {
      number++;
      if (!line.trim()) continue;
      const at = Number(SUBMITTED_AT.exec(line)?.[1] ?? NaN);
      if (window.sinceMs !== undefined && at < window.sinceMs) continue;
      // Lines are in sending order: once past the window's end, the rest of this file is too.
      if (window.untilMs !== undefined && at >= window.untilMs) break;
      let raw: RawLedgerLine;
      try {
        raw = JSON.parse(line) as RawLedgerLine;
      } catch {
        counters.unreadable++;
        continue;
      }
      const tradeId = raw.sides?.[0]?.tradeId;
      if (typeof raw.seq !== 'number' || !tradeId || !raw.expected || typeof raw.submittedAt !== 'number') {
        counters.unreadable++;
        continue;
      }
      const key = { run, seq: raw.seq };
      if (previous && compareKeys(previous, key) >= 0) {
        throw new UserError(
          `${source.locate(run)}:${number}: pair ${raw.seq} comes after pair ${previous.seq}: the ledger is not in sending order`,
          'the verdict needs the ledger as the generator wrote it; restore the file, or move it out of the workspace',
          ExitCode.failure,
        );
      }
      previous = key;
      yield {
        key,
        seq: raw.seq,
        scenario: raw.scenario ?? 'unknown',
        tradeId,
        submittedAt: raw.submittedAt,
        region: raw.region ?? '',
        expected: raw.expected,
      };
    }
  }
}

/** Confirmation entries (`{id, status, at}`) of the lines, in order; lines that are not one are skipped. */
export async function* confirmationEntries(
  lines: AsyncIterable<string>,
): AsyncGenerator<{ id: string; status: string; at: number }> {
  for await (const line of lines) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as { id?: unknown; status?: unknown; at?: unknown };
      if (typeof entry.id === 'string' && typeof entry.status === 'string') {
        yield { id: entry.id, status: entry.status, at: Number(entry.at) || 0 };
      }
    } catch {
      // cut short by a crash of the generator
    }
  }
}
