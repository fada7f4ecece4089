/**
 * "Where the time goes" for the pipeline bench: CPU per component of the local platform (read from /proc, for every
 * process under the supervisor), and latency per hop (when each trade-matching stage stored a record, against when
 * the generator submitted it).
 */
import { readFileSync } from 'node:fs';
import { SafeStore } from '../src/services/runtime/safe-store.js';
import type { LocalState } from '../src/infra/local/state.js';
import { dynamoClient } from '../src/clients/aws-clients.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process ended
  }
}

function descendants(pid: number): number[] {
  const children = (read(`/proc/${pid}/task/${pid}/children`) ?? '').split(' ').filter(Boolean).map(Number);
  return [pid, ...children.flatMap(descendants)];
}

/** What a process is, from its command line and environment: an engine, a service stage, postgres, … */
function component(pid: number): string {
  const command = (read(`/proc/${pid}/cmdline`) ?? '').split('\0');
  const env = new Map(
    (read(`/proc/${pid}/environ`) ?? '')
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
  const spec = env.get('TSR_ENGINE_SPEC');
  if (spec) {
    const { kind, region } = JSON.parse(spec) as { kind: string; region?: string };
    return `engine ${kind}${region ? ` ${region}` : ''}`;
  }
  if (env.get('TSR_STAGE')) {
    return `service ${[env.get('TSR_APP'), env.get('TSR_STAGE'), env.get('TSR_REGION')].filter(Boolean).join(' ')}`;
  }
  if (command.some((part) => part.includes('dashboard/main.js'))) return 'dashboard';
  if (command[0]?.includes('postgres')) return 'postgres (both regions)';
  if (command.some((part) => part.includes('supervisor'))) return 'supervisor';
  return 'other';
}

function cpuTicks(pid: number): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // Fields after the command (which may contain spaces) start after the last ')'; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export interface CpuSnapshot {
  readonly at: number;
  readonly ticks: ReadonlyMap<number, { component: string; ticks: number }>;
}

export function cpuSnapshot(state: LocalState): CpuSnapshot {
  const ticks = new Map<number, { component: string; ticks: number }>();
  for (const pid of descendants(state.supervisor.pid)) {
    const used = cpuTicks(pid);
    if (used !== undefined) ticks.set(pid, { component: component(pid), ticks: used });
  }
  return { at: Date.now(), ticks };
}

/** CPU seconds per component between two snapshots, largest first, and the machine share they add up to. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot, cores: number) {
  const byComponent = new Map<string, number>();
  for (const [pid, now] of after.ticks) {
    const used = (now.ticks - (before.ticks.get(pid)?.ticks ?? 0)) / TICKS_PER_SECOND;
    byComponent.set(now.component, (byComponent.get(now.component) ?? 0) + used);
  }
  const seconds = (after.at - before.at) / 1000;
  const total = [...byComponent.values()].reduce((a, b) => a + b, 0);
  return {
    seconds,
    total,
    machineShare: total / (seconds * cores),
    components: [...byComponent].sort((a, b) => b[1] - a[1]),
  };
}

/** Groups of components as a reader thinks of them, by the start of the component's name (first match wins). */
const GROUPS: readonly [prefix: string, group: string][] = [
  ['service generator', 'generator (the load, not the platform)'],
  ['engine dynamodb', 'DynamoDB engines (dynalite, both regions)'],
  ['engine kinesis', 'Kinesis engines (kinesalite)'],
  ['postgres', 'PostgreSQL (both regions)'],
  ['engine broker', 'MQTT brokers'],
  ['service', 'our services (10 per region)'],
  ['', 'replication link, ARC, supervisor'],
];

export function summarizeCpu(components: readonly [string, number][]): [string, number][] {
  const groups = new Map<string, number>();
  for (const [name, seconds] of components) {
    const group = GROUPS.find(([prefix]) => name.startsWith(prefix))?.[1] as string;
    groups.set(group, (groups.get(group) ?? 0) + seconds);
  }
  return [...groups].sort((a, b) => b[1] - a[1]);
}

const HOPS = ['inbound-gateway', 'ingestion', 'core', 'egress', 'outbound-gateway'] as const;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/**
 * For trade sides that became MATCHED in [fromMs, toMs): how long after submission each trade-matching stage stored
 * the record that carried the match (the trade at the gateway and ingestion, the MATCHED status from core on).
 */
export async function hopLatencies(state: LocalState, environment: string, fromMs: number, toMs: number) {
  const region = state.regions[0];
  const dynamo = dynamoClient({ region, endpoint: state.endpoints.regions[region].dynamodb });
  try {
    const rows: { stage: string; p50: number; p99: number; samples: number }[] = [];
    for (const stage of HOPS) {
      const store = new SafeStore(dynamo, `${environment}-tm-${stage}`);
      const delays: number[] = [];
      // The time index projects kind and status, not the payload: the records that carry a match are read whole.
      for await (const item of store.queryWindow(fromMs, toMs)) {
        const carriesMatch =
          stage === 'inbound-gateway' || stage === 'ingestion'
            ? item.kind === 'trade'
            : item.kind === 'trade-status' && item.status === 'MATCHED';
        if (!carriesMatch) continue;
        const record = (await store.get(item.id))?.payload as { submittedAt?: number } | undefined;
        if (record?.submittedAt) delays.push(item.acceptedAt - record.submittedAt);
      }
      delays.sort((a, b) => a - b);
      if (delays.length)
        rows.push({ stage, p50: percentile(delays, 0.5), p99: percentile(delays, 0.99), samples: delays.length });
    }
    return rows;
  } finally {
    dynamo.destroy();
  }
}
