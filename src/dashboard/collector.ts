import path from 'node:path';
import { APPS, type AppName } from '../config/apps.js';
import { deriveNames, type TsrConfig } from '../config/model.js';
import { dnsRegion } from '../clients/types.js';
import { readStateIfValid, type LocalState } from '../infra/local/state.js';
import { FlowHistory, sampleFlow, withDrills } from '../platform/flow-sampler.js';
import { generatorStatus, type GeneratorStatus } from '../platform/generator-control.js';
import { LocalPlatform } from '../platform/local-platform.js';
import { openPlatform } from '../platform/open.js';
import type { Platform, PlatformStatus, RoutingControlState } from '../platform/platform.js';
import { lastReconcile, lastReconcileName } from '../reconcile/index.js';
import { BusinessCounts } from './business-counts.js';
import { flowHealthSection } from './flow-section.js';
import { listScenarioFiles, scenarioDirectories } from '../gameday/load.js';
import { ActiveFaults, FAULT_SHAPES, TARGET_FAULTS } from '../platform/faults.js';
import { listGameDays } from './gamedays.js';
import { History } from './history.js';
import { JournalWatch } from './journals.js';
import { reconcileView } from './reconcile-view.js';
import type {
  FlowHealthView,
  AppControls,
  DashboardSections,
  FlowView,
  GeneratorView,
  HealthView,
  Meta,
  OnOff,
  SectionName,
  StageFlow,
} from './view-model.js';

/** Lag above this reads DELAYED (below: HEALTHY), like the rotation's preflight default. */
export const DELAYED_MS = 1_000;

export interface CollectorTiming {
  /** Routing controls, the generator, runs: what a drill changes. */
  readonly fastMs: number;
  /** Engines, services, replication lag. */
  readonly slowMs: number;
  /** Business counts (a primary-key read of the counts each core database keeps). */
  readonly businessMs: number;
  /** A look at every backlog for the falling-behind judgement (flow-sampler.ts: a few dozen small requests). */
  readonly flowMs: number;
  /** With no page open: one slow refresh this often, so the charts keep their history. */
  readonly idleMs: number;
}

export const DEFAULT_TIMING: CollectorTiming = {
  fastMs: 500,
  slowMs: 1_000,
  businessMs: 1_000,
  flowMs: 5_000,
  idleMs: 5_000,
};

type Publish = <K extends SectionName>(name: K, value: DashboardSections[K]) => void;

function controlState(controls: readonly RoutingControlState[], name: string): OnOff | undefined {
  return controls.find((c) => c.name === name)?.state;
}

/** Per app: which region is active, and every control per region. */
export function appControls(
  controls: readonly RoutingControlState[],
  regions: readonly string[],
  writers: Readonly<Partial<Record<AppName, string>>>,
): AppControls[] {
  return APPS.map((app) => ({
    app,
    active: dnsRegion(controls, app, regions),
    gate: controlState(controls, `${app}-gate`),
    writer: writers[app],
    regions: Object.fromEntries(
      regions.map((region) => [
        region,
        {
          dns: controlState(controls, `${app}-dns-${region}`),
          queue: controlState(controls, `${app}-queue-${region}`),
          app: controlState(controls, `${app}-app-${region}`),
        },
      ]),
    ),
  }));
}

/**
 * Reads the platform on a schedule and publishes each view when it changed. One collector serves every open page:
 * the cost of a refresh does not grow with the number of pages, and with none open it slows to `idleMs`.
 */
