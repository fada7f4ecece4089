/**
 * Takes a `FlowSample` (flow-health.ts) from what the platform already exposes, and keeps recent samples so a
 * judgement can see growth across looks. Per look, for each app only in the regions where it works (its dns, queue
 * or app control On): the broker's backlog for the inbound session, the records after each stream consumer's
 * checkpoint (bounded reads from the checkpoint, never a table scan), replication lag grouped per link, and the
 * generator's offered vs confirmed figures. A look costs a few dozen small requests.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { APPS } from '../config/apps.js';
import type { DrillCapabilities } from './capabilities.js';
import {
  assessFlow,
  type FlowHealth,
  type FlowSample,
  type GeneratorReading,
  type StageReading,
} from './flow-health.js';
import { generatorStatus, type GeneratorStatus } from './generator-control.js';
import type { Platform, ReplicationLag, RoutingControlState } from './platform.js';

const STREAM_COUNT_LIMIT = 100;

export interface SampleOptions {
  /** Already read (e.g. by `tsr status`): not read again. */
  readonly routingControls?: readonly RoutingControlState[] | { readonly error: string };
  readonly replication?: readonly ReplicationLag[];
  /** Already read generator status (local target). */
  readonly generator?: GeneratorStatus;
  /** Look only at these regions' stages (e.g. the ones that are up); default every region. */
  readonly regions?: readonly string[];
}

/** Regions where an app works: any of its dns, queue or app controls On there. */
function activeRegions(app: string, regions: readonly string[], controls: readonly RoutingControlState[]): string[] {
  return regions.filter((region) =>
    ['dns', 'queue', 'app'].some((scope) =>
      controls.some((c) => c.name === `${app}-${scope}-${region}` && c.state === 'On'),
    ),
  );
}

async function appStages(platform: DrillCapabilities, app: (typeof APPS)[number], region: string) {
  const [queue, streams] = await Promise.all([
    platform.brokerQueueDepth(app, region),
    // Counted up to 100 records a shard (reading them costs the stream engine): enough to see growth start; beyond,
    // the oldest record's age tells it, and each look stays cheap for the engines it measures.
    platform.streamBacklog(app, region, { limit: STREAM_COUNT_LIMIT }),
  ]);
  const readings: StageReading[] = [
    {
      id: `${app}/inbound-gateway@${region}`,
      kind: 'stage',
      backlog: queue.depth,
      ...(queue.detail ? { detail: queue.detail } : {}),
    },
    ...streams.map((s) => ({
      id: `${app}/${s.stage}@${region}`,
      kind: 'stage' as const,
      // Where only the iterator age is known (CloudWatch), "at least one" while it is non-zero: growth is read from it.
      backlog: s.pending ?? (s.iteratorAgeMs === undefined ? undefined : s.iteratorAgeMs > 0 ? 1 : 0),
      ...(s.atLeast || s.pending === undefined ? { atLeast: true } : {}),
      oldestAgeMs: s.iteratorAgeMs,
      ...(s.detail ? { detail: s.detail } : {}),
    })),
  ];
  return readings;
}

/** Replication as stages: the tables of one link (region pair) together, each app's database on its own. */
function replicationStages(lags: readonly ReplicationLag[]): StageReading[] {
  const groups = new Map<string, ReplicationLag[]>();
  for (const lag of lags) {
    const id = lag.kind === 'table' ? `tables ${lag.from}→${lag.to}` : `database ${lag.resource} ${lag.from}→${lag.to}`;
    groups.set(id, [...(groups.get(id) ?? []), lag]);
  }
  return [...groups].map(([id, group]) => {
    const unmeasured = group.find((l) => !l.healthy || l.lagMs === undefined);
    if (unmeasured)
      return { id, kind: 'replication', detail: unmeasured.detail ?? 'lag not measured' } satisfies StageReading;
    const pending = group.map((l) => l.pending);
    const oldestAgeMs = Math.max(...group.map((l) => l.lagMs as number));
    // Changes waiting where the engine counts them; a database tells only its lag: "at least one" while behind, so
    // growth is read from the lag.
    const counted = pending.every((p) => p !== undefined);
    return {
      id,
      kind: 'replication',
      backlog: counted ? pending.reduce((a, b) => (a ?? 0) + (b ?? 0), 0) : oldestAgeMs > 0 ? 1 : 0,
      ...(counted ? {} : { atLeast: true }),
      oldestAgeMs,
    } satisfies StageReading;
  });
}

