import { z } from 'zod';
import { durationSchema, formatDuration } from '../duration.js';
import { defineStepType, type StepType } from '../registry.js';

const params = z
  .object({
    duration: durationSchema,
    /** Why the runbook waits a fixed time (shown in the plan and progress). */
    reason: z.string().optional(),
  })
  .strict();

function sleepStep(type: 'sleep' | 'pause'): StepType<z.output<typeof params>> {
  return defineStepType({
    type,
    summary: 'Wait a fixed time; only for runbooks that ask for it explicitly (waits that can measure should)',
    params,
    describe: (p) => `wait ${formatDuration(p.duration)}${p.reason ? `: ${p.reason}` : ''}`,
    async run(ctx, p) {
      const end = Date.now() + p.duration;
      for (let left = p.duration; left > 0; left = end - Date.now()) {
        ctx.detail(`${formatDuration(left)} left${p.reason ? ` (${p.reason})` : ''}`);
        await ctx.sleep(Math.min(1_000, left));
      }
      return { detail: `waited ${formatDuration(p.duration)}` };
    },
  });
}

/** `sleep` and its synonym `pause`: a fixed wait. */
export const sleep = sleepStep('sleep');
export const pause = sleepStep('pause');
