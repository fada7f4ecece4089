import { describeError } from '../../errors.js';
import { describeStage, type FlowHealth } from '../../platform/flow-health.js';
import { FlowHistory, readFlow } from '../../platform/flow-sampler.js';
import type { PlatformStatus } from '../../platform/platform.js';
import type { StepContext } from '../registry.js';

/** Whether the platform kept up when a run started: kept in the preflight's result, shown next to RTO. */
export interface FlowAtStart {
  /** Falling behind, or a record already waiting longer than the threshold. */
  readonly behind: boolean;
  readonly summary: string;
  readonly limitingStage?: string;
  readonly behindForMs?: number;
  readonly oldestUnprocessed?: { readonly id: string; readonly ageMs: number };
}

/**
 * A look at the flow must never hold a preflight up for long. It runs beside the other checks (so it costs nothing
 * when it is quicker than they are) and skips regions that are down; on a loaded machine a look took over 3 s.
 */
const LOOK_TIMEOUT_MS = 10_000;

function judge(flow: FlowHealth): FlowAtStart {
  const waiting = flow.oldestUnprocessed;
  // Stale: a record waits in front of a stage longer than the threshold. Not the end-to-end wait alone: pairs lost
  // with a region are never confirmed, and would warn every run for the next quarter of an hour.
  const stalest = flow.stages
    .filter((s) => s.kind !== 'end-to-end')
    .sort((a, b) => (b.oldestAgeMs ?? 0) - (a.oldestAgeMs ?? 0))[0];
  const stale = stalest !== undefined && (stalest.oldestAgeMs ?? 0) >= flow.thresholdMs;
  const behind = flow.fallingBehind || stale;
  const limiting = flow.stages.find((s) => s.id === flow.limitingStage);
  const summary = flow.fallingBehind
    ? flow.summary
    : stale
      ? `records already wait ${((stalest.oldestAgeMs ?? 0) / 1000).toFixed(0)} s (oldest in ${stalest.id}; threshold ` +
        `${(flow.thresholdMs / 1000).toFixed(0)} s)`
      : flow.summary;
  return {
    behind,
    summary: limiting && !flow.fallingBehind ? `${summary}; ${describeStage(limiting)}` : summary,
    ...(flow.limitingStage ? { limitingStage: flow.limitingStage, behindForMs: flow.behindForMs } : {}),
    ...(waiting ? { oldestUnprocessed: waiting } : {}),
  };
}

/**
 * One look at the flow from the regions that are up (never waiting on a lost one), judged with the workspace's
 * earlier looks. Warns, never refuses: a run born into a backlog still works, it just takes longer — and says so.
 */
export async function flowAtStart(ctx: StepContext, status: PlatformStatus, thresholdMs: number): Promise<FlowAtStart> {
  const up = status.regions.filter((r) => status.components.every((c) => c.region !== r || c.up));
  let timer: NodeJS.Timeout | undefined;
  try {
    const flow = await Promise.race([
      readFlow(ctx.platform, {
        thresholdMs,
        regions: up,
        routingControls: status.routingControls,
        replication: status.replication,
        history: FlowHistory.in(ctx.workspace),
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${LOOK_TIMEOUT_MS} ms`)), LOOK_TIMEOUT_MS);
      }),
    ]);
    return flow ? judge(flow) : { behind: false, summary: 'not measured on this target' };
  } catch (error) {
    return { behind: false, summary: `not measured: ${describeError(error)}` };
  } finally {
    clearTimeout(timer);
  }
}
