/**
 * Reconciliation (docs/domain.md#reconciliation-and-replay): for a window, compare what each stage forwarded with what the next stage accepted,
 * along every hop of the chosen apps, and each safe store with its copy in every other region; optionally replay
 * what is missing (see replay.ts). Runbooks call `reconcile(platform, options)` as a step; `tsr reconcile` renders it.
 *
 * Reads go through the stores' time index only, one minute bucket at a time for every store at once (a store read
 * once feeds every comparison it takes part in), a few minutes ahead; memory is bounded by a minute of records plus
 * the look-ahead, whatever the window's length.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { APPS, type AppName } from '../config/apps.js';
import { describeError, ExitCode, UserError } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import { compareWindow, type ReconcileOptions, type ReconcilePlan } from './compare-window.js';
import { hopsFor } from './hops.js';
import type { ReconcileReport } from './report.js';
import { replayGaps } from './replay.js';
import { saveReconcile } from './saved.js';

export { compareWindow, type ReconcileOptions, type ReconcilePlan } from './compare-window.js';

/** The region to read for each app: as asked, else the one whose dns control is ON, else the primary. */
export async function resolveRegions(
  platform: Platform,
  apps: readonly AppName[],
  region?: string,
): Promise<{ regions: Partial<Record<AppName, string>>; notes: string[] }> {
  const all = platform.config.regions;
  if (region !== undefined) {
    if (!all.includes(region)) {
      throw new UserError(
        `region ${region} is not one of this platform's regions (${all.join(', ')})`,
        `use --region ${all[0]}, or leave --region out to read each app's active region`,
        ExitCode.usage,
      );
    }
    return { regions: Object.fromEntries(APPS.map((a) => [a, region])), notes: [] };
  }
  const notes: string[] = [];
  let states: Map<string, string> | undefined;
  try {
    states = new Map((await platform.routingControls().list()).map((c) => [c.name, c.state]));
  } catch (error) {
    notes.push(`routing controls could not be read (${describeError(error)}); reading the primary region`);
  }
  const regions: Partial<Record<AppName, string>> = {};
  // Both apps are resolved: a hop into one app starts in the other.
  for (const app of APPS) {
    const on = all.filter((r) => states?.get(`${app}-dns-${r}`) === 'On');
    regions[app] = on[0] ?? all[0];
    if (states && on.length === 0) notes.push(`no ${app} dns control is ON; reading the primary region ${all[0]}`);
    if (on.length > 1) notes.push(`${app} dns is ON in ${on.join(' and ')}; reading ${on[0]}`);
  }
  void apps;
  return { regions, notes };
}

/** Builds the plan: which apps, which region each is read in, which hops. */
export async function planReconcile(
  platform: Platform,
  options: Pick<ReconcileOptions, 'apps' | 'region'>,
): Promise<ReconcilePlan> {
  const apps = options.apps?.length ? [...options.apps] : platform.config.apps.filter((a) => APPS.includes(a));
  const { regions, notes } = await resolveRegions(platform, apps, options.region);
  for (const region of new Set(Object.values(regions))) platform.endpoints(region as string); // unknown: UserError
  return { apps, regions, hops: hopsFor(platform.config.environment, apps, platform.names), notes };
}

/**
 * Reconciles a window: per hop and per store across regions, counts, missing, extra and status differences, with
 * ids; with `replay`, re-injects what is missing (or says what it would, with `dryRun`) and re-checks. The report is
 * saved in the workspace (saved.ts), whoever asked, so the dashboard shows the last one.
 */
export async function reconcile(platform: Platform, options: ReconcileOptions): Promise<ReconcileReport> {
  const plan = await planReconcile(platform, options);
  const clients = new Map<string, DynamoDBClient>();
  let report: ReconcileReport;
  try {
    report = await compareWindow(platform, plan, options.window, options, clients);
    if (options.replay) report = { ...report, replay: await replayGaps(platform, plan, report, options, clients) };
  } finally {
    for (const c of clients.values()) c.destroy();
  }
  try {
    saveReconcile(platform.config.workspace, report, options.by ?? 'reconcile');
  } catch (error) {
    report = { ...report, notes: [...report.notes, `the report could not be saved: ${describeError(error)}`] };
  }
  return report;
}

/**
 * The exit code a report stands for: gapsFound when something is still missing (after the replay, if one ran),
 * unhealthy when part of it could not be checked or replayed, ok otherwise.
 */
export function reconcileExitCode(report: ReconcileReport): number {
  const final = report.replay?.after ?? report;
  if (final.gaps || (report.replay?.dryRun && report.gaps)) return ExitCode.gapsFound;
  if (!final.complete || !report.complete || report.replay?.actions.some((a) => a.error)) return ExitCode.unhealthy;
  return ExitCode.ok;
}
