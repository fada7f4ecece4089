/**
 * computeVerdict: every pair of the generator's ledger judged against the core databases and the confirmations
 * senders received (docs/domain.md#game-days), then the regions compared. The ledger and the rows are read as
 * streams in one key order and merged, so memory does not grow with the number of pairs.
 */
import type { AppName } from '../config/apps.js';
import { settlementId } from '../domain/ids.js';
import { ExitCode, UserError } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import { inLossWindow, judgePair } from './classify.js';
import { databaseDivergence, safeStoreDivergence } from './divergence.js';
import { findSourceContradictions } from './contradictions.js';
import { ledgerPairs, noLedger } from './ledger.js';
import {
  type CoreSettlement,
  type CoreTradeSide,
  FAILING,
  type JudgedPair,
  OUTCOMES,
  type Outcome,
  type SideConfirmations,
  type Verdict,
  type VerdictOptions,
} from './model.js';
import { sourcesOf } from './platform-sources.js';
import { type DatabaseCopy, ledgerOfSources, type QueryClient, type VerdictSources } from './sources.js';
import { cursorRows, groupByKey, MergeCursor, type PairKey } from './streams.js';

/** `split_part` on the deal reference gives the run and the sequence number: the ledger's own order. */
const RUN = `split_part(trade_id, '-', 1) COLLATE "C"`;
const SEQ = `split_part(trade_id, '-', 2)::bigint`;
const OF_RUNS = `split_part(trade_id, '-', 1) = ANY($1) AND trade_id ~ '^[^-]+-[0-9]+$'`;

interface TradeRow {
  run: string;
  seq: string;
  id: string;
  status: string;
  counterpart_id: string | null;
  updated_ms: number;
  /** `<allocationId> <status>,…` in allocation order: one text field per side is far cheaper to read than a row each. */
  results: string | null;
  results_ms: number | null;
}

interface SettlementRow {
  run: string;
  seq: string;
  id: string;
  status: string;
  updated_ms: number;
}

const keyOf = (row: { run: string; seq: string }): PairKey => ({ run: row.run, seq: Number(row.seq) });

async function connectWriter(sources: VerdictSources, app: AppName): Promise<QueryClient> {
  const { writer } = sources.copies(app);
  const name = sources.databases[app];
  if (writer.unavailable) {
    throw new UserError(
      `the ${app} core database's writer is in a region that is down (${writer.unavailable})`,
      `fail over first (\`tsr failover all --to <region>\`), or bring the region back (\`tsr chaos region-up ${writer.region} --yes\`)`,
      ExitCode.unhealthy,
    );
  }
  try {
    return await writer.connect(name);
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(
      `cannot read ${name} in ${writer.region}: ${(error as Error).message}`,
      'check `tsr status`: the database must be up',
      ExitCode.unhealthy,
    );
  }
}

/** Trade sides with their allocations' settlement results, grouped per pair. */
function tradeSides(client: QueryClient, runs: string[]): MergeCursor<CoreTradeSide> {
  const rows = cursorRows<TradeRow>(
    client,
    `SELECT ${RUN} AS run, ${SEQ} AS seq, s.id, s.status, s.counterpart_id,
       extract(epoch FROM s.updated_at)::float8 * 1000 AS updated_ms, a.results, a.results_ms
     FROM trade_sides s LEFT JOIN (
       SELECT trade_side_id, string_agg(allocation_id || ' ' || settlement_status, ',' ORDER BY allocation_id) AS results,
         extract(epoch FROM max(updated_at))::float8 * 1000 AS results_ms
       FROM trade_allocations GROUP BY trade_side_id) a ON a.trade_side_id = s.id
     WHERE ${OF_RUNS}
     ORDER BY 1, 2, s.id COLLATE "C"`,
    [runs],
  );
  const side = (row: TradeRow): CoreTradeSide => ({
    id: row.id,
    status: row.status,
    counterpartId: row.counterpart_id ?? undefined,
    updatedAt: row.updated_ms,
    allocations: (row.results ? row.results.split(',') : []).map((result) => {
      const [allocationId, status] = result.split(' ');
      return { settlementId: settlementId(row.id, Number(allocationId)), status, updatedAt: row.results_ms ?? 0 };
    }),
  });
  return MergeCursor.of(
    (async function* () {
      for await (const group of groupByKey(rows, keyOf)) yield { key: group.key, items: group.items.map(side) };
    })(),
  );
}

function settlements(client: QueryClient, runs: string[]): MergeCursor<CoreSettlement> {
  const rows = cursorRows<SettlementRow>(
    client,
    `SELECT ${RUN} AS run, ${SEQ} AS seq, id, status, extract(epoch FROM updated_at)::float8 * 1000 AS updated_ms
     FROM settlements WHERE ${OF_RUNS} ORDER BY 1, 2, id COLLATE "C"`,
    [runs],
  );
  return MergeCursor.of(
    (async function* () {
      for await (const group of groupByKey(rows, keyOf)) {
        yield {
          key: group.key,
          items: group.items.map((r) => ({ id: r.id, status: r.status, updatedAt: r.updated_ms })),
        };
      }
    })(),
  );
}

type Listed = Exclude<Outcome, 'ok'>;

