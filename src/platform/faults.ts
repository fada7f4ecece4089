import path from 'node:path';
import type { AppName, StageName } from '../config/apps.js';
import type { Target } from '../config/model.js';
import { readJsonFile, writeJsonAtomically } from './json-file.js';
import { requestJson } from './json-request.js';

/**
 * The game-day fault library (docs/domain.md#game-days): each fault is scoped (app, region, stage), may be held for a
 * time, and has an undo recorded as data before it is injected, so whatever stops a run — its end, a failed step,
 * Ctrl-C, a stop condition, or a crash of tsr itself (`tsr gameday recover`) — can put the platform back.
 */
export const FAULT_KINDS = [
  'region-down',
  'kill-service',
  'kill-stage',
  'hang-service',
  'pause-table-replication',
  'pause-db-replication',
  'replication-delay',
  'broker-down',
  'db-writer-crash',
  'arc-endpoints-down',
  'partition',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What each fault needs besides its kind, and one line on what it does. */
export const FAULT_SHAPES: Readonly<
  Record<
    FaultKind,
    { readonly needs: readonly ('region' | 'app' | 'stage' | 'delay' | 'endpoints')[]; readonly does: string }
  >
> = {
  'region-down': {
    needs: ['region'],
    does: 'every engine and service of a region stops (undo: the region comes back)',
  },
  'kill-service': {
    needs: ['app', 'stage', 'region'],
    does: 'kill -9 one service; held down for `for`, else restarted',
  },
  'kill-stage': { needs: ['app', 'stage', 'region'], does: 'kill -9 every instance of a stage in a region' },
  'hang-service': {
    needs: ['app', 'stage', 'region'],
    does: 'SIGSTOP a service: a gray failure, not a crash (undo: SIGCONT)',
  },
  'pause-table-replication': { needs: [], does: 'cross-region replication of the safe-store tables stops applying' },
  'pause-db-replication': { needs: [], does: 'cross-region replication of the core databases stops' },
  'replication-delay': {
    needs: ['delay'],
    does: 'table replication applies each change no earlier than `delay` after it',
  },
  'broker-down': { needs: ['region'], does: "one region's message broker stops" },
  'db-writer-crash': {
    needs: ['app'],
    does: "the app's database writer is killed (kill -9) and restarts with recovery",
  },
  'arc-endpoints-down': { needs: ['endpoints'], does: 'ARC cluster endpoints stop answering (all-but-one, or all)' },
  partition: {
    needs: [],
    does: 'the regions cannot reach each other: replication links and cross-region deliveries cut',
  },
};

/** What the local platform can inject: all of them (cross-region broker links run through relays it can cut). */
export const LOCAL_FAULTS: readonly FaultKind[] = FAULT_KINDS;

/**
 * What AWS can inject (src/platform/aws/aws-faults.ts): through its APIs, a region's ECS services to zero tasks, a
 * stage to zero, one task stopped (or one held down for `for`), the writer cluster failed over within its region, and
 * a partition (an AWS FIS cross-Region connectivity experiment started in every region); and ARC endpoint loss as
 * tsr's own ARC client sees it (the cluster's endpoints are AWS's to run, but moving on to the next one is tsr's: the
 * client fails the held-down endpoints at once). Not on AWS: a hung process, paused or delayed replication, broker loss.
 */
export const AWS_FAULTS: readonly FaultKind[] = [
  'region-down',
  'kill-service',
  'kill-stage',
  'db-writer-crash',
  'arc-endpoints-down',
  'partition',
];

/**
 * Faults a game day can inject on each target — the one list behind both the platform's capabilities and game-day
 * validation; a scenario asking for another is refused at validation, naming the target. Local faults go through the
 * control process, AWS ones through the AWS APIs.
 */
export const TARGET_FAULTS: Readonly<Record<Target, readonly FaultKind[]>> = { local: LOCAL_FAULTS, aws: AWS_FAULTS };

/** A fault as injected on AWS, with what undoes it: kept as data so `tsr gameday recover` can undo it later. */
export interface AwsFault {
  readonly kind: FaultKind;
  readonly region: string;
  readonly detail: string;
  /** ECS services and the task count each had before (undo scales them back), for faults that scale services. */
  readonly restore?: readonly { readonly service: string; readonly desiredCount: number }[];
  /** The count each listed service is set to while the fault holds (default 0). */
  readonly scaledTo?: readonly number[];
  /** FIS experiment templates the fault starts, one per region (undo stops their running experiments). */
  readonly experiments?: readonly { readonly region: string; readonly templateId: string }[];
  /** ARC cluster endpoints tsr's own ARC client treats as down while the fault holds (undo lets them answer again). */
  readonly arcHeldDown?: { readonly endpoints: ArcEndpointsDown; readonly urls: readonly string[] };
}

/** Which ARC cluster endpoints `arc-endpoints-down` takes: all but one (the last in the configured order), or all. */
export type ArcEndpointsDown = 'all-but-one' | 'all';

/** A fault with every name resolved (regions are names, not aliases). */
export interface FaultSpec {
  readonly kind: FaultKind;
  readonly region?: string;
  readonly app?: AppName;
  readonly stage?: StageName;
  readonly delayMs?: number;
  readonly endpoints?: ArcEndpointsDown;
}

/** One request that undoes (part of) a local fault: kept as data so a later process can replay it. */
export interface LocalUndoRequest {
  readonly via: 'supervisor' | 'link';
  /** Path and query, e.g. /faults/service-signal?filter=…&signal=CONT. */
  readonly path: string;
  readonly timeoutMs: number;
}

/** The undo of an AWS fault: the fault itself, which says what to put back (AwsFaults.undo). */
export interface AwsUndoRequest {
  readonly via: 'aws';
  readonly fault: AwsFault;
  readonly timeoutMs: number;
}

export type UndoRequest = LocalUndoRequest | AwsUndoRequest;

export interface InjectedFault {
  /** The step or phase that injected it (unique within its run). */
  readonly id: string;
  readonly runId: string;
  readonly spec: FaultSpec;
  readonly summary: string;
  readonly injectedAt: string;
  readonly undo: readonly UndoRequest[];
}

export function describeFault(spec: FaultSpec): string {
  const where = [spec.app, spec.stage, spec.region].filter(Boolean).join(' ');
  const extra = spec.delayMs !== undefined ? ` ${spec.delayMs} ms` : spec.endpoints ? ` (${spec.endpoints})` : '';
  return `${spec.kind}${where ? ` ${where}` : ''}${extra}`;
}

const q = encodeURIComponent;

/** The requests that inject a fault locally and those that undo it, in the order to send them. */
export function localFaultRequests(
  spec: FaultSpec,
  context: { readonly writerRegion?: string; readonly arcEndpoints: number; readonly hold: boolean },
): { inject: LocalUndoRequest[]; undo: LocalUndoRequest[] } {
  const sup = (p: string, timeoutMs = 60_000): LocalUndoRequest => ({ via: 'supervisor', path: p, timeoutMs });
  const link = (p: string): LocalUndoRequest => ({ via: 'link', path: p, timeoutMs: 10_000 });
  const service = `${spec.app}/${spec.stage}@${spec.region}`;
  switch (spec.kind) {
    case 'region-down':
      return {
        inject: [sup(`/regions/down?region=${q(spec.region ?? '')}`)],
        undo: [sup(`/regions/up?region=${q(spec.region ?? '')}`, 180_000)],
      };
    case 'kill-service':
    case 'kill-stage':
      return {
        inject: [sup(`/faults/service-kill?filter=${q(service)}&hold=${context.hold ? 1 : 0}`)],
        undo: [sup(`/faults/service-resume?filter=${q(service)}`, 120_000)],
      };
    case 'hang-service':
      return {
        inject: [sup(`/faults/service-signal?filter=${q(service)}&signal=STOP`)],
        undo: [sup(`/faults/service-signal?filter=${q(service)}&signal=CONT`)],
      };
    case 'pause-table-replication':
      return { inject: [link('/pause')], undo: [link('/resume')] };
    case 'replication-delay':
      return { inject: [link(`/delay?ms=${spec.delayMs ?? 0}`)], undo: [link('/delay?ms=0')] };
    case 'pause-db-replication':
      return { inject: [sup('/faults/db-replication?enabled=0')], undo: [sup('/faults/db-replication?enabled=1')] };
    case 'broker-down':
      return {
        inject: [sup(`/faults/engine-stop?id=${q(`broker@${spec.region}`)}`)],
        undo: [sup(`/faults/engine-start?id=${q(`broker@${spec.region}`)}`)],
      };
    case 'db-writer-crash': {
      const id = q(`postgres@${context.writerRegion ?? ''}`);
      return { inject: [sup(`/faults/engine-kill?id=${id}`)], undo: [sup(`/faults/engine-start?id=${id}`, 120_000)] };
    }
    case 'arc-endpoints-down': {
      const up = spec.endpoints === 'all' ? 0 : Math.min(1, context.arcEndpoints);
      return { inject: [sup(`/faults/arc?up=${up}`)], undo: [sup('/faults/arc?up=all')] };
    }
    case 'partition':
      // Both directions at once: broker links, table replication, database replication; healed in reverse.
      return {
        inject: [sup('/faults/partition?cut=1'), link('/pause'), sup('/faults/db-replication?enabled=0')],
        undo: [sup('/faults/db-replication?enabled=1'), link('/resume'), sup('/faults/partition?cut=0')],
      };
  }
}

/** Where the local deployment's control process and replication link answer (from its state file). */
export interface LocalFaultEndpoints {
  readonly supervisor: string;
  readonly replicationLink?: string;
}

/** Sends one inject or undo request to the local deployment. */
export async function sendLocalFaultRequest(endpoints: LocalFaultEndpoints, request: LocalUndoRequest): Promise<void> {
  const base = request.via === 'supervisor' ? endpoints.supervisor : endpoints.replicationLink;
  if (!base)
    throw new Error(`no ${request.via === 'link' ? 'replication link' : 'control process'} endpoint in the state`);
  await requestJson(`${base}${request.path}`, { method: 'POST' }, request.timeoutMs);
}

/**
 * Faults injected and not yet undone, in the workspace: written before a fault is injected and cleared once it is
 * undone, so a crash of tsr in between leaves a record `tsr gameday recover` acts on.
 */
export class ActiveFaults {
  private readonly file: string;

  constructor(workspace: string) {
    this.file = path.join(workspace, 'gamedays', 'active-faults.json');
  }

  list(): InjectedFault[] {
    return readJsonFile<InjectedFault[]>(this.file) ?? [];
  }

  private write(faults: readonly InjectedFault[]): void {
    writeJsonAtomically(this.file, faults);
  }

  add(fault: InjectedFault): void {
    this.write([...this.list().filter((f) => !(f.runId === fault.runId && f.id === fault.id)), fault]);
  }

  remove(runId: string, id: string): void {
    this.write(this.list().filter((f) => !(f.runId === runId && f.id === id)));
  }
}
