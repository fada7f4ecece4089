import type { ParseResult } from '../../domain/validation.js';
import type { Rejection } from '../../domain/records.js';
import type { PipelineRecord, RecordKind } from './records.js';
import { item, type StageIO } from './stage-io.js';

/** How an inbound gateway turns one topic's messages into records. */
export interface InboundRoute<T> {
  readonly kind: RecordKind;
  readonly parse: (raw: Buffer, source: string) => ParseResult<T>;
  /** The record id (may differ from the parsed id, e.g. a settlement result's id carries its status). */
  readonly id: (value: T, parsedId: string) => string;
  readonly partitionKey: (value: T) => string;
}

export interface InboundOutcome {
  readonly record?: PipelineRecord;
  readonly rejection?: Rejection;
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
 * Accepts one message from the broker: a valid one is stored in the safe store and put on the next stage's stream
 * (both before the broker gets its acknowledgement); an invalid one is stored as a REJECTED record and returned so
 * the gateway can send the NACK. Neither blocks the messages behind it.
 */
export async function acceptInbound<T>(
  io: StageIO,
  route: InboundRoute<T>,
  topic: string,
  raw: Buffer,
): Promise<InboundOutcome> {
  io.counters.in++;
  const parsed = route.parse(raw, topic);
  const acceptedAt = Date.now();
  if (!parsed.ok) {
    const record = rejectionRecord(parsed.rejection, acceptedAt);
    await io.putAll([item(io, record, 'created', false, 'REJECTED')]);
    io.counters.rejected++;
    return { rejection: parsed.rejection };
  }
  const record: PipelineRecord<T> = {
    id: route.id(parsed.value, parsed.id),
    kind: route.kind,
    body: parsed.value,
    partitionKey: route.partitionKey(parsed.value),
    acceptedAt,
    submittedAt: submittedAt(raw),
  };
  // Independent writes, both required before the acknowledgement: run them together.
  await Promise.all([io.putAll([item(io, record, 'accepted', true, 'ACCEPTED')]), io.forward([record])]);
  io.counters.out++;
  return { record };
}