/** Judges every pair of the ledger (see the module comment). `platform` may be the platform or explicit sources. */
export async function computeVerdict(
  platform: Platform | VerdictSources,
  options: VerdictOptions = {},
): Promise<Verdict> {
  const started = Date.now();
  const sources = await sourcesOf(platform);
  const progress = options.onProgress;
  const ledger = ledgerOfSources(sources);
  const runs = await ledger.runs();
  if (!runs.length) throw noLedger(ledger.where);
  if (options.since && options.until && options.since >= options.until) {
    throw new UserError(
      'the window is empty or reversed (--since is not before --until)',
      'give an earlier --since',
      2,
    );
  }
  const lossWindows = options.atRiskWindows ?? [];
  const deadlineMs = options.deadline?.getTime();
  const idsLimit = options.idsLimit ?? 1_000;

  const clients: QueryClient[] = [];
  const cursors: MergeCursor<unknown>[] = [];
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const ids = Object.fromEntries(OUTCOMES.filter((o) => o !== 'ok').map((o) => [o, []])) as unknown as Record<
    Listed,
    JudgedPair[]
  >;
  const idsLeftOut: Partial<Record<Listed, number>> = {};
  const notes: string[] = [];
  let pairs = 0;
  let sentInLossWindows = 0;
  const lostWithRegion = options.lostWithRegion;
  const lossCheck = { pairs: 0, cameBack: 0, atRiskNotCounted: 0 };
  let confirmationsRead = 0;
  try {
    progress?.(`reading the ledger of ${runs.length} generator run(s) (${ledger.where}) and the core databases`);
    const trade = await connectWriter(sources, 'trade');
    clients.push(trade);
    const settlement = await connectWriter(sources, 'settlement');
    clients.push(settlement);
    let contradicted: ReadonlyMap<string, readonly string[]> = new Map();
    if (await ledger.hasConfirmations(runs)) {
      progress?.(`reading the confirmations of ${runs.length} generator run(s)`);
      const found = await findSourceContradictions(ledger, runs);
      contradicted = found.sides;
      confirmationsRead = found.read;
    } else {
      notes.push(
        'no confirmations recorded (a generator older than the confirmation log): duplicates judged from core rows only',
      );
    }
    const sides = tradeSides(trade, runs);
    const instructions = settlements(settlement, runs);
    cursors.push(sides, instructions);

    const counters = { unreadable: 0 };
    let lastReport = Date.now();
    for await (const pair of ledgerPairs(
      ledger,
      runs,
      { sinceMs: options.since?.getTime(), untilMs: options.until?.getTime() },
      counters,
    )) {
      const [coreSides, coreSettlements] = await Promise.all([sides.take(pair.key), instructions.take(pair.key)]);
      const confirmed: SideConfirmations[] = [];
      if (contradicted.size) {
        for (const id of Object.keys(pair.expected.tradeStatus)) {
          const statuses = contradicted.get(id);
          if (statuses) confirmed.push({ id, statuses });
        }
      }
      const atRisk = lossWindows.length > 0 && inLossWindow(pair, lossWindows);
      if (atRisk) sentInLossWindows++;
      const judgement = judgePair(
        pair,
        { sides: coreSides, settlements: coreSettlements, confirmations: confirmed },
        { deadlineMs, atRisk },
      );
      pairs++;
      counts[judgement.outcome]++;
      if (lostWithRegion) {
        const counted = Object.keys(pair.expected.tradeStatus).some((id) => lostWithRegion.has(id));
        if (counted) lossCheck.pairs++;
        if (counted && judgement.outcome === 'ok') lossCheck.cameBack++;
        if (!counted && judgement.outcome === 'atRisk') lossCheck.atRiskNotCounted++;
      }
      if (options.ids && judgement.outcome !== 'ok') {
        const list = ids[judgement.outcome];
        if (list.length < idsLimit) {
          list.push({
            tradeId: pair.tradeId,
            scenario: pair.scenario,
            region: pair.region,
            submittedAt: new Date(pair.submittedAt).toISOString(),
            detail: judgement.detail,
          });
        } else {
          idsLeftOut[judgement.outcome] = (idsLeftOut[judgement.outcome] ?? 0) + 1;
        }
      }
      if (progress && Date.now() - lastReport > 2_000) {
        lastReport = Date.now();
        progress(`${pairs.toLocaleString('en-US')} pairs judged`);
      }
    }
    if (counters.unreadable)
      notes.push(`${counters.unreadable} ledger line(s) could not be read (cut short by a crash)`);
    if (!pairs) notes.push('no pair in the ledger was sent inside the window');
  } finally {
    await Promise.all(cursors.map((c) => c.close().catch(() => undefined)));
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }

  const which = options.divergence ?? 'all';
  const divergence = [
    ...(which === 'none' ? [] : await databaseDivergence(sources, progress)),
    ...(which === 'all' ? await safeStoreDivergence(sources, progress) : []),
  ];
  return {
    pairs,
    counts,
    passed: FAILING.every((o) => counts[o] === 0),
    sentInLossWindows,
    window: {
      since: options.since?.toISOString(),
      until: options.until?.toISOString(),
      deadline: options.deadline?.toISOString(),
    },
    lossWindows: lossWindows.map((w) => ({ region: w.region, from: w.from.toISOString(), to: w.to.toISOString() })),
    ledgers: runs.map((run) => ledger.locate(run)),
    confirmationsRead,
    ...(options.ids ? { ids, ...(Object.keys(idsLeftOut).length ? { idsLeftOut } : {}) } : {}),
    divergence,
    ...(lostWithRegion ? { lostWithRegion: lossCheck } : {}),
    notes,
    durationMs: Date.now() - started,
  };
}

/** Whether a divergence entry shows copies that differ (or could not be compared). */
export function diverged(entry: Verdict['divergence'][number]): boolean {
  return Boolean(entry.error || entry.onlyInReference || entry.onlyInRegion || entry.differing);
}

export type { DatabaseCopy };
