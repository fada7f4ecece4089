import { APP_SHORT, type AppName, STAGES, type StageName } from '../config/apps.js';
import { type ResourceNames, safeStoreTable, streamName } from '../config/model.js';

/** One stage's safe store, as reconciliation reads it. */
export interface StageRef {
  readonly app: AppName;
  readonly stage: StageName;
}

/** How a missing record is put back into the downstream stage's input. */
export type ReplayTarget =
  /** Onto the downstream stage's Kinesis stream, the upstream item's payload (a PipelineRecord), its partition key. */
  | { readonly via: 'stream'; readonly stream: string }
  /** Republished to the downstream app's broker (the region whose dns control is ON), as the outbound gateway does. */
  | { readonly via: 'broker'; readonly topic: string };

/**
 * A hop (docs/domain.md#reconciliation-and-replay): records `from` forwarded (its items with forwarded=true, of `kinds`) must be accepted by `to`
 * (its items with origin='accepted', of `kinds`).
 */
export interface Hop {
  /** e.g. "trade: ingestion → core", "trade → settlement: outbound-gateway → inbound-gateway". */
  readonly name: string;
  /** The app that owns the hop: the downstream one (the hop feeds its input). */
  readonly app: AppName;
  readonly from: StageRef;
  readonly to: StageRef;
  /** Only these kinds travel the hop; undefined: every kind. */
  readonly kinds?: ReadonlySet<string>;
  /**
   * Whether both sides store the record's own status, so a difference means a disagreement. Inbound gateways store
   * ACCEPTED and core stores its matching outcome for what it accepted, so hops touching them compare ids only.
   */
  readonly statusCompared: boolean;
  readonly replay: ReplayTarget;
  /**
   * Upstream also counts records it accepted but holds (forwarded=false: the downstream broker was unreachable, see
   * services/pipeline/outbound.ts). They are due downstream, so they are reported (as held) until delivered, and a
   * replay delivers them.
   */
  readonly includeHeld?: boolean;
}

export function stageLabel(ref: StageRef): string {
  return `${APP_SHORT[ref.app]}/${ref.stage}`;
}

export function tableOf(env: string, ref: StageRef): string {
  return safeStoreTable(env, ref.app, ref.stage);
}

/** Every hop of the given apps, in pipeline order: the four inside each app and the one feeding its inbound gateway. */
export function hopsFor(env: string, apps: readonly AppName[], names: ResourceNames): Hop[] {
  const hops: Hop[] = [];
  for (const app of apps) {
    const other: AppName = app === 'trade' ? 'settlement' : 'trade';
    const kind = app === 'trade' ? 'settlement-result' : 'settlement-instruction';
    const topic = app === 'trade' ? names.topics.tmInSettlements : names.topics.stInSettlements;
    hops.push({
      name: `${APP_SHORT[other]}/outbound-gateway → ${APP_SHORT[app]}/inbound-gateway`,
      app,
      from: { app: other, stage: 'outbound-gateway' },
      to: { app, stage: 'inbound-gateway' },
      kinds: new Set([kind]),
      statusCompared: false,
      replay: { via: 'broker', topic },
      includeHeld: true,
    });
    for (let i = 0; i + 1 < STAGES.length; i++) {
      const from = STAGES[i];
      const to = STAGES[i + 1];
      hops.push({
        name: `${APP_SHORT[app]}/${from} → ${APP_SHORT[app]}/${to}`,
        app,
        from: { app, stage: from },
        to: { app, stage: to },
        statusCompared: from !== 'inbound-gateway' && to !== 'core',
        replay: { via: 'stream', stream: streamName(env, app, to) },
      });
    }
  }
  return hops;
}