export class Collector {
  readonly history = new History();
  private readonly journals: JournalWatch;
  private readonly business?: BusinessCounts;
  private platform?: Platform;
  private platformStamp?: string;
  private state?: LocalState;
  private controls: RoutingControlState[] = [];
  private controlsError?: string;
  private status?: PlatformStatus;
  private generator?: GeneratorView | { error: string };
  /** The generator's status as read (its flow figures feed the judgement and the chart). */
  private generatorRaw?: GeneratorStatus;
  private businessCounts: FlowView['business'] = {};
  private businessAt?: number;
  private lastStages = new Map<string, { out: number; t: number }>();
  private stageFlows: StageFlow[] = [];
  /** Recent looks at the flow, in memory (`tsr status` keeps its own in the workspace). */
  private readonly flowHistory = new FlowHistory();
  private flowHealth?: FlowHealthView;
  private lastFlow = 0;
  private reconcileName?: string;
  /** The game-day button is wired (the server knows its runner). */
  gamedayAvailable = false;
  private downRegions: readonly string[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly wakers: (() => void)[] = [];
  private arc: { url: string; up: boolean }[] = [];
  private stopped = false;
  private lastBusiness = 0;
  private lastSlow = 0;
  viewers = 0;

  constructor(
    private readonly config: TsrConfig,
    private readonly publish: Publish,
    private readonly timing: CollectorTiming = DEFAULT_TIMING,
  ) {
    this.journals = new JournalWatch(config.workspace);
    if (config.target === 'local') this.business = new BusinessCounts(config.workspace, deriveNames(config).databases);
  }

  get runs(): JournalWatch {
    return this.journals;
  }

  start(): void {
    this.publishReconcile();
    this.loop(
      () => this.fast(),
      () => this.timing.fastMs,
    );
    this.loop(
      () => this.slow(),
      () => this.timing.slowMs,
    );
  }

  /** Runs `work` again `interval` after it ended (never overlapping itself); wake() runs a waiting one now. */
  private loop(work: () => Promise<void>, interval: () => number): void {
    let timer: NodeJS.Timeout | undefined;
    const run = async () => {
      timer = undefined;
      if (this.stopped) return;
      try {
        await work();
        this.lastError = undefined;
      } catch (error) {
        this.lastError = (error as Error).message;
        this.publish('meta', this.meta());
        // While the platform starts, parts are missing: not worth a line every second.
        if (this.state?.status !== 'starting')
          console.error(JSON.stringify({ level: 40, msg: 'dashboard refresh failed', err: (error as Error).message }));
      }
      if (this.stopped) return;
      timer = setTimeout(() => {
        if (timer) this.timers.delete(timer);
        void run();
      }, interval());
      this.timers.add(timer);
    };
    this.wakers.push(() => {
      if (!timer) return; // running now
      clearTimeout(timer);
      this.timers.delete(timer);
      void run();
    });
    void run();
  }

  /** A page opened: refresh now instead of at the next (idle) interval. */
  wake(): void {
    this.lastSlow = 0;
    for (const wake of this.wakers) wake();
  }

  private idle(): boolean {
    return this.viewers === 0;
  }

  /** The platform to read, made anew when the local state file changed (services restart on new ports). */
  private async currentPlatform(): Promise<Platform | undefined> {
    if (this.config.target !== 'local') {
      this.platform ??= await openPlatform(this.config);
      return this.platform;
    }
    const state = readStateIfValid(this.config.workspace);
    this.state = state;
    if (!state) return undefined;
    if (state.updatedAt !== this.platformStamp) {
      await this.platform?.close().catch(() => undefined);
      this.platform = new LocalPlatform(this.config, state);
      this.platformStamp = state.updatedAt;
    }
    return this.platform;
  }

  private lastError?: string;

  private meta(): Meta {
    const state = this.state;
    return {
      environment: this.config.environment,
      target: this.config.target,
      regions: this.config.regions,
      primary: this.config.regions[0],
      deployment: this.config.target === 'aws' ? 'remote' : (state?.status ?? 'not deployed'),
      phase: state?.phase,
      downRegions: state?.downRegions ?? [],
      error: this.lastError,
      at: Date.now(),
    };
  }

  private noteFaults(): void {
    const now = this.state?.downRegions ?? [];
    for (const region of now)
      if (!this.downRegions.includes(region))
        this.history.mark({ t: Date.now(), label: `region-down ${region}`, kind: 'fault' });
    for (const region of this.downRegions)
      if (!now.includes(region)) this.history.mark({ t: Date.now(), label: `region-up ${region}`, kind: 'fault' });
    this.downRegions = now;
  }

  /** What a drill changes: controls, the generator, runs. Skipped with no page open. */
  private async fast(): Promise<void> {
    if (this.idle()) return;
    const platform = await this.currentPlatform();
    this.publish('meta', this.meta());
    this.noteFaults();
    if (!platform) return;
    const [controls, generator] = await Promise.all([
      platform
        .routingControls()
        .list()
        .then((c) => ({ c }))
        .catch((error: Error) => ({ error: error.message })),
      platform instanceof LocalPlatform ? this.readGenerator(platform) : Promise.resolve(undefined),
    ]);
    if ('c' in controls) {
      this.controls = controls.c;
      this.controlsError = undefined;
    } else this.controlsError = controls.error;
    this.generator = generator;
    this.publishFlow();
    const runs = this.journals.read();
    for (const run of [...runs.running, ...runs.recent.slice(0, 5)]) {
      for (const marker of run.markers)
        this.history.mark({ t: Date.parse(marker.at), label: `${run.runbook} ${marker.name}`, kind: 'step' });
      for (const step of run.steps)
        if (step.startedAt)
          this.history.mark({ t: Date.parse(step.startedAt), label: `${run.runbook} ${step.id}`, kind: 'step' });
    }
    this.publish('drills', {
      running: runs.running,
      recent: runs.recent,
      gamedays: listGameDays(this.config.workspace),
      gamedayAvailable: this.gamedayAvailable,
      // Names only (a directory listing): the scenario is validated when it runs, as `tsr gameday` does.
      scenarios: listScenarioFiles(scenarioDirectories(this.config.workspace)).map((file) =>
        path.basename(file).replace(/\.ya?ml$/, ''),
      ),
      faultKinds: TARGET_FAULTS[this.config.target].map((kind) => ({ kind, ...FAULT_SHAPES[kind] })),
      activeFaults: new ActiveFaults(this.config.workspace)
        .list()
        .map(({ id, runId, summary, injectedAt }) => ({ id, runId, summary, injectedAt })),
    });
    this.publish('markers', this.history.allMarkers());
    this.publishReconcile();
  }

  /** The last reconcile saved in the workspace, whoever ran it; read again only when a newer one appears. */
  publishReconcile(): void {
    const name = lastReconcileName(this.config.workspace);
    if (name === this.reconcileName && name !== undefined) return;
    this.reconcileName = name;
    this.publish('reconcile', reconcileView(name ? lastReconcile(this.config.workspace) : undefined));
  }

  private async readGenerator(platform: LocalPlatform): Promise<GeneratorView | { error: string }> {
    try {
      this.generatorRaw = await generatorStatus(platform);
      return this.generatorView(this.generatorRaw);
    } catch (error) {
      this.generatorRaw = undefined;
      return { error: (error as Error).message };
    }
  }

  /**
   * One look at every backlog, judged with the looks before it by the shared falling-behind judgement. Reuses what
   * this refresh already read (controls, replication lag, the generator); only the live regions are looked at.
   */
  private async lookAtFlow(platform: Platform, status: PlatformStatus): Promise<void> {
    const capable = withDrills(platform);
    if (!capable) return;
    const down = this.state?.downRegions ?? [];
    const sample = await sampleFlow(capable, {
      routingControls: this.controlsError || !this.controls.length ? undefined : this.controls,
      replication: status.replication,
      generator: this.generatorRaw,
      regions: this.config.regions.filter((r) => !down.includes(r)),
    });
    this.flowHealth = flowHealthSection(this.flowHistory.add(sample));
  }

  /** Engines, services and lag; at idle only every `idleMs`, so the charts keep 15 minutes of history. */
  private async slow(): Promise<void> {
    if (this.idle() && Date.now() - this.lastSlow < this.timing.idleMs) return;
    this.lastSlow = Date.now();
    const platform = await this.currentPlatform();
    if (!platform) {
      this.publish('meta', this.meta());
      return;
    }
    if (this.idle()) {
      // Nobody looks: the fast loop is paused, so read the generator here for the chart.
      this.generator = platform instanceof LocalPlatform ? await this.readGenerator(platform) : undefined;
    }
    let depths: Map<string, number>;
    [this.status, this.arc, depths] = await Promise.all([
      platform.status(),
      platform instanceof LocalPlatform ? platform.arcEndpointHealth() : Promise.resolve([]),
      this.brokerDepths(platform),
    ]);
    const now = Date.now();
    this.stageFlows = (this.status.stages ?? []).map((s) => {
      const key = `${s.app}/${s.stage}@${s.region}`;
      const before = this.lastStages.get(key);
      const out = s.out ?? 0;
      this.lastStages.set(key, { out, t: now });
      const rate = before && now > before.t ? Math.max(0, ((out - before.out) * 1000) / (now - before.t)) : undefined;
      const backlog = s.stage === 'inbound-gateway' ? (depths.get(`${s.app}@${s.region}`) ?? s.backlog) : s.backlog;
      return { ...s, backlog, rate };
    });
    if (this.business && this.state && now - this.lastBusiness >= this.timing.businessMs) {
      this.lastBusiness = now;
      this.businessCounts = await this.business.read(this.state, this.config.apps);
      // Rejected records never reach a core database: the inbound gateways count them.
      const trade = this.businessCounts.trade;
      if (trade && !('error' in trade))
        this.businessCounts = {
          ...this.businessCounts,
          trade: {
            ...trade,
            REJECTED: this.stageFlows
              .filter((s) => s.app === 'trade' && s.stage === 'inbound-gateway')
              .reduce((sum, s) => sum + (s.rejected ?? 0), 0),
          },
        };
      this.businessAt = now;
    }
    if (now - this.lastFlow >= this.timing.flowMs) {
      this.lastFlow = now;
      await this.lookAtFlow(platform, this.status).catch((error: Error) => {
        console.error(JSON.stringify({ level: 40, msg: 'dashboard flow look failed', err: error.message }));
      });
    }
    const generator = this.generator && 'enabled' in this.generator ? this.generator : undefined;
    this.publishFlow();
    this.publish('health', this.health());
    const lags = this.status.replication.map((r) => r.lagMs).filter((l): l is number => l !== undefined);
    const backlog = this.stageFlows.length ? this.stageFlows.reduce((sum, s) => sum + (s.backlog ?? 0), 0) : null;
    // Pairs per second offered and confirmed, as the generator measures them (what the judgement shows too).
    const rates = this.generatorRaw?.flow;
    this.history.add({
      t: now,
      offered: generator && rates ? rates.offeredPerSecond : null,
      confirmed: generator && rates ? rates.confirmedPerSecond : null,
      p50: generator?.latency?.p50 ?? null,
      p99: generator?.latency?.p99 ?? null,
      lagMs: lags.length ? Math.max(...lags) : null,
      backlog,
    });
  }

  /** Per "app@region": messages the broker holds for the inbound gateway (live regions of the local target). */
  private async brokerDepths(platform: Platform): Promise<Map<string, number>> {
    if (!(platform instanceof LocalPlatform)) return new Map();
    const down = this.state?.downRegions ?? [];
    const pairs = this.config.apps.flatMap((app) =>
      this.config.regions.filter((r) => !down.includes(r)).map((region) => ({ app, region })),
    );
    const depths = await Promise.all(pairs.map(({ app, region }) => platform.brokerQueueDepth(app, region)));
    return new Map(depths.flatMap((d) => (d.depth === undefined ? [] : [[`${d.app}@${d.region}`, d.depth]])));
  }

  private generatorView(s: Awaited<ReturnType<typeof generatorStatus>>): GeneratorView {
    return {
      enabled: s.enabled,
      rate: s.rate,
      targetRegion: s.targetRegion,
      pairsSent: s.pairsSent,
      confirmations: s.confirmations,
      latency: s.latencyToMatchedMs,
      messagesSent: s.messagesSent,
    };
  }

  private publishFlow(): void {
    const writers = this.status?.writers ?? this.state?.writers ?? {};
    const flow: FlowView = {
      apps: appControls(this.controls, this.config.regions, writers),
      otherControls: this.controls
        .filter((c) => !/-(dns|queue|app)-/.test(c.name) && !c.name.endsWith('-gate'))
        .map((c) => ({ name: c.name, state: c.state })),
      controlsError: this.controlsError,
      stages: this.stageFlows,
      business: this.businessCounts,
      businessAt: this.businessAt,
      generator: this.generator,
      health: this.flowHealth,
    };
    this.publish('flow', flow);
  }

  private health(): HealthView {
    const status = this.status as PlatformStatus;
    const restarts = new Map((this.status?.stages ?? []).map((s) => [`${s.app}/${s.stage}@${s.region}`, s.restarts]));
    const components = [
      ...status.components.map((c) => ({ name: c.name, region: c.region, up: c.up, detail: c.detail })),
      ...(status.stages ?? []).map((s) => ({
        name: `${s.app}/${s.stage}`,
        region: s.region,
        up: s.up,
        restarts: restarts.get(`${s.app}/${s.stage}@${s.region}`),
      })),
    ];
    return {
      components,
      replication: status.replication.map((r) => ({
        kind: r.kind,
        resource: r.resource,
        from: r.from,
        to: r.to,
        lagMs: r.lagMs,
        detail: r.detail,
        verdict: !r.healthy
          ? 'UNHEALTHY'
          : r.lagMs === undefined
            ? 'UNKNOWN'
            : r.lagMs > DELAYED_MS
              ? 'DELAYED'
              : 'HEALTHY',
      })),
      thresholds: { delayedMs: DELAYED_MS },
      arcEndpoints: this.arc,
    };
  }

  /** Adds a marker for an action started from the page. */
  mark(label: string): void {
    this.history.mark({ t: Date.now(), label, kind: 'action' });
    this.publish('markers', this.history.allMarkers());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.business?.close();
    await this.platform?.close().catch(() => undefined);
  }
}
