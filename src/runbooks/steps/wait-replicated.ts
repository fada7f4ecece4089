import { z } from 'zod';
import type { ResourceNames } from '../../config/model.js';
import { setTimeout as delay } from 'node:timers/promises';
import type { Platform, ReplicationLag } from '../../platform/platform.js';
import { durationSchema, formatDuration } from '../duration.js';
import { defineStepType, type PlanEnv } from '../registry.js';

export interface ReplicationFilter {
  /** Region that must have caught up. */
  readonly to: string;
  /** Only replication from this region. */
  readonly from?: string;
  /** Only this app's global tables and core database. */
  readonly app?: string;
  readonly kinds?: readonly ('table' | 'database')[];
}

/**
 * The lags that matter for `filter`. A row about the whole link (resource `*`: the link or control process does
 * not answer) always matters: it is unhealthy, so it blocks.
 */
export function relevantLags(
  lags: readonly ReplicationLag[],
  filter: ReplicationFilter,
  names: ResourceNames,
): ReplicationLag[] {
  const appResources = filter.app
    ? new Set([
        ...names.tables.filter((t) => t.global && t.app === filter.app).map((t) => t.name),
        ...(filter.app in names.databases ? [names.databases[filter.app as keyof typeof names.databases]] : []),
      ])
    : undefined;
  return lags.filter((lag) => {
    if (filter.kinds && !filter.kinds.includes(lag.kind)) return false;
    if (lag.resource === '*' || lag.to === '*') return true;
    if (lag.to !== filter.to) return false;
    if (filter.from && lag.from !== filter.from) return false;
    return !appResources || appResources.has(lag.resource);
  });
}

export interface ReplicationAssessment {
  /** Every relevant lag measured, healthy and at most `maxLagMs` — and there is at least one. */
  readonly caughtUp: boolean;
  readonly detail: string;
  readonly worstMs?: number;
  readonly problems: readonly string[];
}

const count = (n: number) => n.toLocaleString('en-US');

/** Judges lags: unhealthy or unmeasurable never counts as caught up, and no measurement at all is not "zero". */
export function assessReplication(
  relevant: readonly ReplicationLag[],
  maxLagMs: number,
  to: string,
): ReplicationAssessment {
  if (relevant.length === 0) {
    return { caughtUp: false, detail: `no replication to ${to} is measured`, problems: [`nothing measured to ${to}`] };
  }
  const problems: string[] = [];
  for (const lag of relevant) {
    const what = `${lag.resource} ${lag.from}→${lag.to}`;
    if (!lag.healthy) problems.push(`${what} UNHEALTHY${lag.detail ? `: ${lag.detail}` : ''}`);
    else if (lag.lagMs === undefined)
      problems.push(`${what} lag not measurable${lag.detail ? ` (${lag.detail})` : ''}`);
    else if (lag.lagMs > maxLagMs) {
      problems.push(`${what} ${count(lag.lagMs)} ms${lag.pending ? `, ${count(lag.pending)} pending` : ''}`);
    }
  }
  const measured = relevant.filter((l) => l.healthy && l.lagMs !== undefined).map((l) => l.lagMs as number);
  const worstMs = measured.length ? Math.max(...measured) : undefined;
  const pending = relevant.reduce((sum, l) => sum + (l.pending ?? 0), 0);
  const lagText = `lag ${worstMs === undefined ? '?' : count(worstMs)} ms${pending ? `, ${count(pending)} pending` : ''}`;
  const detail = problems.length
    ? `${lagText}; ${problems.length} of ${relevant.length} not caught up: ${problems[0]}`
    : `${lagText} (max of ${relevant.length}, limit ${count(maxLagMs)} ms)`;
  return { caughtUp: problems.length === 0, detail, worstMs, problems };
}

