import os from 'node:os';
import { z } from 'zod';
import { ExitCode, UserError } from '../../errors.js';
import { defineStepType } from '../registry.js';

/** `approve`: a manual approval (inquirer). With --yes it passes without asking, and the journal says so. */
export const approve = defineStepType({
  type: 'approve',
  summary: 'Ask the operator to approve before going on (passes with --yes, recorded as such)',
  params: z.object({ message: z.string().min(1) }).strict(),
  interactive: true,
  describe: (p) => `ask: ${p.message}`,
  async run(ctx, p) {
    if (ctx.yes) return { detail: 'approved by --yes (no prompt shown)', result: { approvedBy: '--yes' } };
    const approved = await ctx.confirm(p.message);
    if (!approved) {
      throw new UserError(
        `not approved: ${p.message}`,
        `\`tsr runbook resume ${ctx.runId}\` to be asked again, or \`tsr runbook rollback ${ctx.runId}\``,
        ExitCode.refused,
      );
    }
    const user = os.userInfo().username;
    return { detail: `approved by ${user} at the prompt`, result: { approvedBy: 'prompt', user } };
  },
});
