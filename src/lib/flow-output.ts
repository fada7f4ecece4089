import { Flags } from '@oclif/core';
import { FLOW_DEFAULTS, type FlowHealth, type StageFlow } from '../platform/flow-health.js';
import { paint } from './colour.js';
import { table } from './table.js';

const seconds = (ms?: number) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

/** The verdict line of the flow: green when keeping up, red when falling behind (with the stage that limits). */
export function flowVerdict(flow: FlowHealth): string {
  return flow.fallingBehind
    ? paint.red.bold(flow.summary)
    : paint.green(flow.summary.replace(/^keeping up/, 'KEEPING UP'));
}

/** The flow section: offered vs confirmed, the oldest unprocessed record, and every stage where something waits. */
export function renderFlow(flow: FlowHealth): string {
  const waiting = flow.stages.filter((s) => s.backlog !== 0);
  const empty = flow.stages.length - waiting.length;
  const waitingText = (s: StageFlow) =>
    s.backlog === undefined ? 'not measured' : `${s.atLeast ? '≥ ' : ''}${s.backlog.toLocaleString('en-US')}`;
  const unmeasured = waiting.filter((s) => s.backlog === undefined);
  const lines = [
    `Flow (falling behind: a backlog grows for longer than ${seconds(flow.thresholdMs)}; looked back ${seconds(flow.historyMs)})`,
    flowVerdict(flow),
    ...(flow.offeredPerSecond !== undefined
      ? [`offered ${flow.offeredPerSecond} pairs/s, confirmed ${flow.confirmedPerSecond} pairs/s`]
      : []),
    `oldest unprocessed record: ${flow.oldestUnprocessed ? `${seconds(flow.oldestUnprocessed.ageMs)} (${flow.oldestUnprocessed.id})` : 'none waiting'}`,
  ];
  if (waiting.length)
    lines.push(
      table(
        ['stage', 'waiting', 'oldest', 'trend', 'growing for'],
        waiting.map((s) => [
          s.fallingBehind ? paint.red.bold(s.id) : s.id,
          waitingText(s),
          seconds(s.oldestAgeMs),
          s.trend,
          s.growingForMs ? seconds(s.growingForMs) : '-',
        ]),
      ),
    );
  for (const s of unmeasured) lines.push(`${s.id} not measured: ${s.detail ?? 'no figure'}`);
  if (empty) lines.push(`${empty} other stage${empty === 1 ? '' : 's'} with nothing waiting`);
  return lines.join('\n');
}

/** `--behind-after`: seconds a backlog may grow before it counts as falling behind (bounded). */
export const behindAfterFlag = Flags.integer({
  description: 'falling behind: a backlog has grown for longer than this many seconds (5 to 3600)',
  default: FLOW_DEFAULTS.thresholdMs / 1000,
  min: FLOW_DEFAULTS.minThresholdMs / 1000,
  max: FLOW_DEFAULTS.maxThresholdMs / 1000,
});

/** Puts the flow verdict right under a status verdict line when it says FALLING BEHIND: the lines to read first. */
export function withFlowVerdict(rendered: string, flow: FlowHealth | undefined): string {
  if (!flow?.fallingBehind) return rendered;
  const [first, ...rest] = rendered.split('\n');
  return [first, flowVerdict(flow), ...rest].join('\n');
}
