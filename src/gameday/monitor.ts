import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { sampleFootprint } from '../platform/footprint.js';
import { generatorStatus } from '../platform/generator-control.js';
import type { LocalPlatform } from '../platform/local-platform.js';
import type { Platform } from '../platform/platform.js';
import { parseDuration } from '../runbooks/duration.js';
import type { RunJournal } from '../runbooks/journal.js';
import { confirmedSides } from './probes.js';
import type { StopCondition } from './scenario.js';

/** One point of the run's timeline (rates per second over the interval before `t`). */
export interface TimelineSample {
  /** Epoch ms. */
  readonly t: number;
  /** Pairs the generator sent per second. */
  readonly offered?: number;
  /** Trade sides confirmed per second, divided by two: pairs confirmed per second. */
  readonly confirmed?: number;
  readonly p50?: number;
  readonly p99?: number;
  /** Worst measured lag of table and of database replication, ms. */
  readonly tableLagMs?: number;
  readonly dbLagMs?: number;
  /** Records waiting in stage streams and broker sessions, summed over apps and regions. */
  readonly backlog?: number;
  /** The local platform's footprint: anonymous memory and PSS of every process, and the workspace on disk (MiB). */
  readonly anonMiB?: number;
  readonly pssMiB?: number;
  readonly diskMiB?: number;
}

export interface StopEvent {
  readonly condition: string;
  readonly at: string;
  readonly detail: string;
}

/** Step types during which a pause in confirmations is expected: the drill itself is moving or breaking things. */
const PLANNED_STEP_TYPES = new Set([
  'gameday.runbook',
  'gameday.fault',
  'gameday.undo',
  'gameday.undo-all',
  'gameday.wait',
]);

const SAMPLE_MS = 2_000;
/** Backlog needs every service's metrics, the footprint every process and the workspace: every few samples only. */
const BACKLOG_EVERY = 3;
const FOOTPRINT_EVERY = 5;
const MIB = 1024 * 1024;

/**
 * Samples the platform while a game day runs (the report's timeline, appended to timeline.jsonl as it goes, so a
 * crash keeps it), and evaluates the scenario's stop conditions: when one fires, `signal` aborts the run, which
 * undoes its faults on the way out.
 */
export class GameDayMonitor {
  readonly samples: TimelineSample[] = [];
  stopped?: StopEvent;
  private readonly abort = new AbortController();
  private timer?: NodeJS.Timeout;
  private journal?: RunJournal;
  private file?: string;
  private last?: { t: number; sent: number; confirmed: number };
  private lastConfirmationAt = Date.now();
  private plannedUntil = 0;
  private tick = 0;
  private readonly catchingUp = new Set<string>();
  private lagBreaches = 0;
  private busy = false;

  constructor(
    private readonly platform: Platform,
    private readonly conditions: readonly StopCondition[],
  ) {}

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Starts sampling into `dir`/timeline.jsonl, watching `journal` (the live run) for planned windows. */
  start(journal: RunJournal, dir: string): void {
    this.journal = journal;
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'timeline.jsonl');
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private inPlannedWindow(now: number): boolean {
    const running = this.journal?.steps.find((s) => s.status === 'running');
    if (running && PLANNED_STEP_TYPES.has(running.type)) this.plannedUntil = now;
    return this.plannedUntil === now;
  }

  private async sample(): Promise<void> {
    if (this.busy) return; // a slow platform: skip a tick rather than pile up requests
    this.busy = true;
    try {
      const now = Date.now();
      const planned = this.inPlannedWindow(now);
      const point: Record<string, number | undefined> = { t: now };
      const loadRunning = await this.sampleLoad(point, now);
      await this.sampleReplication(point, planned);
      if (this.tick % BACKLOG_EVERY === 0) await this.sampleBacklog(point);
      if (this.tick % FOOTPRINT_EVERY === 0) this.sampleFootprint(point);
      this.tick++;
      this.samples.push(point as unknown as TimelineSample);
      if (this.file) appendFileSync(this.file, `${JSON.stringify(point)}\n`);
      this.checkConfirmations(now, planned, loadRunning);
    } catch {
      // A platform that does not answer leaves a gap in the timeline; the run's own steps report the failure.
    } finally {
      this.busy = false;
    }
  }

