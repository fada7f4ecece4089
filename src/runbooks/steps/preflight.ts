import { z } from 'zod';
import { dnsRegion } from '../../clients/types.js';
import { ExitCode, UserError } from '../../errors.js';
import type { ComponentHealth } from '../../platform/platform.js';
import { isUnfinished, listJournals, type RunJournal } from '../journal.js';
import { defineStepType } from '../registry.js';
import { durationSchema, formatDuration } from '../duration.js';
import { assessReplication, checkRegions, relevantLags, waitUntilCaughtUp } from './wait-replicated.js';
import { flowAtStart } from './flow-at-start.js';

const CHECKS_TIMEOUT_MS = 60_000;
const MAX_REPLICATION_WAIT_MS = 30 * 60_000;

const params = z
  .object({
    app: z.string(),
    target: z.string(),
    source: z.string().optional(),
    /** Replication into the target must be measured and at most this. */
    maxLagMs: z.number().int().nonnegative().default(5000),
    /** Failover skips it: the source is impaired, its replication may be gone. */
    checkReplication: z.boolean().default(true),
    /** Rotation needs a healthy source to drain; failover does not. */
    checkSource: z.boolean().default(true),
    /** How long to wait for replication into the target to catch up before refusing (e.g. after a region-up). */
    waitReplication: durationSchema
      .default(0)
      .refine((ms) => ms <= MAX_REPLICATION_WAIT_MS, `at most ${formatDuration(MAX_REPLICATION_WAIT_MS)}`),
    /** Warn (never refuse) when a backlog has grown, or a record has waited, longer than this. */
    behindAfter: durationSchema.default('30s'),
  })
  .strict();

function downList(components: readonly ComponentHealth[]): string {
  return components.map((c) => `${c.name}${c.detail ? ` (${c.detail})` : ''}`).join(', ');
}

/** A run that changed something and has not been completed or rolled back. */
function leftSomethingToDo(journal: RunJournal): boolean {
  return isUnfinished(journal.status) && journal.steps.some((s) => s.status !== 'pending' && s.status !== 'failed');
}

/**
 * `check.preflight`: before a rotation or failover changes anything — the target is a deployed region with every
 * component and service up, replication into it is measured and low, the source is healthy (rotation), and no
 * other run on the app is unfinished. Rotating to where the app already runs ends the run as a no-op.
 */
