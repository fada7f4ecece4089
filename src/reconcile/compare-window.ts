/**
 * The comparing half of reconciliation: one window, every hop of a plan and every store across regions, read minute
 * by minute through the time index. reconcile() builds on it, and so does the replay's re-check (replay.ts), which
 * is why it stands apart: reconcile → replay → compare-window, no cycle.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type AppName, STAGES } from '../config/apps.js';
import { safeStoreTable } from '../config/model.js';
import { describeError } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import { reconcileDynamoClient } from './clients.js';
import { Comparison, type ComparisonResult } from './compare.js';
import { type Hop, tableOf } from './hops.js';
import type { HopReport, ReconcileReport, TableRegionReport, Unchecked } from './report.js';
import { StoreReader, type RecordRef } from './store-reader.js';
import type { ReconcileWindow } from './window.js';

export interface ReconcileOptions {
  readonly window: ReconcileWindow;
  /** Apps whose hops and stores to check; default both. */
  readonly apps?: readonly AppName[];
  /** Read (and replay into) this region for every app; default: per app, the region whose dns control is ON. */
  readonly region?: string;
  /** Re-inject missing records, write an audit entry, then re-check. */
  readonly replay?: boolean;
  /** With replay: only say what would be replayed. */
  readonly dryRun?: boolean;
  /** Compare each store across regions (default true). */
  readonly crossRegion?: boolean;
  /** Gaps younger than this are read again once before being reported (in flight, or replicating). Default 5 s. */
  readonly graceMs?: number;
  /** How long a record waits for its partner before it is point-read on the other side. Default 15 s. */
  readonly lookAheadMs?: number;
  /** Minutes read ahead of the one being compared. Default 2. */
  readonly prefetchMinutes?: number;
  /** How long the replay's re-check may take. Default 60 s. */
  readonly verifyTimeoutMs?: number;
  /**
   * When the replay's re-check may stop: by default once nothing is missing. A caller that knows some gaps cannot
   * close yet (replayed messages a closed queue holds at the broker) says when the rest is settled, so the re-check
   * does not wait out its whole timeout for records that can only arrive later.
   */
  readonly settled?: (after: ReconcileReport) => Promise<boolean>;
  /**
   * Records `region` stored from `sinceMs` on are that region's live traffic (a rotation or failover target that
   * already consumes): not at risk from the switch, and still on their way through a pipeline whose core may not
   * run yet. They are left out of the comparisons (downstream they still count as the partner of an earlier record);
   * a later reconciliation without this option checks them.
   */
  readonly live?: { readonly region: string; readonly sinceMs: number };
  /** Who asked (audit); default the OS user. */
  readonly who?: string;
  /** What ran it, saved with its report (saved.ts): "tsr reconcile", "dashboard", a runbook's run; default "reconcile". */
  readonly by?: string;
  readonly onProgress?: (message: string) => void;
}

/** Where each app is read: the app's region, and the reader of every store used. */
export interface ReconcilePlan {
  readonly apps: readonly AppName[];
  readonly regions: Readonly<Partial<Record<AppName, string>>>;
  readonly hops: readonly Hop[];
  readonly notes: readonly string[];
}

const MAX_CHECKS_IN_FLIGHT = 8;

interface Job {
  readonly comparison: Comparison;
  readonly leftKey: string;
  readonly rightKey: string;
  readonly report: (result: ComparisonResult) => HopReport | TableRegionReport;
  readonly scope: 'hop' | 'table';
}

