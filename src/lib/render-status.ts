import type { LocalState } from '../infra/local/state.js';
import { localDashboardUrl } from '../platform/dashboard-url.js';
import type { DiskStatus, PlatformStatus, ReplicationLag, RoutingControlState } from '../platform/platform.js';
import { okOrNot, paint } from './colour.js';
import { table } from './table.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The endpoints of a local deployment, as printed after `tsr deploy`. */
export function renderDeployment(state: LocalState, durationMs: number): string {
  const rows = state.regions.map((region) => {
    const e = state.endpoints.regions[region];
    return [
      region === state.regions[0] ? `${region} (primary)` : region,
      e.kinesis ?? '',
      e.dynamodb ?? '',
      e.broker,
      `postgres://${e.postgres.host}:${e.postgres.port}`,
    ];
  });
  return [
    `Local platform "${state.environment}" is up in ${seconds(durationMs)} (workspace ${state.workspace}).`,
    '',
    table(['region', 'kinesis', 'dynamodb', 'broker (mqtt)', 'postgresql'], rows),
    '',
    `ARC cluster endpoints: ${state.endpoints.arc.join(', ')}`,
    `Logs: ${state.workspace}/logs   PostgreSQL password: ${state.workspace}/secrets/postgres-password`,
    `Dashboard: ${localDashboardUrl(state) ?? 'not started (see logs/dashboard.log)'}`,
    'Next: `tsr status`, `tsr dashboard --open`, `tsr routing-control list`, `tsr destroy` when done.',
  ].join('\n');
}

function lagText(lag: ReplicationLag): string {
  if (!lag.healthy) return `UNHEALTHY${lag.detail ? `: ${lag.detail}` : ''}`;
  if (lag.lagMs === undefined) return `unknown${lag.detail ? ` (${lag.detail})` : ''}`;
  return `${lag.lagMs} ms${lag.pending ? `, ${lag.pending} pending` : ''}`;
}

function controlsByApp(controls: readonly RoutingControlState[], regions: readonly string[]): string {
  const state = new Map(controls.map((c) => [c.name, c.state]));
  const apps = [...new Set(controls.map((c) => c.name.split('-')[0]))];
  const rows: string[][] = [];
  for (const app of apps) {
    for (const region of regions) {
      rows.push([
        app,
        region,
        ...['dns', 'queue', 'app'].map((scope) => state.get(`${app}-${scope}-${region}`) ?? '-'),
      ]);
    }
  }
  const others = controls.filter((c) => !/-(dns|queue|app)-/.test(c.name)).map((c) => `${c.name}=${c.state}`);
  return [table(['app', 'region', 'dns', 'queue', 'app'], rows), `other controls: ${others.join('  ')}`].join('\n');
}

export function renderStatus(status: PlatformStatus): string {
  const components = table(
    ['component', 'region', 'state', 'endpoint / detail'],
    status.components.map((c) => [
      c.name,
      c.region ?? '-',
      okOrNot(c.up, c.up ? 'up' : 'DOWN'),
      c.up ? (c.endpoint ?? '') : (c.detail ?? ''),
    ]),
  );
  const routing =
    'error' in status.routingControls
      ? `routing controls unavailable: ${status.routingControls.error}`
      : controlsByApp(status.routingControls, status.regions);
  const replication = table(
    ['kind', 'resource', 'from → to', 'lag'],
    status.replication.map((r) => [r.kind, r.resource, `${r.from} → ${r.to}`, lagText(r)]),
  );
  const writers = Object.entries(status.writers)
    .map(([app, region]) => `${app}: ${region}`)
    .join(', ');
  const n = (v?: number) => (v === undefined ? '-' : v.toLocaleString('en-US'));
  const pipeline = status.stages?.length
    ? [
        '',
        'Pipeline (records in / out / rejected / backlog per stage)',
        table(
          ['app', 'stage', 'region', 'state', 'in', 'out', 'rejected', 'backlog'],
          status.stages.map((s) => [
            s.app,
            s.stage,
            s.region,
            okOrNot(s.up, s.up ? 'up' : 'DOWN'),
            n(s.in),
            n(s.out),
            n(s.rejected),
            n(s.backlog),
          ]),
        ),
      ]
    : [];
  return [
    verdict(status),
    ...(status.disk?.warning ? [paint.yellow.bold(`WARNING: ${status.disk.warning}`)] : []),
    `${status.target} platform "${status.environment}", regions ${status.regions.join(', ')} (primary ${status.primary})`,
    '',
    components,
    '',
    'Routing controls',
    routing,
    '',
    `Replication (database writers: ${writers})`,
    replication,
    ...pipeline,
    ...(status.disk ? ['', diskLine(status.disk)] : []),
    ...(status.dashboard ? ['', `Dashboard: ${status.dashboard}`] : []),
  ].join('\n');
}

const size = (bytes: number) =>
  bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.round(bytes / 1e6).toLocaleString('en-US')} MB`;

/** Where the workspace's disk goes (data per region and engine, logs...) and what is left free. */
export function diskLine(disk: DiskStatus): string {
  const byRegion = new Map<string, string[]>();
  const others: string[] = [];
  for (const part of disk.parts) {
    if (part.region)
      byRegion.set(part.region, [...(byRegion.get(part.region) ?? []), `${part.part} ${size(part.bytes)}`]);
    else if (part.bytes >= 1e6) others.push(`${part.part} ${size(part.bytes)}`);
  }
  const parts = [...[...byRegion].map(([region, list]) => `${region}: ${list.join(', ')}`), ...others].join('; ');
  const free = `${size(disk.freeBytes)} free of ${size(disk.totalBytes)}`;
  return `Disk: workspace ${size(disk.usedBytes)}${parts ? ` (${parts})` : ''}, ${disk.low ? paint.yellow.bold(free) : free}`;
}

/** The one line to read first: healthy, or what is wrong (each kind of problem counted, the first few named). */
export function verdict(status: PlatformStatus): string {
  const down = status.components.filter((c) => !c.up).map((c) => (c.region ? `${c.name}@${c.region}` : c.name));
  const lagging = status.replication.filter((r) => !r.healthy).map((r) => `${r.resource} ${r.from} → ${r.to}`);
  const problems = [
    down.length ? `${down.length} DOWN (${listSome(down)})` : '',
    'error' in status.routingControls ? 'routing controls unreadable' : '',
    lagging.length ? `${lagging.length} not replicating (${listSome(lagging)})` : '',
  ].filter(Boolean);
  if (!problems.length) {
    const writers = Object.entries(status.writers).map(([app, region]) => `${app} in ${region}`);
    return paint.green.bold(
      `HEALTHY: ${status.components.length} components up, replication healthy${writers.length ? `; writers: ${writers.join(', ')}` : ''}`,
    );
  }
  return paint.red.bold(`UNHEALTHY: ${problems.join('; ')}`);
}

const listSome = (items: readonly string[], most = 3) =>
  items.length > most ? `${items.slice(0, most).join(', ')}, … ${items.length - most} more` : items.join(', ');

/** Whether everything is up and replicating: `tsr status` exits non-zero otherwise, so scripts can gate on it. */
export function isHealthy(status: PlatformStatus): boolean {
  return (
    status.components.every((c) => c.up) &&
    !('error' in status.routingControls) &&
    status.replication.every((r) => r.healthy)
  );
}
