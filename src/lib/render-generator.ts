import type { GeneratorStatus } from '../platform/generator-control.js';

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
  return [
    `generator ${s.enabled ? 'ON' : 'OFF'}${s.degraded ? ' (degraded: routing controls not answering)' : ''}, rate ${s.rate} pairs/s, publishing to ${s.targetRegion ?? '-'}`,
    `sent ${s.pairsSent} pairs (${s.messagesSent} messages): ${scenarios || '-'}`,
    `confirmations received: ${confirmations || '-'}`,
    `submit → MATCHED confirmation: ${latency}`,
    `ledger (what was sent and the final state each pair must reach): ${s.ledger}`,
  ].join('\n');
}