/** Compares only (no replay): the building block of reconcile() and of the replay's re-check. */
export async function compareWindow(
  platform: Platform,
  plan: ReconcilePlan,
  window: { fromMs: number; toMs: number },
  options: Pick<
    ReconcileOptions,
    'crossRegion' | 'graceMs' | 'lookAheadMs' | 'prefetchMinutes' | 'onProgress' | 'live'
  >,
  clients: Map<string, DynamoDBClient>,
): Promise<ReconcileReport> {
  const started = Date.now();
  const env = platform.config.environment;
  const unchecked: Unchecked[] = [];
  const readers = new Map<string, StoreReader>();
  const client = (region: string) => {
    let c = clients.get(region);
    if (!c) {
      c = reconcileDynamoClient(region, platform.endpoints(region).dynamodb);
      clients.set(region, c);
    }
    return c;
  };
  const reader = (table: string, region: string): string => {
    const key = `${table}@${region}`;
    if (!readers.has(key)) readers.set(key, new StoreReader(client(region), table, region));
    return key;
  };
  const region = (app: AppName) => plan.regions[app] ?? platform.config.regions[0];
  const { live } = options;
  const atRisk = (r: RecordRef) => !live || r.region !== live.region || r.acceptedAt < live.sinceMs;

  const jobs: Job[] = [];
  for (const hop of plan.hops) {
    const fromRegion = region(hop.from.app);
    const toRegion = region(hop.to.app);
    const leftKey = reader(tableOf(env, hop.from), fromRegion);
    const rightKey = reader(tableOf(env, hop.to), toRegion);
    const kinds = hop.kinds;
    const acceptedDownstream = (r: RecordRef) => r.origin === 'accepted' && (!kinds || kinds.has(r.kind));
    const comparison = new Comparison(
      hop.name,
      {
        reader: readers.get(leftKey) as StoreReader,
        accept: (r: RecordRef) =>
          (r.forwarded === true || (hop.includeHeld === true && r.origin === 'accepted')) &&
          (!kinds || kinds.has(r.kind)) &&
          atRisk(r),
      },
      {
        reader: readers.get(rightKey) as StoreReader,
        // Live records downstream are not read as extras (each would cost a point read upstream), but one may be
        // the partner of a record accepted before the swap (replayed into the target since).
        accept: (r: RecordRef) => acceptedDownstream(r) && atRisk(r),
        partner: acceptedDownstream,
      },
      hop.statusCompared,
      window,
    );
    jobs.push({
      comparison,
      leftKey,
      rightKey,
      scope: 'hop',
      report: (res): HopReport => ({
        name: hop.name,
        app: hop.app,
        upstream: { table: tableOf(env, hop.from), region: fromRegion, count: res.leftCount },
        downstream: { table: tableOf(env, hop.to), region: toRegion, count: res.rightCount },
        matched: res.matched,
        missing: res.missing,
        ...(res.held.length ? { held: res.held } : {}),
        extra: res.extra,
        statusDiffers: res.statusDiffers,
        statusCompared: hop.statusCompared,
        checked: !res.failure,
      }),
    });
  }
  if (options.crossRegion !== false) {
    for (const app of plan.apps) {
      const reference = region(app);
      for (const stage of STAGES) {
        const table = safeStoreTable(env, app, stage);
        for (const other of platform.config.regions) {
          if (other === reference) continue;
          const leftKey = reader(table, reference);
          const rightKey = reader(table, other);
          jobs.push({
            comparison: new Comparison(
              `${table}: ${reference} ↔ ${other}`,
              { reader: readers.get(leftKey) as StoreReader, accept: atRisk },
              { reader: readers.get(rightKey) as StoreReader, accept: atRisk },
              true,
              window,
            ),
            leftKey,
            rightKey,
            scope: 'table',
            report: (res): TableRegionReport => ({
              table,
              app,
              reference: { region: reference, count: res.leftCount },
              region: other,
              count: res.rightCount,
              matched: res.matched,
              missing: res.missing,
              extra: res.extra,
              statusDiffers: res.statusDiffers,
              checked: !res.failure,
            }),
          });
        }
      }
    }
  }

  await runJobs(jobs, readers, window, options);

  const hops: HopReport[] = [];
  const tables: TableRegionReport[] = [];
  let compared = 0;
  let missing = 0;
  let extra = 0;
  let statusDiffers = 0;
  for (const job of jobs) {
    const result = job.comparison.result();
    if (result.failure) unchecked.push({ scope: job.scope, name: job.comparison.name, reason: result.failure });
    compared += result.leftCount + result.rightCount;
    missing += result.missing.length;
    extra += result.extra.length;
    statusDiffers += result.statusDiffers.length;
    const report = job.report(result);
    if (job.scope === 'hop') hops.push(report as HopReport);
    else tables.push(report as TableRegionReport);
  }
  return {
    window: {
      from: new Date(window.fromMs).toISOString(),
      to: new Date(window.toMs).toISOString(),
      fromMs: window.fromMs,
      toMs: window.toMs,
    },
    regions: plan.regions,
    hops,
    tables,
    unchecked,
    notes: [...plan.notes],
    totals: { compared, missing, extra, statusDiffers },
    gaps: missing > 0,
    complete: unchecked.length === 0,
    durationMs: Date.now() - started,
  };
}