  private async sampleLoad(point: Record<string, number | undefined>, now: number): Promise<boolean> {
    if (this.platform.target !== 'local') return false;
    const status = await generatorStatus(this.platform as LocalPlatform, {
      latencySince: this.last?.t ?? now - SAMPLE_MS,
    }).catch(() => undefined);
    if (!status) return false;
    const confirmed = confirmedSides(status);
    if (this.last) {
      const seconds = (now - this.last.t) / 1_000;
      point.offered = Math.max(0, status.pairsSent - this.last.sent) / seconds;
      point.confirmed = Math.max(0, confirmed - this.last.confirmed) / 2 / seconds;
    }
    if (!this.last || confirmed > this.last.confirmed) this.lastConfirmationAt = now;
    if (status.latencyToMatchedMs?.samples) {
      point.p50 = status.latencyToMatchedMs.p50;
      point.p99 = status.latencyToMatchedMs.p99;
    }
    this.last = { t: now, sent: status.pairsSent, confirmed };
    return status.enabled;
  }

  private async sampleReplication(point: Record<string, number | undefined>, planned: boolean): Promise<void> {
    const lags = await this.platform.replicationLag();
    const worst = (kind: 'table' | 'database') =>
      lags
        .filter((l) => l.kind === kind && l.lagMs !== undefined)
        .reduce<number | undefined>((m, l) => Math.max(m ?? 0, l.lagMs ?? 0), undefined);
    point.tableLagMs = worst('table');
    point.dbLagMs = worst('database');
    const limit = this.conditions.find((c) => c.condition === 'replication-lag');
    if (!limit || limit.condition !== 'replication-lag') return;
    const above = parseDuration(limit.above) ?? Infinity;
    // A region that was down or is being changed catches up on what it missed: its lag is history, not a fault.
    for (const l of lags) {
      if (l.lagMs === undefined || planned) this.catchingUp.add(l.to);
      else if (l.lagMs <= above) this.catchingUp.delete(l.to);
    }
    const breach = lags.find((l) => l.lagMs !== undefined && l.lagMs > above && !this.catchingUp.has(l.to));
    this.lagBreaches = breach ? this.lagBreaches + 1 : 0;
    if (breach && this.lagBreaches >= 2) {
      this.fire('replication-lag', `${l2(breach)} ${breach.lagMs} ms behind (limit ${limit.above})`);
    }
  }

  private async sampleBacklog(point: Record<string, number | undefined>): Promise<void> {
    const status = await this.platform.status();
    const stages = status.stages ?? [];
    if (stages.length) point.backlog = stages.reduce((n, s) => n + (s.backlog ?? 0), 0);
  }

  /** Memory and disk over the run: a long game day shows whether the platform stays bounded. */
  private sampleFootprint(point: Record<string, number | undefined>): void {
    if (this.platform.target !== 'local') return;
    const footprint = sampleFootprint(this.platform);
    point.anonMiB = Math.round(footprint.totals.anonymousBytes / MIB);
    point.pssMiB = Math.round(footprint.totals.pssBytes / MIB);
    point.diskMiB = Math.round(footprint.workspace.usedBytes / MIB);
  }

  private checkConfirmations(now: number, planned: boolean, loadRunning: boolean): void {
    const rule = this.conditions.find((c) => c.condition === 'no-confirmation');
    if (!rule || rule.condition !== 'no-confirmation' || !loadRunning || planned) return;
    const limit = parseDuration(rule.for) ?? Infinity;
    const since = Math.max(this.lastConfirmationAt, this.plannedUntil);
    if (now - since > limit) {
      this.fire(
        'no-confirmation',
        `no confirmation for ${Math.round((now - since) / 1000)} s outside a planned window (limit ${rule.for})`,
      );
    }
  }

  private fire(condition: string, detail: string): void {
    if (this.stopped) return;
    this.stopped = { condition, at: new Date().toISOString(), detail };
    this.abort.abort(new Error(`stop condition ${condition}: ${detail}`));
  }
}

function l2(lag: { kind: string; resource: string; from: string; to: string }): string {
  return `${lag.kind} ${lag.resource} ${lag.from} → ${lag.to}`;
}
