import type { PipelineRecord } from './records.js';
import { item, type StageIO } from './stage-io.js';

/** Where one record goes: a region's broker and a topic, with the message body to publish. */
export interface Destination {
  readonly region: string;
  readonly topic: string;
  readonly message: string;
}

export interface Publisher {
  publish(region: string, topic: string, messages: readonly string[]): Promise<void>;
}

/**
 * An outbound gateway's batch: publish every record (QoS 1, acknowledged by the broker), grouped by broker and
 * topic, then record it in the safe store. Only then is the batch checkpointed; a crash in between republishes,
 * which receivers treat as the duplicate it is.
 */
export async function publishBatch(
  io: StageIO,
  publisher: Publisher,
  records: PipelineRecord[],
  route: (record: PipelineRecord) => Destination,
): Promise<void> {
  const groups = new Map<string, { region: string; topic: string; messages: string[] }>();
  for (const record of records) {
    const { region, topic, message } = route(record);
    const key = `${region} ${topic}`;
    const group = groups.get(key) ?? { region, topic, messages: [] };
    group.messages.push(message);
    groups.set(key, group);
  }
  await Promise.all([...groups.values()].map((g) => publisher.publish(g.region, g.topic, g.messages)));
  await io.putAll(records.map((r) => item(io, r, 'accepted', true)));
  // Counted once the batch is done: a retried batch is not counted twice.
  io.counters.in += records.length;
  io.counters.out += records.length;
}
