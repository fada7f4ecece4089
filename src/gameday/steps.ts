import path from 'node:path';
import { z } from 'zod';
import { APPS, type AppName, type StageName } from '../config/apps.js';
import { ExitCode, UserError } from '../errors.js';
import {
  ActiveFaults,
  type AwsFault,
  describeFault,
  FAULT_KINDS,
  type FaultSpec,
  type InjectedFault,
  localFaultRequests,
  sendLocalFaultRequest,
  type UndoRequest,
} from '../platform/faults.js';
import { generatorStatus, startGenerator, stopGenerator } from '../platform/generator-control.js';
import type { LocalPlatform } from '../platform/local-platform.js';
import type { AwsFaults } from '../platform/aws/aws-faults.js';
import type { AwsPlatform } from '../platform/aws/aws-platform.js';
import type { DrillCapabilities } from '../platform/capabilities.js';
import { openPlatform } from '../platform/open.js';
import type { Platform } from '../platform/platform.js';
import { reconcile, resolveWindow } from '../reconcile/index.js';
import { loadRunbook } from '../runbooks/catalog.js';
import { formatDuration } from '../runbooks/duration.js';
import { runRunbook } from '../runbooks/engine.js';
import type { RunJournal } from '../runbooks/journal.js';
import { MARKERS } from '../runbooks/report.js';
import { defineStepType, type StepContext, type StepType } from '../runbooks/registry.js';
import { confirmedSides, readProbe, resolveRegion, withGenerator } from './probes.js';
import { PROBES, WAIT_CONDITIONS } from './scenario.js';

/** The directory of a game-day run's bundle (report, timeline, verdict). */
export function gamedayRunDir(workspace: string, runId: string): string {
  return path.join(workspace, 'gamedays', runId);
}

/** What a nested rotation or failover left for the game day's report. */
export interface RecoveryResult {
  readonly runId: string;
  readonly runbook: string;
  readonly app?: string;
  readonly from?: string;
  readonly to?: string;
  readonly status: string;
  readonly startedAt: string;
  readonly rtoMs?: number;
  readonly unavailabilityMs?: number;
  readonly rpoBeforeReplay?: number;
  readonly rpoAfterReplay?: number;
  readonly lostInRegion?: number;
  /** The trade pairs those sides belong to (the verdict's unit); undefined when not counted. */
  readonly lostPairsInRegion?: number;
  /** Per recovery, from the start of its run: controls moved, first record accepted in the target, first trade
   * confirmed end to end through the target (the canary). */
  readonly clocks: {
    readonly controlsMovedMs?: number;
    readonly firstAcceptedMs?: number;
    readonly firstConfirmedMs?: number;
  };
  readonly markers: Readonly<Record<string, string>>;
  readonly steps: readonly { readonly id: string; readonly durationMs?: number; readonly status: string }[];
}

const loadStart = defineStepType({
  type: 'gameday.load',
  summary: 'Start the generator at a rate and let it warm up',
  params: z.object({ rate: z.number().positive(), warmupMs: z.number().int().min(0).default(0) }).strict(),
  requiresTimeout: false,
  // On AWS its task may take minutes to start (the driver's settleMs); locally it answers within seconds.
  timeoutFor: (p) => p.warmupMs + 240_000,
  describe: (p) => `generator at ${p.rate} pairs/s, warm-up ${formatDuration(p.warmupMs)}`,
  async run(ctx, p) {
    const status = await startGenerator(withGenerator(ctx.platform), { rate: p.rate });
    if (!status.enabled)
      throw new Error('the generator did not start in time; see `tsr services logs generator` (AWS: its ECS service)');
    ctx.mark('load-started');
    if (p.warmupMs) {
      ctx.detail(`warming up for ${formatDuration(p.warmupMs)}`);
      await ctx.sleep(p.warmupMs);
    }
    ctx.mark('warmed-up');
    return {
      detail: `${p.rate} pairs/s, ledger ${status.ledger}`,
      result: { ledger: status.ledger, generatorRun: status.runId },
    };
  },
});

const loadStop = defineStepType({
  type: 'gameday.load-stop',
  summary: 'Stop the generator',
  params: z.object({}).strict(),
  defaultTimeoutMs: 30_000,
  describe: () => 'generator off',
  async run(ctx) {
    const status = await stopGenerator(withGenerator(ctx.platform));
    ctx.mark('load-stopped');
    return { detail: `${status.pairsSent} pairs sent`, result: { pairsSent: status.pairsSent } };
  },
});

