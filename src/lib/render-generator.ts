import type { GeneratorStatus } from '../platform/generator-control.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** `rate auto: holding 23 pairs/s (found 23.4 …)`, or the fixed rate. */
export function rateText(s: GeneratorStatus): string {
  if (!s.auto) return `rate ${s.rate} pairs/s`;
  const { auto } = s;
  return auto.state === 'holding'
    ? `rate auto: holding ${auto.rate} pairs/s (sustainable rate found: ${auto.found ?? auto.rate} pairs/s, settled ${auto.settledAt})`
    : `rate auto: searching for the sustainable rate, now ${auto.rate} pairs/s`;
}

export function renderGenerator(s: GeneratorStatus): string {
  const scenarios = Object.entries(s.byScenario)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const confirmations = Object.entries(s.confirmations)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const latency = s.latencyToMatchedMs
    ? `p50 ${s.latencyToMatchedMs.p50} ms, p99 ${s.latencyToMatchedMs.p99} ms over ${s.latencyToMatchedMs.samples}`
    : 'no samples yet';
  const flow = s.flow
    ? [
        `offered ${s.flow.offeredPerSecond} pairs/s, confirmed ${s.flow.confirmedPerSecond} pairs/s; ` +
          `awaiting confirmation: ${s.flow.backlog} pairs` +
          (s.flow.backlog ? ` (oldest ${seconds(s.flow.oldestAgeMs)})` : ''),
      ]
    : [];
  return [
    `generator ${s.enabled ? 'ON' : 'OFF'}${s.degraded ? ' (degraded: routing controls not answering)' : ''}, ${rateText(s)}, publishing to ${s.targetRegion ?? '-'}`,
    ...flow,
    `sent ${s.pairsSent} pairs (${s.messagesSent} messages): ${scenarios || '-'}`,
    `confirmations received: ${confirmations || '-'}`,
    `submit → MATCHED confirmation: ${latency}`,
    `ledger (what was sent and the final state each pair must reach): ${s.ledger}`,
  ].join('\n');
}
