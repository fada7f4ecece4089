import { randomUUID } from 'node:crypto';
import { isAppName, STAGES, type AppName, type StageName } from '../config/apps.js';
import type { TsrConfig } from '../config/model.js';
import { requireConfiguredRegion } from '../config/regions.js';
import { describeError, ExitCode, UserError } from '../errors.js';
import { drillParams } from '../lib/drill-flags.js';
import { injectFaultNow, undoFault, type FaultRequest } from '../gameday/steps.js';
import { ActiveFaults, describeFault, FAULT_SHAPES, TARGET_FAULTS, type FaultKind } from '../platform/faults.js';
import { configureGenerator, startGenerator, stopGenerator } from '../platform/generator-control.js';
import { openLocalPlatform, openPlatform } from '../platform/open.js';
import { reconcile, reconcileExitCode, resolveWindow } from '../reconcile/index.js';
import { runExitCode } from '../runbooks/engine.js';
import { executeRunbook, type ExecuteResult } from '../runbooks/execute.js';
import { failoverInOrder } from '../runbooks/failover-order.js';
import { waitUntilCaughtUp } from '../runbooks/steps/wait-replicated.js';
import type { ActionName, ActionRequests, ActionView } from './view-model.js';

/** What an action can report while it runs. */
export interface ActionContext {
  progress(text: string): void;
  /** The run a runbook action started, once known. */
  run(runId: string): void;
}

/**
 * Running a game day from the page. The dashboard only knows this interface; the game-day library provides the
 * implementation (see NO_GAMEDAY).
 */
export interface GameDayRunner {
  readonly available: boolean;
  run(request: ActionRequests['gameday'], context: ActionContext): Promise<{ runId?: string; report?: string }>;
}

/** Where no game day runs from the page (the aws target's foreground dashboard: run it from a terminal). */
export const NO_GAMEDAY: GameDayRunner = {
  available: false,
  async run() {
    throw new UserError(
      'running a game day from the dashboard is not connected yet',
      'run it from a terminal with `tsr gameday`; its report then appears under Drills',
      ExitCode.usage,
    );
  },
};

const MAX_RATE = 5_000;

/** The run id the dashboard's faults are recorded under (a game day's are under its own). */
export const DASHBOARD_FAULTS = 'dashboard';

function rate(value: unknown, required: boolean): number | undefined {
  if (value === undefined && !required) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_RATE)
    throw new UserError(`rate "${String(value)}" is not a whole number of pairs per second from 1 to ${MAX_RATE}`);
  return n;
}

function app(value: unknown, allowAll = false): AppName | 'all' {
  const text = String(value ?? '');
  if (isAppName(text) || (allowAll && text === 'all')) return text as AppName | 'all';
  throw new UserError(`"${text}" is not an app`, `use trade or settlement${allowAll ? ' or all' : ''}`);
}

const MAX_FAULT_DELAY_MS = 10 * 60_000;

/** A fault from the page's form: the kind the target can inject, and only what that kind needs, each checked. */
function faultRequest(config: TsrConfig, request: ActionRequests['fault.inject']): FaultRequest {
  const kind = String(request.kind ?? '') as FaultKind;
  const offered = TARGET_FAULTS[config.target];
  if (!offered.includes(kind))
    throw new UserError(`the ${config.target} target cannot inject "${kind}"`, `choose one of: ${offered.join(', ')}`);
  const needs = FAULT_SHAPES[kind].needs;
  const stage = String(request.stage ?? '');
  if (needs.includes('stage') && !(STAGES as readonly string[]).includes(stage))
    throw new UserError(`"${stage}" is not a stage`, `use one of: ${STAGES.join(', ')}`);
  const delayMs = Number(request.delayMs);
  if (needs.includes('delay') && (!Number.isInteger(delayMs) || delayMs < 1 || delayMs > MAX_FAULT_DELAY_MS))
    throw new UserError(`delay "${String(request.delayMs)}" ms is not from 1 to ${MAX_FAULT_DELAY_MS}`);
  const endpoints = request.endpoints === 'all' ? 'all' : 'all-but-one';
  if (needs.includes('region')) requireConfiguredRegion(config, String(request.region ?? ''));
  return {
    kind,
    app: needs.includes('app') ? (app(request.app) as AppName) : undefined,
    stage: needs.includes('stage') ? (stage as StageName) : undefined,
    region: needs.includes('region') ? String(request.region) : undefined,
    delayMs: needs.includes('delay') ? delayMs : undefined,
    endpoints: needs.includes('endpoints') ? endpoints : undefined,
  };
}