const probeParams = z
  .object({
    probe: z.enum(PROBES),
    expect: z.enum(['hold', 'fail']).default('hold'),
    withinMs: z.number().int().positive().default(60_000),
    maxMs: z.number().int().positive().optional(),
  })
  .strict();

/** Reads the probe until it reads as expected; fails with the last reading when `within` runs out. */
async function probeUntil(ctx: StepContext, p: z.output<typeof probeParams>): Promise<string> {
  const deadline = Date.now() + p.withinMs;
  const warmedUp = ctx.markerAt('warmed-up')?.getTime();
  let last = '';
  for (;;) {
    const reading = await readProbe(ctx.platform, p.probe, {
      maxMs: p.maxMs,
      latencySince: warmedUp,
      sleep: (ms) => ctx.sleep(ms),
    });
    last = reading.detail;
    ctx.detail(last);
    if (reading.holds === (p.expect === 'hold')) return last;
    if (Date.now() >= deadline) {
      throw new Error(
        `${p.probe} ${p.expect === 'hold' ? 'did not hold' : 'never noticed the fault'} within ${formatDuration(p.withinMs)}: ${last}`,
      );
    }
    await ctx.sleep(1_000);
  }
}

const probe = defineStepType({
  type: 'gameday.probe',
  summary: 'A probe must read as expected (hold, or fail: the drill noticed the fault) within a time',
  params: probeParams,
  timeoutFor: (p) => p.withinMs + 30_000,
  describe: (p) =>
    `${p.probe} ${p.expect === 'hold' ? 'holds' : 'notices the fault'} within ${formatDuration(p.withinMs)}`,
  async run(ctx, p) {
    return { detail: await probeUntil(ctx, p) };
  },
});

const wait = defineStepType({
  type: 'gameday.wait',
  summary: 'Wait until a condition holds (replication caught up, confirming, healthy)',
  params: z.object({ condition: z.enum(WAIT_CONDITIONS), maxMs: z.number().int().positive().optional() }).strict(),
  requiresTimeout: true,
  describe: (p) => `until ${p.condition}${p.maxMs !== undefined ? ` (max ${formatDuration(p.maxMs)})` : ''}`,
  async run(ctx, p) {
    const withinMs = Math.max(1, (ctx.deadline ?? Date.now() + 600_000) - Date.now());
    return { detail: await probeUntil(ctx, { probe: p.condition, expect: 'hold', withinMs, maxMs: p.maxMs }) };
  },
});

const since = (start: string, at: string | undefined) =>
  at === undefined ? undefined : Date.parse(at) - Date.parse(start);

/** A child journal's running step, for the parent's live line. */
function childLine(journal: RunJournal | undefined): string {
  if (!journal) return 'starting';
  const running = journal.steps.find((s) => s.status === 'running');
  const done = journal.steps.filter((s) => s.status === 'completed').length;
  return running
    ? `[${done + 1}/${journal.steps.length}] ${running.id}${running.detail ? `: ${running.detail}` : ''}`
    : `${done}/${journal.steps.length} steps`;
}

