import type { ServiceStatus } from '../platform/local-services.js';
import { okOrNot } from './colour.js';
import { table } from './table.js';

const count = (value: unknown) => (typeof value === 'number' ? value.toLocaleString('en-US') : '-');

export function renderServices(services: readonly ServiceStatus[]): string {
  const rows = services.map((s) => {
    const c = s.metricsSnapshot?.counters ?? {};
    const g = s.metricsSnapshot?.gauges ?? {};
    const state = s.up ? (s.metricsError ? 'up (no metrics)' : 'up') : 'DOWN';
    return [
      s.id,
      okOrNot(s.up, state),
      String(s.restarts),
      count(c.in),
      count(c.out),
      count(c.rejected),
      count(g.backlog),
      s.up ? '' : (s.lastExit ?? ''),
    ];
  });
  return table(['service', 'state', 'restarts', 'in', 'out', 'rejected', 'backlog', 'last exit'], rows);
}
