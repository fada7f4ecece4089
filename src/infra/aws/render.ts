import { renderCost } from './cost.js';
import path from 'node:path';
import type { AwsDeploymentError, AwsDeploymentResult, StackRunResult } from './orchestrate.js';

function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`;
}

function changesOf(stack: StackRunResult): string {
  const c = stack.changes;
  return c ? `+${c.add} ~${c.change} -${c.destroy}` : '';
}

/** A fixed-width table of the stacks of a run: status, changes, duration, and where a failed stack's log is. */
export function renderAwsStacks(stacks: readonly StackRunResult[]): string {
  const rows = stacks.map((s) => [
    s.stack,
    s.status + (s.reappliedFor?.length ? ` (again for ${s.reappliedFor.join(', ')})` : ''),
    changesOf(s),
    seconds(s.durationMs),
  ]);
  const header = ['stack', 'status', 'changes', 'time'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)].map((l) => `  ${l}`);
  for (const s of stacks.filter((x) => x.status === 'failed')) out.push(`  ${s.stack} log: ${s.logFile}`);
  return out.join('\n');
}

/** The human summary of `tsr deploy|destroy --target aws`. */
export function renderAwsDeployment(result: AwsDeploymentResult): string {
  const verb = { apply: 'Applied', plan: 'Planned', destroy: 'Destroyed' }[result.mode];
  const lines = [
    `${verb} ${result.stacks.length} stacks of "${result.environment}" (${result.regions.join(', ')}) in account ` +
      `${result.account} with ${result.binary.name} in ${seconds(result.durationMs)}:`,
    renderAwsStacks(result.stacks),
  ];
  const rc = result.routingControls;
  if (rc?.action === 'initialized') {
    lines.push(
      `Routing controls set to their deploy-time states: ${result.regions[0]} ON; other regions, gates and generator OFF.`,
    );
  } else if (rc?.action === 'adopted') {
    const on = Object.entries(rc.states)
      .filter(([, state]) => state === 'On')
      .map(([name]) => name);
    lines.push(
      `Routing controls left as found (already ON: ${on.join(', ')}); check them with \`tsr routing-control list\`.`,
    );
  } else if (rc?.action === 'pending') {
    lines.push('Routing controls (created OFF) will be set to their deploy-time states after the first apply.');
  }
  if (result.cost) lines.push(renderCost(result.cost));
  if (result.mode === 'plan')
    lines.push(`Terraform logs: ${path.join(result.outDir, 'stacks', '<stack>', 'tsr-plan.log')}`);
  if (result.mode !== 'destroy') lines.push(`Deployment record: ${result.recordFile}`);
  return lines.join('\n');
}

/** What a failed run did so far, to print before the error itself (which names the stack, step and fix). */
export function renderAwsFailure(error: AwsDeploymentError): string {
  const failed = error.result.stacks.find((s) => s.stack === error.failedStack);
  return [
    `Stack ${error.failedStack} failed in terraform ${error.step}` + (failed ? `; full log: ${failed.logFile}` : ''),
    renderAwsStacks(error.result.stacks),
  ].join('\n');
}