const nestedRunbook = defineStepType({
  type: 'gameday.runbook',
  summary: 'Run a runbook (rotate, failover, or any other) as one phase, with its own journal, lock and report',
  params: z
    .object({ runbook: z.string(), params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])) })
    .strict(),
  defaultTimeoutMs: 30 * 60_000,
  describe: (p) =>
    `runbook ${p.runbook} ${Object.entries(p.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  async run(ctx, p) {
    const runbook = loadRunbook(p.runbook);
    let child: RunJournal | undefined;
    const ticker = setInterval(() => ctx.detail(childLine(child)), 500);
    // A fresh view of the platform, as `tsr rotate` would open: a fault undone earlier (a region back up) restarted
    // processes the game day's own view still knows by their old ids.
    const platform = await openPlatform(ctx.platform.config);
    try {
      const result = await runRunbook(runbook, p.params, {
        platform,
        workspace: ctx.workspace,
        yes: true,
        json: true,
        progress: 'silent',
        signal: ctx.signal,
        onJournal: (journal) => (child = journal),
      });
      const report = result.report;
      const recovery: RecoveryResult = {
        runId: report.runId,
        runbook: report.runbook,
        app: report.params.app as string | undefined,
        from: report.params.source as string | undefined,
        to: report.params.target as string | undefined,
        status: report.status,
        startedAt: report.startedAt,
        rtoMs: report.rtoMs,
        unavailabilityMs: report.unavailabilityMs,
        rpoBeforeReplay: report.rpo.beforeReplay?.count,
        rpoAfterReplay: report.rpo.afterReplay?.count,
        lostInRegion: report.rpo.lostInRegion?.unknown ? undefined : report.rpo.lostInRegion?.count,
        lostPairsInRegion: report.rpo.lostInRegion?.unknown ? undefined : report.rpo.lostInRegion?.pairs,
        clocks: {
          controlsMovedMs: since(report.startedAt, report.markers[MARKERS.dnsSwapped]),
          firstAcceptedMs: since(report.startedAt, report.markers[MARKERS.targetConsuming]),
          firstConfirmedMs: since(report.startedAt, report.markers[MARKERS.canaryConfirmed]),
        },
        markers: report.markers,
        steps: report.steps.map((s) => ({ id: s.id, durationMs: s.durationMs, status: s.status })),
      };
      if (report.status !== 'completed') {
        throw new Error(`${p.runbook} run ${report.runId} ${report.status}: ${report.message ?? 'see its report'}`);
      }
      const figures = [
        report.rtoMs !== undefined ? `RTO ${formatDuration(report.rtoMs)}` : undefined,
        report.unavailabilityMs !== undefined ? `unavailable ${formatDuration(report.unavailabilityMs)}` : undefined,
        report.message,
      ].filter(Boolean);
      return { detail: `${report.runId}: ${figures.join(', ') || 'completed'}`, result: recovery };
    } finally {
      clearInterval(ticker);
      await platform.close();
    }
  },
});

const faultParams = z
  .object({
    fault: z.string(),
    kind: z.enum(FAULT_KINDS),
    region: z.string().optional(),
    app: z.enum(APPS).optional(),
    stage: z.string().optional(),
    delayMs: z.number().int().min(0).optional(),
    endpoints: z.enum(['all-but-one', 'all']).optional(),
    holdMs: z.number().int().positive().optional(),
  })
  .strict();

function localTarget(platform: Platform): LocalPlatform {
  if (platform.target !== 'local')
    throw new UserError(`the ${platform.target} target cannot inject faults here yet`, undefined, ExitCode.usage);
  return platform as LocalPlatform;
}

/** The AWS platform's fault injector (ECS, RDS through the AWS APIs). */
function awsFaults(platform: Platform): AwsFaults {
  return (platform as AwsPlatform).faults();
}

async function sendAll(platform: Platform, requests: readonly UndoRequest[]): Promise<void> {
  for (const request of requests) {
    if (request.via === 'aws') await awsFaults(platform).undo(request.fault);
    // The state as the control process keeps it now: a region coming back may have moved nothing, but read it fresh.
    else await sendLocalFaultRequest(localTarget(platform).drills.state().endpoints, request);
  }
}

/** Undoes one recorded fault and forgets it; the record stays when the undo fails (recover tries again). */
export async function undoFault(platform: Platform, workspace: string, fault: InjectedFault): Promise<void> {
  await sendAll(platform, fault.undo);
  new ActiveFaults(workspace).remove(fault.runId, fault.id);
}

/** A fault ready to inject: what undoes it is known before anything changes. */
interface PreparedFault {
  readonly undo: readonly UndoRequest[];
  inject(): Promise<void>;
  readonly detail?: string;
}

/**
 * The AWS side of a fault (TARGET_FAULTS.aws): services scaled down through ECS (their counts read first, so the
 * undo is on record before anything changes), one task stopped (ECS replaces it), the writer cluster failed over
 * within its region (Aurora restarts the old writer as a reader: nothing to undo), a partition through FIS, or ARC
 * endpoints held down in tsr's own ARC client.
 */
async function prepareAwsFault(platform: Platform, spec: FaultSpec, writerRegion: string | undefined, hold: boolean) {
  const faults = awsFaults(platform);
  const region = spec.region ?? '';
  const undoOf = (fault: AwsFault): UndoRequest[] => [{ via: 'aws', fault, timeoutMs: 120_000 }];
  const prepared = (fault: AwsFault): PreparedFault => ({
    undo: undoOf(fault),
    inject: () => faults.inject(fault),
    detail: fault.detail,
  });
  switch (spec.kind) {
    case 'region-down':
      return prepared(await faults.prepareScale('region-down', region, faults.servicesOf('region-down', region)));
    case 'kill-stage':
      return prepared(
        await faults.prepareScale('kill-stage', region, faults.servicesOf('kill-stage', region, spec.app, spec.stage)),
      );
    case 'kill-service':
      if (hold) return prepared(await faults.prepareHoldOneDown(spec.app as AppName, spec.stage as StageName, region));
      return {
        undo: [],
        inject: async () => void (await faults.killService(spec.app as AppName, spec.stage as StageName, region)),
      };
    case 'db-writer-crash':
      return {
        undo: [],
        inject: async () => void (await faults.dbWriterCrash(spec.app as AppName, writerRegion ?? '')),
      };
    case 'partition': {
      const fault = await faults.preparePartition();
      return { undo: undoOf(fault), inject: () => faults.startExperiments(fault), detail: fault.detail };
    }
    case 'arc-endpoints-down':
      return prepared(faults.prepareArcEndpointsDown(spec.endpoints ?? 'all-but-one'));
    default:
      throw new UserError(`the aws target cannot inject ${spec.kind}`, undefined, ExitCode.usage);
  }
}

/** A fault as asked for: regions may be aliases (primary, active, …), resolved when it is injected. */
export interface FaultRequest {
  readonly kind: FaultSpec['kind'];
  readonly region?: string;
  readonly app?: AppName;
  readonly stage?: FaultSpec['stage'];
  readonly delayMs?: number;
  readonly endpoints?: FaultSpec['endpoints'];
}

/**
 * Injects one fault now, its undo recorded in the workspace first (so `tsr gameday recover` can always put it back):
 * what a game day's fault phase does, and what the dashboard's fault buttons run.
 */
export async function injectFaultNow(
  platform: Platform,
  workspace: string,
  options: {
    readonly id: string;
    readonly runId: string;
    readonly request: FaultRequest;
    /** Held down until undone (kill-service keeps the service down instead of letting it restart). */
    readonly hold: boolean;
    readonly onDetail?: (text: string) => void;
  },
): Promise<InjectedFault> {
  const p = options.request;
  if (platform.target !== 'aws') localTarget(platform);
  const region = p.region ? await resolveRegion(platform, p.region, p.app) : undefined;
  const spec: FaultSpec = {
    kind: p.kind,
    region,
    app: p.app,
    stage: p.stage,
    delayMs: p.delayMs,
    endpoints: p.endpoints,
  };
  // Only a writer crash needs to know where the writer is (a region that is down may not answer).
  const writerRegion =
    p.app && p.kind === 'db-writer-crash'
      ? await (platform as Platform & DrillCapabilities).databaseWriter(p.app)
      : undefined;
  let prepared: PreparedFault;
  if (platform.target === 'aws') {
    prepared = await prepareAwsFault(platform, { ...spec, region: region ?? writerRegion }, writerRegion, options.hold);
  } else {
    const local = localTarget(platform);
    const requests = localFaultRequests(spec, {
      writerRegion,
      arcEndpoints: local.state.endpoints.arc.length,
      hold: options.hold,
    });
    prepared = { undo: requests.undo, inject: () => sendAll(local, requests.inject) };
  }
  const fault: InjectedFault = {
    id: options.id,
    runId: options.runId,
    spec,
    summary: describeFault(spec) + (writerRegion && p.kind === 'db-writer-crash' ? ` (writer in ${writerRegion})` : ''),
    injectedAt: new Date().toISOString(),
    undo: prepared.undo,
  };
  new ActiveFaults(workspace).add(fault); // before injecting: a crash right after still leaves the undo on record
  options.onDetail?.(`injecting ${fault.summary}`);
  await prepared.inject();
  return fault;
}

const injectFault = defineStepType({
  type: 'gameday.fault',
  summary: 'Inject a fault (recorded with its undo first); with a hold time, undo it at the end of the step',
  params: faultParams,
  timeoutFor: (p) => (p.holdMs ?? 0) + 240_000,
  describe: (p) =>
    `${describeFault({ ...p, stage: p.stage as FaultSpec['stage'] })}${p.holdMs ? ` for ${formatDuration(p.holdMs)}` : ''}`,
  async run(ctx, p) {
    const platform = ctx.platform;
    const fault = await injectFaultNow(platform, ctx.workspace, {
      id: p.fault,
      runId: ctx.runId,
      request: { ...p, stage: p.stage as FaultSpec['stage'] },
      hold: p.holdMs !== undefined,
      onDetail: (text) => ctx.detail(text),
    });
    ctx.mark(`fault-${p.fault}`);
    if (!p.holdMs) return { detail: `injected ${fault.summary}`, result: fault };
    ctx.detail(`${fault.summary}: holding for ${formatDuration(p.holdMs)}`);
    await ctx.sleep(p.holdMs);
    ctx.detail(`undoing ${fault.summary}`);
    await undoFault(platform, ctx.workspace, fault);
    ctx.mark(`undone-${p.fault}`);
    return { detail: `${fault.summary}: held ${formatDuration(p.holdMs)}, undone`, result: fault };
  },
});

const undoOne = defineStepType({
  type: 'gameday.undo',
  summary: 'Undo a fault injected by an earlier step',
  params: z.object({ fault: z.string() }).strict(),
  defaultTimeoutMs: 240_000,
  describe: (p) => `undo ${p.fault}`,
  async run(ctx, p) {
    const fault = new ActiveFaults(ctx.workspace).list().find((f) => f.runId === ctx.runId && f.id === p.fault);
    if (!fault) return { detail: `${p.fault} is not injected (already undone)` };
    ctx.detail(`undoing ${fault.summary}`);
    await undoFault(ctx.platform, ctx.workspace, fault);
    ctx.mark(`undone-${p.fault}`);
    return { detail: `undid ${fault.summary}` };
  },
});

/** Undoes every fault still recorded for `runId` (all runs when undefined), newest first, each even if one fails. */
export async function undoAllFaults(
  platform: Platform,
  workspace: string,
  runId: string | undefined,
  onProgress: (text: string) => void = () => {},
): Promise<{ undone: string[]; failed: string[] }> {
  const faults = new ActiveFaults(workspace)
    .list()
    .filter((f) => runId === undefined || f.runId === runId)
    .reverse();
  const undone: string[] = [];
  const failed: string[] = [];
  for (const fault of faults) {
    onProgress(`undoing ${fault.summary}`);
    try {
      await undoFault(platform, workspace, fault);
      undone.push(fault.summary);
    } catch (error) {
      failed.push(`${fault.summary}: ${(error as Error).message}`);
    }
  }
  return { undone, failed };
}

const undoAll = defineStepType({
  type: 'gameday.undo-all',
  summary: 'Undo every fault this run injected that is still in place',
  params: z.object({}).strict(),
  defaultTimeoutMs: 300_000,
  describe: () => 'undo every fault still injected',
  async run(ctx) {
    const { undone, failed } = await undoAllFaults(ctx.platform, ctx.workspace, ctx.runId, (t) => ctx.detail(t));
    if (failed.length) throw new Error(`could not undo: ${failed.join('; ')} (\`tsr gameday recover\` tries again)`);
    return { detail: undone.length ? `undid ${undone.join(', ')}` : 'no fault left in place' };
  },
});

