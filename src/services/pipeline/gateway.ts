import type { ParseResult } from '../../domain/validation.js';
import type { Rejection } from '../../domain/records.js';
import type { PipelineRecord, RecordKind } from './records.js';
import { item, type StageIO, storeAndForward } from './stage-io.js';

/** How an inbound gateway turns one topic's messages into records. */
export interface InboundRoute<T> {
  readonly kind: RecordKind;
  readonly parse: (raw: Buffer, source: string) => ParseResult<T>;
  /** The record id (may differ from the parsed id, e.g. a settlement result's id carries its status). */
  readonly id: (value: T, parsedId: string) => string;
  readonly partitionKey: (value: T) => string;
}

export function rejectionRecord(rejection: Rejection, acceptedAt = Date.now()): PipelineRecord<Rejection> {
  return { id: `${rejection.id}#REJECTED`, kind: 'rejection', body: rejection, partitionKey: rejection.id, acceptedAt };
}

/** The sender's own submission time, if it put one on the message (the generator does), for latency figures. */
function submittedAt(raw: Buffer): number | undefined {
  const match = /"submittedAt"\s*:\s*(\d{10,16})/.exec(raw.subarray(0, 4096).toString('utf8'));
  return match ? Number(match[1]) : undefined;
}

/**
 * Accepts a batch of messages from the broker, as acceptInbound does one: valid ones stored and put on the next
 * stage's stream, invalid ones stored as REJECTED and returned for the NACK — one safe-store write and one stream
 * put for the whole batch.
 */
export async function acceptInboundBatch(
  io: StageIO,
  routeOf: (topic: string) => InboundRoute<unknown>,
  messages: readonly { topic: string; payload: Buffer }[],
): Promise<Rejection[]> {
  const acceptedAt = Date.now();
  const records: PipelineRecord[] = [];
  const rejections: Rejection[] = [];
  for (const { topic, payload } of messages) {
    const route = routeOf(topic);
    const parsed = route.parse(payload, topic);
    if (!parsed.ok) {
      rejections.push(parsed.rejection);
      continue;
    }
    records.push({
      id: route.id(parsed.value, parsed.id),
      kind: route.kind,
      body: parsed.value,
      partitionKey: route.partitionKey(parsed.value),
      acceptedAt,
      submittedAt: submittedAt(payload),
    });
  }
  const items = [
    ...records.map((r) => item(io, r, 'accepted', true, 'ACCEPTED')),
    ...rejections.map((r) => item(io, rejectionRecord(r, acceptedAt), 'created', false, 'REJECTED')),
  ];
  // Both required before the acknowledgement.
  await storeAndForward(io, items, records);
  io.counters.in += messages.length;
  io.counters.out += records.length;
  io.counters.rejected += rejections.length;
  return rejections;
}