/** The minute loop: every store read once per minute, a few minutes ahead, feeding every comparison. */
async function runJobs(
  jobs: readonly Job[],
  readers: ReadonlyMap<string, StoreReader>,
  window: { fromMs: number; toMs: number },
  options: Pick<ReconcileOptions, 'graceMs' | 'lookAheadMs' | 'prefetchMinutes' | 'onProgress'>,
): Promise<void> {
  const lookAhead = options.lookAheadMs ?? 15_000;
  const prefetch = Math.max(0, options.prefetchMinutes ?? 2);
  const failedSources = new Map<string, string>();
  const minutes: number[] = [];
  for (let m = Math.floor(window.fromMs / 60_000) * 60_000; m < window.toMs; m += 60_000) minutes.push(m);

  type MinuteRead = Map<string, RecordRef[] | Error>;
  const fetches: Promise<MinuteRead>[] = [];
  const fetchMinute = (minute: number): Promise<MinuteRead> =>
    Promise.all(
      [...readers].map(async ([key, r]): Promise<[string, RecordRef[] | Error]> => {
        if (failedSources.has(key)) return [key, new Error(failedSources.get(key))];
        try {
          return [key, await r.readMinute(minute, window.fromMs, window.toMs)];
        } catch (error) {
          return [key, error instanceof Error ? error : new Error(String(error))];
        }
      }),
    ).then((entries) => new Map(entries));

  const inFlight = new Set<Promise<void>>();
  const startChecks = async (all: boolean) => {
    for (const job of jobs) {
      for (const batch of job.comparison.takeBatches(all)) {
        const p: Promise<void> = job.comparison.check(batch).finally(() => inFlight.delete(p));
        inFlight.add(p);
        while (inFlight.size >= MAX_CHECKS_IN_FLIGHT) await Promise.race(inFlight);
      }
    }
  };

  for (let i = 0; i < minutes.length; i++) {
    while (fetches.length <= Math.min(minutes.length - 1, i + prefetch))
      fetches.push(fetchMinute(minutes[fetches.length]));
    const read = await fetches[i];
    delete fetches[i]; // let the minute's records go once fed
    for (const [key, value] of read) {
      if (value instanceof Error && !failedSources.has(key)) {
        const r = readers.get(key) as StoreReader;
        failedSources.set(key, `reading ${r.table} in ${r.region} failed: ${describeError(value)}`);
      }
    }
    const frontier = Math.min(minutes[i] + 60_000, window.toMs);
    for (const job of jobs) {
      const c = job.comparison;
      if (c.failed) continue;
      const failure = failedSources.get(job.leftKey) ?? failedSources.get(job.rightKey);
      if (failure) {
        c.fail(`${failure} (compared up to ${new Date(minutes[i]).toISOString()})`);
        continue;
      }
      c.feed(read.get(job.leftKey) as RecordRef[], read.get(job.rightKey) as RecordRef[], frontier);
      c.evict(frontier - lookAhead);
    }
    await startChecks(false);
    if (minutes.length > 10 && i % 10 === 9) options.onProgress?.(`compared ${i + 1} of ${minutes.length} minutes`);
  }
  for (const job of jobs) job.comparison.flush();
  await startChecks(true);
  await Promise.all(inFlight);
  const grace = options.graceMs ?? 5_000;
  await Promise.all(jobs.map((job) => job.comparison.settleYoung(grace)));
}
