/**
 * What was lost with a region, as the generator's ledger tells it. Reconciliation compares safe stores, so it cannot
 * see a message that only the lost region held: acknowledged by its broker and not consumed, or accepted by its
 * gateway and not replicated yet. The ledger lists every pair a broker acknowledged, with the region it was sent to:
 * a trade side sent to the lost region that the surviving region's inbound safe store never received is lost.
 */
import { fileLedger, type LedgerSource } from '../platform/ledger-source.js';
import type { Platform } from '../platform/platform.js';

/** One ledger line, as far as loss counting needs it. */
interface LedgerLine {
  readonly region?: string;
  readonly submittedAt?: number;
  /** Trade record ids of the sides sent. */
  readonly ids?: readonly string[];
  readonly scenario?: string;
}

export interface SentToRegion {
  readonly submittedAt: number;
  readonly ids: readonly string[];
}

/**
 * Where a platform's generator ledger is: its own source (AWS: the ledger table, read in `region`), else the
 * workspace's files.
 */
export function ledgerSourceOf(platform: Platform, workspace: string, region?: string): LedgerSource {
  return platform.ledger?.(region) ?? fileLedger(workspace);
}

/**
 * The pairs sent to `region` within `windowMs` before the newest one sent there (the moment closest to its loss).
 * Streams the ledger line by line and keeps only that window, so hours of ledger cost no more memory than minutes.
 */
export async function sentToRegion(
  source: LedgerSource,
  runs: readonly string[],
  region: string,
  windowMs: number,
): Promise<SentToRegion[]> {
  let kept: SentToRegion[] = [];
  let newest = -Infinity;
  const prune = () => (kept = kept.filter((p) => p.submittedAt >= newest - windowMs));
  for (const run of runs) {
    for await (const line of source.pairLines(run)) {
      if (!line.trim()) continue;
      let entry: LedgerLine;
      try {
        entry = JSON.parse(line) as LedgerLine;
      } catch {
        continue; // a line cut short by a crash of the generator: it was never acknowledged as a whole
      }
      if (entry.region !== region || typeof entry.submittedAt !== 'number' || !entry.ids?.length) continue;
      if (entry.submittedAt < newest - windowMs) continue;
      kept.push({ submittedAt: entry.submittedAt, ids: entry.ids });
      if (entry.submittedAt > newest) newest = entry.submittedAt;
      if (kept.length > 50_000) prune();
    }
  }
  prune();
  return kept;
}

export interface RegionLoss {
  /** Trade sides acknowledged by the lost region and absent from the surviving region. */
  readonly lostSides: number;
  /** Pairs with at least one such side. */
  readonly lostPairs: number;
  /** Sides sent to the lost region that were checked. */
  readonly checkedSides: number;
  readonly oldest?: string;
  readonly newest?: string;
  /** A few of the lost ids, for the report. */
  readonly sample: readonly string[];
  /** Every lost side's id, so a verdict can tell these pairs apart; absent beyond LISTED_LOST_SIDES. */
  readonly ids?: readonly string[];
}

/** Lost sides listed by id at most (a few hundred at 10 pairs/s; the bound keeps a journal small whatever happens). */
export const LISTED_LOST_SIDES = 20_000;

/** Of `sent`, the sides `present` does not find (it answers which of the given ids the surviving store holds). */
export async function countLoss(
  sent: readonly SentToRegion[],
  present: (ids: readonly string[]) => Promise<ReadonlySet<string>>,
): Promise<RegionLoss> {
  const ids = sent.flatMap((p) => p.ids);
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 1_000) for (const id of await present(ids.slice(i, i + 1_000))) found.add(id);
  const lostPairs = sent.filter((p) => p.ids.some((id) => !found.has(id)));
  const lostIds = lostPairs.flatMap((p) => p.ids.filter((id) => !found.has(id)));
  const times = lostPairs.map((p) => p.submittedAt);
  return {
    lostSides: lostIds.length,
    lostPairs: lostPairs.length,
    checkedSides: ids.length,
    oldest: times.length ? new Date(Math.min(...times)).toISOString() : undefined,
    newest: times.length ? new Date(Math.max(...times)).toISOString() : undefined,
    sample: lostIds.slice(0, 5),
    ...(lostIds.length <= LISTED_LOST_SIDES ? { ids: lostIds } : {}),
  };
}