export interface CatchUpOptions {
  /** Caught up when every relevant lag is measured, healthy and at most this. */
  readonly maxLagMs: number;
  /** Give up after this long (the answer then says not caught up); default: only `signal` stops it. */
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  /** Each measurement, as one line (lag, pending, what is behind). */
  readonly onProgress?: (assessment: ReplicationAssessment) => void;
}

export interface CatchUp {
  readonly caughtUp: boolean;
  readonly assessment: ReplicationAssessment;
  readonly elapsedMs: number;
  readonly lags: readonly ReplicationLag[];
}

/**
 * Measures replication into `filter.to` until it has caught up or `timeoutMs` runs out. A reading that fails counts
 * as not caught up (and is shown), never as done.
 */
export async function waitUntilCaughtUp(
  platform: Pick<Platform, 'replicationLag' | 'names'>,
  filter: ReplicationFilter,
  options: CatchUpOptions,
): Promise<CatchUp> {
  const started = Date.now();
  const deadline = options.timeoutMs === undefined ? Infinity : started + options.timeoutMs;
  for (;;) {
    let lags: ReplicationLag[] = [];
    let assessment: ReplicationAssessment;
    try {
      lags = relevantLags(await platform.replicationLag(), filter, platform.names);
      assessment = assessReplication(lags, options.maxLagMs, filter.to);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      assessment = { caughtUp: false, detail: `cannot read lag: ${(error as Error).message}`, problems: [] };
    }
    options.onProgress?.(assessment);
    const elapsedMs = Date.now() - started;
    if (assessment.caughtUp || Date.now() >= deadline) {
      return { caughtUp: assessment.caughtUp, assessment, elapsedMs, lags };
    }
    const pause = Math.min(options.intervalMs ?? 500, Math.max(0, deadline - Date.now()));
    await delay(pause, undefined, options.signal ? { signal: options.signal } : undefined);
  }
}

/** Plan-time check that regions and app exist in this environment. */
export function checkRegions(env: PlanEnv, regions: (string | undefined)[], app?: string): string[] {
  const problems = regions
    .filter((r): r is string => r !== undefined && !env.config.regions.includes(r))
    .map((r) => `unknown region "${r}" (regions: ${env.config.regions.join(', ')})`);
  if (app !== undefined && !(env.config.apps as readonly string[]).includes(app)) {
    problems.push(`unknown app "${app}" (apps: ${env.config.apps.join(', ')})`);
  }
  return problems;
}

const params = z
  .object({
    to: z.string(),
    from: z.string().optional(),
    app: z.string().optional(),
    kinds: z
      .array(z.enum(['table', 'database']))
      .nonempty()
      .optional(),
    /** Caught up when every relevant lag is at most this. */
    maxLagMs: z.number().int().nonnegative().default(1000),
    /** Between measurements. */
    interval: durationSchema.default('500ms'),
  })
  .strict();

/** `wait.replicated`: polls platform.replicationLag() until every relevant lag is measured and small enough. */
export const waitReplicated = defineStepType({
  type: 'wait.replicated',
  summary: 'Wait until replication into a region has caught up (measured; unhealthy or unknown never counts)',
  params,
  requiresTimeout: true,
  check: (p, env) => checkRegions(env, [p.to, p.from], p.app),
  describe: (p) =>
    `replication ${p.from ?? 'from every region'} → ${p.to}` +
    `${p.app ? ` (${p.app} tables and database)` : ''}${p.kinds ? ` [${p.kinds.join(', ')}]` : ''}` +
    ` measured at most ${count(p.maxLagMs)} ms, every ${formatDuration(p.interval)}`,
  async run(ctx, p) {
    const { assessment, lags } = await waitUntilCaughtUp(ctx.platform, p, {
      maxLagMs: p.maxLagMs,
      intervalMs: p.interval,
      signal: ctx.signal,
      onProgress: (a) => ctx.detail(a.detail),
    });
    return { detail: `caught up: ${assessment.detail}`, result: { worstMs: assessment.worstMs, lags } };
  },
});