export const preflight = defineStepType({
  type: 'check.preflight',
  summary: 'Check the target is healthy, replication is low and no other run is unfinished; no-op if already there',
  params,
  defaultTimeoutMs: CHECKS_TIMEOUT_MS,
  timeoutFor: (p) => CHECKS_TIMEOUT_MS + p.waitReplication,
  check: (p, env) => checkRegions(env, [p.target, p.source], p.app),
  describe: (p) =>
    `${p.app} ${p.source ?? '?'} → ${p.target}: target up` +
    `${p.checkSource && p.source ? ', source up' : ''}` +
    `${p.checkReplication ? `, replication into ${p.target} ≤ ${p.maxLagMs} ms` : ''}` +
    `${p.checkReplication && p.waitReplication ? ` (waiting up to ${formatDuration(p.waitReplication)})` : ''}` +
    ', no other unfinished run',
  async run(ctx, p) {
    ctx.detail('reading platform status');
    const status = await ctx.platform.status();
    if (!status.regions.includes(p.target)) {
      throw new UserError(
        `${p.target} is not a region of this deployment (${status.regions.join(', ')})`,
        'choose one of the deployed regions',
        ExitCode.refused,
      );
    }
    const noop = (why: string) => ({
      endRun: `${p.app} is already active in ${p.target}${why}: nothing to do`,
      detail: `no-op: ${p.app} already active in ${p.target}`,
      result: { noop: true },
    });
    if (p.source === p.target) return noop('');
    // Looked at while the checks run, so it costs the run nothing when the platform answers promptly.
    const flow = flowAtStart(ctx, status, p.behindAfter);
    const failures: string[] = [];
    const passed: string[] = [];
    const check = (name: string, ok: boolean, problem: () => string) =>
      ok ? passed.push(name) : failures.push(problem());

    const controls = 'error' in status.routingControls ? undefined : status.routingControls;
    check(
      'routing controls readable',
      controls !== undefined,
      () => `routing controls cannot be read: ${(status.routingControls as { error: string }).error}`,
    );
    if (controls) {
      const on = (scope: string, region: string) =>
        controls.some((c) => c.name === `${p.app}-${scope}-${region}` && c.state === 'On');
      const running = status.regions.filter((r) => on('app', r));
      if (running.length === 1 && running[0] === p.target && on('dns', p.target)) {
        return noop(` (${p.app}-app and ${p.app}-dns are On there)`);
      }
    }
    const down = (region?: string) => status.components.filter((c) => c.region === region && !c.up);
    check(
      'platform control components up',
      down(undefined).length === 0,
      () => `components down: ${downList(down(undefined))}`,
    );
    check(
      `components in ${p.target} up`,
      down(p.target).length === 0,
      () => `target ${p.target} has components down: ${downList(down(p.target))}`,
    );
    const stagesDown = (status.stages ?? []).filter((s) => s.app === p.app && s.region === p.target && !s.up);
    check(
      `${p.app} services in ${p.target} up`,
      stagesDown.length === 0,
      () => `${p.app} services down in ${p.target}: ${stagesDown.map((s) => s.stage).join(', ')}`,
    );
    if (p.app !== 'trade' && controls) {
      // Settlement's inputs and its canary come through trade: they enter wherever trade's dns control is On.
      const tradeRegion = dnsRegion(controls, 'trade', status.regions);
      check(
        `trade (the way into ${p.app}) is up in ${tradeRegion ?? '?'}`,
        tradeRegion !== undefined && down(tradeRegion).length === 0,
        () =>
          tradeRegion === undefined
            ? 'no trade-dns control is On: nothing can reach settlement'
            : `trade is still active in ${tradeRegion}, which has components down (${downList(down(tradeRegion))}): ` +
              `${p.app}'s canary goes through trade. Fail trade over first: \`tsr failover trade --to ${p.target}\`, ` +
              `or \`tsr failover all --to ${p.target}\` (trade, then ${p.app})`,
      );
    }
    if (p.checkSource && p.source) {
      check(
        `components in ${p.source} up`,
        down(p.source).length === 0,
        () => `source ${p.source} has components down: ${downList(down(p.source))} (if it is lost, fail over instead)`,
      );
    }
    if (p.checkReplication) {
      const filter = { to: p.target, from: p.source, app: p.app };
      let assessment = assessReplication(
        relevantLags(status.replication, filter, ctx.platform.names),
        p.maxLagMs,
        p.target,
      );
      if (!assessment.caughtUp && p.waitReplication > 0) {
        const waited = await waitUntilCaughtUp(ctx.platform, filter, {
          maxLagMs: p.maxLagMs,
          timeoutMs: p.waitReplication,
          signal: ctx.signal,
          onProgress: (a) => ctx.detail(`waiting for replication into ${p.target}: ${a.detail}`),
        });
        assessment = waited.assessment;
        if (waited.caughtUp) passed.push(`replication caught up after ${formatDuration(waited.elapsedMs)}`);
      }
      check(
        `replication into ${p.target} ≤ ${p.maxLagMs} ms`,
        assessment.caughtUp,
        () =>
          `replication into ${p.target} is not caught up${p.waitReplication ? ` after waiting ${formatDuration(p.waitReplication)}` : ''}: ` +
          `${assessment.problems.slice(0, 3).join('; ')} (wait for it: \`--wait-replication 2m\`)`,
      );
    }
    const others = listJournals(ctx.workspace).filter(
      (j) => j.runId !== ctx.runId && j.lockKey === ctx.lockKey && leftSomethingToDo(j),
    );
    check(
      'no other unfinished run',
      others.length === 0,
      () =>
        `run ${others[0].runId} (${others[0].runbook.name}) on ${ctx.lockKey} is ${others[0].status}: ` +
        `\`tsr runbook resume ${others[0].runId}\` or \`tsr runbook rollback ${others[0].runId}\` first`,
    );
    if (failures.length) {
      const looked = await flow;
      throw new UserError(
        `preflight refused ${p.app} → ${p.target}:\n    - ${failures.join('\n    - ')}` +
          (looked.behind ? `\n    (the platform is already behind: ${looked.summary})` : ''),
        'nothing was changed; fix the above (`tsr status` shows the platform) and run again',
        ExitCode.refused,
      );
    }
    const flowAtStartResult = await flow;
    return {
      detail:
        `${passed.length} checks passed` +
        (flowAtStartResult.behind ? `; WARNING: the platform is already behind: ${flowAtStartResult.summary}` : ''),
      result: {
        checks: passed,
        writer: status.writers[p.app as keyof typeof status.writers],
        flowAtStart: flowAtStartResult,
      },
    };
  },
});