/** The page's typed confirmation: like the CLI's, the name of what is at stake, typed exactly. */
function confirmTyped(given: unknown, expected: string, what: string): void {
  if (given !== expected)
    throw new UserError(`not confirmed: ${what}`, `type "${expected}" to confirm`, ExitCode.refused);
}

/** A runbook action's outcome, as the CLI would exit. */
function runOutcome(result: ExecuteResult): { exitCode: number; error?: string } {
  if (result.dryRun) return { exitCode: ExitCode.ok };
  const exitCode = runExitCode(result.journal);
  const failed = result.journal.steps.find((s) => s.status === 'failed');
  return {
    exitCode,
    error:
      exitCode === ExitCode.ok
        ? undefined
        : `${result.journal.runbook.name} ${result.journal.status}${failed ? ` at ${failed.id}: ${failed.error ?? ''}` : ''}${result.journal.message ? ` (${result.journal.message})` : ''}`,
  };
}

class ActionFailed extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * Every action the page offers, each through the same library function as its CLI command (no second
 * implementation): the generator's control functions, executeRunbook for rotate and failover, the platform's drills
 * for region down/up, the routing-control client, reconcile.
 */
export class Actions {
  private readonly views: ActionView[] = [];
  private readonly byId = new Map<string, ActionView & { progress: string[] }>();

  constructor(
    private readonly config: TsrConfig,
    private readonly changed: (views: readonly ActionView[]) => void,
    private readonly mark: (label: string) => void,
    private readonly gameday: GameDayRunner = NO_GAMEDAY,
  ) {}

  list(): readonly ActionView[] {
    return this.views;
  }

  get gamedayAvailable(): boolean {
    return this.gameday.available;
  }

  /** Checks the request, then runs it in the background; the page follows it over the event stream. */
  start<K extends ActionName>(name: K, request: ActionRequests[K]): ActionView {
    const work = this.prepare(name, request as never); // bad input throws here, before anything starts
    const view = {
      id: randomUUID(),
      name,
      label: work.label,
      status: 'running' as const,
      startedAt: Date.now(),
      progress: [] as string[],
    };
    this.update(view);
    if (work.marks) this.mark(work.label);
    const context: ActionContext = {
      progress: (text) => {
        const current = this.byId.get(view.id);
        if (!current) return;
        this.update({ ...current, progress: [...current.progress, text].slice(-50) });
      },
      run: (runId) => {
        const current = this.byId.get(view.id);
        if (current) this.update({ ...current, runId });
      },
    };
    void work
      .run(context)
      .then(() => this.finish(view.id, 'succeeded'))
      .catch((error: unknown) => {
        const exitCode =
          error instanceof UserError || error instanceof ActionFailed ? error.exitCode : ExitCode.failure;
        this.finish(view.id, exitCode === ExitCode.refused ? 'refused' : 'failed', {
          message: describeError(error),
          fix: error instanceof UserError ? error.fix : undefined,
          exitCode,
        });
      })
      .finally(() => {
        // executeRunbook and reconcile set the exit code a CLI would exit with; this process does not exit.
        process.exitCode = undefined;
      });
    return this.byId.get(view.id) as ActionView;
  }

  private update(view: ActionView & { progress: string[] }): void {
    this.byId.set(view.id, view);
    const index = this.views.findIndex((v) => v.id === view.id);
    if (index >= 0) this.views[index] = view;
    else this.views.unshift(view);
    while (this.views.length > 20) this.byId.delete((this.views.pop() as ActionView).id);
    this.changed([...this.views]);
  }