const reconcilePhase = defineStepType({
  type: 'gameday.reconcile',
  summary: 'Reconcile an app (or all) where it runs now, replaying any gap',
  params: z.object({ app: z.enum([...APPS, 'all']), since: z.string().default('30m') }).strict(),
  defaultTimeoutMs: 10 * 60_000,
  describe: (p) => `reconcile ${p.app} over the last ${p.since}, replaying gaps`,
  async run(ctx, p) {
    const apps = p.app === 'all' ? [...APPS] : [p.app];
    const lines: string[] = [];
    for (const app of apps) {
      const region = await resolveRegion(ctx.platform, 'active', app);
      const report = await reconcile(ctx.platform, {
        window: resolveWindow({ since: p.since }),
        apps: [app],
        region,
        replay: true,
        onProgress: (m: string) => ctx.detail(`${app}: ${m}`),
        by: `game day ${ctx.runId}`,
      });
      const after = report.replay?.after ?? report;
      lines.push(`${app}: ${report.totals.missing} missing, ${after.totals.missing} after replay`);
    }
    return { detail: lines.join('; ') };
  },
});

const steadyLatency = defineStepType({
  type: 'gameday.steady-latency',
  summary: 'Record submit → MATCHED latency in steady state (since the warm-up ended)',
  params: z.object({}).strict(),
  defaultTimeoutMs: 30_000,
  describe: () => 'record steady-state latency',
  async run(ctx) {
    const since = ctx.markerAt('warmed-up')?.getTime();
    const status = await generatorStatus(withGenerator(ctx.platform), { latencySince: since });
    const latency = status.latencyToMatchedMs;
    return {
      detail: latency
        ? `p50 ${latency.p50} ms, p99 ${latency.p99} ms over ${latency.samples} confirmations`
        : 'no confirmation yet',
      result: { latency, confirmedSides: confirmedSides(status) },
    };
  },
});

/** The step types a game day adds to the runbook engine's. */
export const GAMEDAY_STEP_TYPES: readonly StepType[] = [
  loadStart,
  loadStop,
  probe,
  wait,
  nestedRunbook,
  injectFault,
  undoOne,
  undoAll,
  reconcilePhase,
  steadyLatency,
];