/** The generator's part, or undefined when there is none (no generator, not answering, no task reporting). */
export function generatorReading(status: GeneratorStatus | undefined): GeneratorReading | undefined {
  if (!status?.flow) return undefined;
  const { flow } = status;
  return {
    enabled: status.enabled,
    rate: status.rate,
    ...(status.auto ? { auto: status.auto } : {}),
    offeredPerSecond: flow.offeredPerSecond,
    confirmedPerSecond: flow.confirmedPerSecond,
    backlog: flow.backlog,
    oldestAgeMs: flow.oldestAgeMs,
    history: flow.history.map((p) => ({ at: p.at, backlog: p.backlog, oldestAgeMs: p.oldestAgeMs })),
  };
}

/** One look at every backlog of the platform. */
export async function sampleFlow(
  platform: Platform & DrillCapabilities,
  options: SampleOptions = {},
): Promise<FlowSample> {
  const at = Date.now();
  const [controls, replication, generator] = await Promise.all([
    options.routingControls ??
      platform
        .routingControls()
        .list()
        .catch((error: Error) => ({ error: error.message })),
    options.replication ?? platform.replicationLag(),
    options.generator ??
      (platform.generator ? generatorStatus(platform).catch(() => undefined) : Promise.resolve(undefined)),
  ]);
  const deployed = (platform as { state?: { regions: string[] } }).state?.regions ?? platform.config.regions;
  const regions = deployed.filter((r) => !options.regions || options.regions.includes(r));
  const stages =
    'error' in controls
      ? []
      : (
          await Promise.all(
            APPS.flatMap((app) => activeRegions(app, regions, controls).map((r) => appStages(platform, app, r))),
          )
        ).flat();
  return { at, stages: [...stages, ...replicationStages(replication)], generator: generatorReading(generator) };
}

/**
 * Recent samples, bounded (at most `maxSamples`, none older than `maxAgeMs`), optionally kept in a file so that
 * successive `tsr status` runs see growth across them. Writes are atomic; a lost update loses a sample, nothing more.
 */
export class FlowHistory {
  private list: FlowSample[] = [];

  constructor(
    private readonly file?: string,
    private readonly limits = { maxSamples: 240, maxAgeMs: 10 * 60_000 },
  ) {
    if (file && existsSync(file)) {
      try {
        const parsed = JSON.parse(readFileSync(file, 'utf8')) as { samples?: FlowSample[] };
        this.list = Array.isArray(parsed.samples) ? parsed.samples : [];
      } catch {
        this.list = [];
      }
    }
  }

  /** The history file of a workspace. */
  static in(workspace: string): FlowHistory {
    return new FlowHistory(path.join(workspace, 'flow', 'samples.json'));
  }

  add(sample: FlowSample): readonly FlowSample[] {
    // The generator's history travels in the latest sample only: older copies would just take room.
    const slim = this.list.map((s) => (s.generator ? { ...s, generator: { ...s.generator, history: [] } } : s));
    this.list = [...slim, sample]
      .filter((s) => sample.at - s.at <= this.limits.maxAgeMs)
      .sort((a, b) => a.at - b.at)
      .slice(-this.limits.maxSamples);
    if (this.file) {
      try {
        mkdirSync(path.dirname(this.file), { recursive: true });
        const temporary = `${this.file}.${process.pid}.tmp`;
        writeFileSync(temporary, JSON.stringify({ samples: this.list }));
        renameSync(temporary, this.file);
      } catch {
        // A history that cannot be written leaves this look's judgement intact; the next one sees less.
      }
    }
    return this.list;
  }

  samples(): readonly FlowSample[] {
    return this.list;
  }
}

/** The platform's drill capabilities (both targets have them), or undefined for one without. */
export function withDrills(platform: Platform): (Platform & DrillCapabilities) | undefined {
  return 'streamBacklog' in platform ? (platform as Platform & DrillCapabilities) : undefined;
}

/**
 * One look, added to the workspace's history (when the workspace exists), judged with the looks before it: what
 * `tsr status`, `tsr generator status` and the preflight show. `history: null` judges this look alone.
 */
export async function readFlow(
  platform: Platform,
  options: SampleOptions & { readonly thresholdMs?: number; readonly history?: FlowHistory | null } = {},
): Promise<FlowHealth | undefined> {
  const capable = withDrills(platform);
  if (!capable) return undefined;
  const sample = await sampleFlow(capable, options);
  const history =
    options.history === null
      ? undefined
      : (options.history ??
        (existsSync(platform.config.workspace) ? FlowHistory.in(platform.config.workspace) : undefined));
  const samples = history ? history.add(sample) : [sample];
  return assessFlow(samples, { thresholdMs: options.thresholdMs });
}
