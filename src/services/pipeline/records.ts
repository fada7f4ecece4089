import type { SafeStoreItem } from '../runtime/safe-store.js';

/**
 * What travels on the Kinesis streams between stages. A record keeps its id from stage to stage (a stage that
 * transforms a record keeps the id; a stage that creates records gives them new ids), so reconciliation can compare
 * the ids one stage forwarded with the ids the next one accepted.
 */
export type RecordKind =
  'trade' | 'settlement-result' | 'trade-status' | 'settlement-instruction' | 'settlement-status' | 'rejection';

export interface PipelineRecord<T = unknown> {
  readonly id: string;
  readonly kind: RecordKind;
  readonly body: T;
  readonly partitionKey: string;
  /** When the platform first accepted the message this record came from (epoch ms). */
  readonly acceptedAt: number;
  /** When the sender submitted it, if the sender said (the generator does), for end-to-end latency. */
  readonly submittedAt?: number;
}

/** How a stage came to hold a record: it accepted it from upstream, or created it. */
export type Origin = 'accepted' | 'created';

/** The safe-store item recording that this stage accepted or created `record`, and whether it went downstream. */
export function safeStoreItem(
  record: PipelineRecord,
  origin: Origin,
  forwarded: boolean,
  status: string,
  stage: string,
  region: string,
): SafeStoreItem {
  return {
    id: record.id,
    kind: record.kind,
    status,
    acceptedAt: Date.now(),
    payload: record,
    stage,
    region,
    origin,
    forwarded,
  };
}

export function statusOf(record: PipelineRecord): string {
  const body = record.body as { status?: string };
  return body?.status ?? 'ACCEPTED';
}