  private finish(id: string, status: ActionView['status'], error?: ActionView['error']): void {
    const current = this.byId.get(id);
    if (current) this.update({ ...current, status, endedAt: Date.now(), error });
  }

  private runbook(name: 'rotate' | 'failover', params: Record<string, string>, ctx: ActionContext) {
    const before = new Date().toISOString();
    return executeRunbook(this.config, name, params, { yes: true, json: true, log: (t) => ctx.progress(t) }).then(
      (result) => {
        if (!result.dryRun && result.journal.startedAt >= before) ctx.run(result.journal.runId);
        const { exitCode, error } = runOutcome(result);
        return { result: { error }, exitCode };
      },
    );
  }

  private prepare(
    name: ActionName,
    request: Record<string, unknown>,
  ): { label: string; marks?: boolean; run: (ctx: ActionContext) => Promise<unknown> } {
    const config = this.config;
    const local = async <T>(work: (p: Awaited<ReturnType<typeof openLocalPlatform>>) => Promise<T>) => {
      const platform = await openLocalPlatform(config);
      try {
        return await work(platform);
      } finally {
        await platform.close();
      }
    };
    switch (name) {
      case 'generator.start': {
        const r = rate(request.rate, false);
        return {
          label: `generator start${r ? ` at ${r} pairs/s` : ''}`,
          marks: true,
          run: () => local((p) => startGenerator(p, { rate: r })),
        };
      }
      case 'generator.stop':
        return { label: 'generator stop', marks: true, run: () => local((p) => stopGenerator(p)) };
      case 'generator.rate': {
        const r = rate(request.rate, true);
        return { label: `generator rate ${r}`, run: () => local((p) => configureGenerator(p, { rate: r })) };
      }
      case 'rotate': {
        const a = app(request.app) as AppName;
        confirmTyped(request.confirm, a, `rotate ${a}`);
        const wait = request.waitReplication === undefined ? undefined : String(request.waitReplication);
        const params: Record<string, string> = {
          ...drillParams(a, { to: String(request.to ?? 'standby') }),
          ...(wait ? { waitReplication: wait } : {}),
        };
        return {
          label: `rotate ${a} --to ${params.target}${wait ? ` --wait-replication ${wait}` : ''}`,
          marks: true,
          run: async (ctx) => {
            const { exitCode, result } = await this.runbook('rotate', params, ctx);
            if (result.error) throw new ActionFailed(result.error, exitCode);
          },
        };
      }
      case 'failover': {
        const a = app(request.app, true);
        confirmTyped(request.confirm, config.environment, `fail ${a} over (forces the database writer over)`);
        const to = String(request.to ?? 'standby');
        return {
          label: `failover ${a} --to ${to}`,
          marks: true,
          run: async (ctx) => {
            const apps = (one: AppName) => this.runbook('failover', drillParams(one, { to }), ctx);
            const { runs, exitCode } =
              a === 'all'
                ? await failoverInOrder(async (one) => {
                    ctx.progress(`failover ${one}…`);
                    return apps(one);
                  })
                : await apps(a).then((r) => ({ runs: [{ app: a, result: r.result }], exitCode: r.exitCode }));
            const errors = runs.flatMap((r) => (r.result.error ? [r.result.error] : []));
            if (exitCode !== ExitCode.ok) throw new ActionFailed(errors.join('; ') || 'failed', exitCode);
          },
        };
      }
      case 'region.down':
      case 'region.up': {
        const region = String(request.region ?? '');
        requireConfiguredRegion(config, region);
        confirmTyped(request.confirm, region, `${name === 'region.down' ? 'lose' : 'restore'} ${region}`);
        const down = name === 'region.down';
        return {
          label: `chaos region-${down ? 'down' : 'up'} ${region}`,
          marks: true,
          run: (ctx) =>
            local(async (p) => {
              p.endpoints(region);
              if (down) return p.drills.regionDown(region);
              await p.drills.regionUp(region);
              ctx.progress(`${region} is up; waiting for replication into it to catch up`);
              const catchUp = await waitUntilCaughtUp(
                p,
                { to: region },
                { maxLagMs: 1_000, timeoutMs: 5 * 60_000, onProgress: (a) => ctx.progress(a.detail) },
              );
              if (!catchUp.caughtUp)
                throw new ActionFailed(`${region} has not caught up: ${catchUp.assessment.detail}`, ExitCode.unhealthy);
              ctx.progress(`caught up: ${catchUp.assessment.detail}`);
            }),
        };
      }
      case 'routing.set': {
        const control = String(request.control ?? '');
        const state = request.state === 'On' ? 'On' : request.state === 'Off' ? 'Off' : undefined;
        if (!state) throw new UserError(`state "${String(request.state)}" is not On or Off`);
        confirmTyped(request.confirm, control, `set ${control} ${state}`);
        return {
          label: `routing-control set ${control}=${state}`,
          marks: true,
          run: async () => {
            const platform = await openPlatform(config);
            try {
              await platform.routingControls().set([{ control, state }]);
            } finally {
              await platform.close();
            }
          },
        };
      }
      case 'reconcile':
      case 'replay': {
        const since = String(request.since ?? '15m');
        const window = resolveWindow({ since });
        const replay = name === 'replay';
        if (replay) confirmTyped(request.confirm, config.environment, 're-inject missing records');
        return {
          label: `reconcile --since ${since}${replay ? ' --replay' : ''}`,
          marks: replay,
          run: async (ctx) => {
            const platform = await openPlatform(config);
            try {
              // Saved in the workspace like every reconcile's report: the Reconcile view shows it from there.
              const report = await reconcile(platform, {
                window,
                replay,
                by: 'dashboard',
                onProgress: (m) => ctx.progress(m),
              });
              const code = reconcileExitCode(report);
              if (code === ExitCode.gapsFound)
                ctx.progress(`${report.totals.missing} record(s) missing${replay ? ' after the replay' : ''}`);
              else if (code !== ExitCode.ok) throw new ActionFailed('part of it could not be checked', code);
            } finally {
              await platform.close();
            }
          },
        };
      }
      case 'fault.inject': {
        const fault = faultRequest(config, request as ActionRequests['fault.inject']);
        confirmTyped(request.confirm, config.environment, `inject ${fault.kind}`);
        return {
          label: `fault ${describeFault(fault)}`,
          marks: true,
          run: async (ctx) => {
            const platform = await openPlatform(config);
            try {
              // What a game day's fault phase runs, held until undone from the page (or `tsr gameday recover`).
              const injected = await injectFaultNow(platform, config.workspace, {
                id: `${fault.kind}-${Date.now().toString(36)}`,
                runId: DASHBOARD_FAULTS,
                request: fault,
                hold: true,
                onDetail: (text) => ctx.progress(text),
              });
              ctx.progress(`injected ${injected.summary}: undo it under Active faults`);
            } finally {
              await platform.close();
            }
          },
        };
      }
      case 'fault.undo': {
        const { id, runId } = request as ActionRequests['fault.undo'];
        const fault = new ActiveFaults(config.workspace).list().find((f) => f.id === id && f.runId === runId);
        if (!fault) throw new UserError(`no active fault ${String(id)}`, 'reload the page: it may be undone already');
        return {
          label: `undo ${fault.summary}`,
          marks: true,
          run: async (ctx) => {
            const platform = await openPlatform(config);
            try {
              await undoFault(platform, config.workspace, fault);
              ctx.progress(`undone: ${fault.summary}`);
            } finally {
              await platform.close();
            }
          },
        };
      }
      case 'gameday':
        confirmTyped(request.confirm, config.environment, 'run a game day');
        return {
          label: `gameday${request.scenario ? ` ${String(request.scenario)}` : ''}`,
          marks: true,
          run: async (ctx) => {
            const { runId } = await this.gameday.run(request as ActionRequests['gameday'], ctx);
            if (runId) ctx.run(runId);
          },
        };
      default:
        throw new UserError(`unknown action "${String(name)}"`, 'reload the page', ExitCode.usage);
    }
  }
}
