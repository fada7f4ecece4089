/**
 * Writes records to one Kinesis stream with PutRecords: JSON-encoded, split within the Kinesis limits (500 records,
 * 5 MiB per call, 1 MiB per record including its partition key), a few calls in flight at once, and only the
 * entries that failed (FailedRecordCount / per-entry ErrorCode, e.g. ProvisionedThroughputExceededException)
 * retried, with exponential backoff and jitter, a bounded number of times.
 *
 * Ordering: records with the same partition key always go to the same lane, and a lane sends its calls one after
 * the other, in input order; within a call entries keep their input order, so when nothing fails records of one
 * key land in the order given. An entry that failed and is retried lands after the entries of its call that
 * succeeded (PutRecords cannot hold a place), so consumers must tolerate that rare reordering.
 */
import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { Logger } from 'pino';
import { backoffDelay, errorName, isTransientAwsError, sleep } from './retry.js';

export const KINESIS_MAX_RECORDS_PER_CALL = 500;
export const KINESIS_MAX_BYTES_PER_CALL = 5 * 1024 * 1024;
export const KINESIS_MAX_BYTES_PER_RECORD = 1024 * 1024;
export const KINESIS_MAX_PARTITION_KEY_LENGTH = 256;

export interface ProducerRecord {
  readonly partitionKey: string;
  /** JSON-encoded before sending; a Buffer/Uint8Array is sent as it is. */
  readonly data: unknown;
}

export interface StreamProducerOptions {
  /** PutRecords calls in flight at once. Default 4. */
  readonly concurrency?: number;
  /** Attempts per entry, including the first. Default 8. */
  readonly maxAttempts?: number;
  /** Backoff before the first retry, ms. Default 50. */
  readonly baseDelayMs?: number;
  /** Largest backoff, ms. Default 2000. */
  readonly maxDelayMs?: number;
  readonly logger?: Logger;
}

/** A record too large for Kinesis (or with an invalid partition key): nothing of the `put` was sent. */
export class InvalidRecordError extends Error {
  constructor(
    /** Index of the record in the `put` call. */
    readonly index: number,
    readonly partitionKey: string,
    message: string,
    /** Size of data plus partition key, for an oversized record. */
    readonly bytes?: number,
  ) {
    super(message);
    this.name = 'InvalidRecordError';
  }
}

/** Some records were still not accepted after every attempt; the others were written. */
export class PutRecordsFailedError extends Error {
  constructor(
    readonly failed: number,
    readonly total: number,
    /** Distinct error codes seen on the last attempt, e.g. ProvisionedThroughputExceededException. */
    readonly errorCodes: readonly string[],
    readonly attempts: number,
  ) {
    super(
      `${failed} of ${total} records were not accepted by Kinesis after ${attempts} attempts` +
        (errorCodes.length ? ` (${errorCodes.join(', ')})` : ''),
    );
    this.name = 'PutRecordsFailedError';
  }
}

export interface ProducerStats {
  readonly records: number;
  readonly calls: number;
  /** Entries sent again after failing. */
  readonly retriedEntries: number;
  readonly failedRecords: number;
}

interface Entry {
  readonly partitionKey: string;
  readonly data: Uint8Array;
  readonly bytes: number;
}

/** Errors of the whole call that no retry will fix. */
const FATAL_CALL_ERRORS = new Set([
  'ResourceNotFoundException',
  'ValidationException',
  'InvalidArgumentException',
  'AccessDeniedException',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSNotFoundException',
  'KMSInvalidStateException',
  'UnrecognizedClientException',
]);

function hashKey(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export class StreamProducer {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly logger?: Logger;
  private counters = { records: 0, calls: 0, retriedEntries: 0, failedRecords: 0 };

  constructor(
    private readonly kinesis: KinesisClient,
    readonly streamName: string,
    opts: StreamProducerOptions = {},
  ) {
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 8);
    this.baseDelayMs = opts.baseDelayMs ?? 50;
    this.maxDelayMs = opts.maxDelayMs ?? 2000;
    this.logger = opts.logger;
  }

  stats(): ProducerStats {
    return { ...this.counters };
  }

  /**
   * Writes every record or throws: InvalidRecordError before sending anything when a record cannot be sent at all,
   * PutRecordsFailedError naming how many were still refused after the last attempt (the rest were written).
   */
  async put(records: readonly ProducerRecord[]): Promise<void> {
    if (records.length === 0) return;
    const entries = records.map((record, index) => this.encode(record, index));

    // Lanes: one key always in the same lane; each lane sends its chunks one after the other.
    const totalBytes = entries.reduce((sum, e) => sum + e.bytes, 0);
    const chunksNeeded = Math.max(
      Math.ceil(entries.length / KINESIS_MAX_RECORDS_PER_CALL),
      Math.ceil(totalBytes / KINESIS_MAX_BYTES_PER_CALL),
    );
    const laneCount = Math.min(this.concurrency, chunksNeeded);
    const lanes: Entry[][] = Array.from({ length: laneCount }, () => []);
    for (const entry of entries) lanes[laneCount === 1 ? 0 : hashKey(entry.partitionKey) % laneCount].push(entry);

    const results = await Promise.allSettled(lanes.map((lane) => this.sendLane(lane)));
    let failed = 0;
    const codes = new Set<string>();
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      const error = result.reason as unknown;
      if (error instanceof PutRecordsFailedError) {
        failed += error.failed;
        for (const code of error.errorCodes) codes.add(code);
      } else {
        throw error;
      }
    }
    if (failed > 0) {
      this.counters.failedRecords += failed;
      throw new PutRecordsFailedError(failed, entries.length, [...codes], this.maxAttempts);
    }
  }

  private encode(record: ProducerRecord, index: number): Entry {
    const key = record.partitionKey;
    if (typeof key !== 'string' || key.length === 0 || key.length > KINESIS_MAX_PARTITION_KEY_LENGTH) {
      throw new InvalidRecordError(
        index,
        String(key),
        `record ${index}: partition key must be 1-${KINESIS_MAX_PARTITION_KEY_LENGTH} characters`,
      );
    }
    const data =
      record.data instanceof Uint8Array ? record.data : Buffer.from(JSON.stringify(record.data) ?? 'null', 'utf8');
    const bytes = data.byteLength + Buffer.byteLength(key, 'utf8');
    if (bytes > KINESIS_MAX_BYTES_PER_RECORD) {
      throw new InvalidRecordError(
        index,
        key,
        `record ${index} (partition key ${key.slice(0, 64)}) is ${bytes} bytes; Kinesis accepts at most ` +
          `${KINESIS_MAX_BYTES_PER_RECORD} per record (data plus partition key)`,
        bytes,
      );
    }
    return { partitionKey: key, data, bytes };
  }

  /** Sends one lane's entries in order, chunk after chunk; a chunk's failures are retried before the next. */
  private async sendLane(lane: readonly Entry[]): Promise<void> {
    let failed = 0;
    const codes = new Set<string>();
    let start = 0;
    while (start < lane.length) {
      let end = start;
      let bytes = 0;
      while (
        end < lane.length &&
        end - start < KINESIS_MAX_RECORDS_PER_CALL &&
        bytes + lane[end].bytes <= KINESIS_MAX_BYTES_PER_CALL
      ) {
        bytes += lane[end].bytes;
        end++;
      }
      try {
        await this.sendChunk(lane.slice(start, end));
      } catch (error) {
        if (!(error instanceof PutRecordsFailedError)) throw error;
        failed += error.failed;
        for (const code of error.errorCodes) codes.add(code);
      }
      start = end;
    }
    if (failed > 0) throw new PutRecordsFailedError(failed, lane.length, [...codes], this.maxAttempts);
  }

  private async sendChunk(chunk: readonly Entry[]): Promise<void> {
    let pending = chunk;
    let lastCodes: string[] = [];
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      if (attempt > 0) {
        this.counters.retriedEntries += pending.length;
        await sleep(backoffDelay(attempt - 1, { baseMs: this.baseDelayMs, maxMs: this.maxDelayMs }));
      }
      const request: PutRecordsRequestEntry[] = pending.map((e) => ({ PartitionKey: e.partitionKey, Data: e.data }));
      this.counters.calls++;
      let answer;
      try {
        answer = await this.kinesis.send(new PutRecordsCommand({ StreamName: this.streamName, Records: request }));
      } catch (error) {
        const name = errorName(error) ?? 'Error';
        if (FATAL_CALL_ERRORS.has(name) || !isTransientAwsError(error)) throw error;
        lastCodes = [name];
        this.logger?.warn(
          { stream: this.streamName, entries: pending.length, attempt: attempt + 1, error: name },
          'PutRecords call failed; retrying',
        );
        continue;
      }
      const results = answer.Records ?? [];
      if (!answer.FailedRecordCount) {
        this.counters.records += pending.length;
        return;
      }
      const retry: Entry[] = [];
      const codes = new Set<string>();
      pending.forEach((entry, i) => {
        const code = results[i]?.ErrorCode;
        if (code || results[i] === undefined) {
          retry.push(entry);
          codes.add(code ?? 'MissingResult');
        }
      });
      this.counters.records += pending.length - retry.length;
      lastCodes = [...codes];
      this.logger?.debug(
        { stream: this.streamName, failed: retry.length, of: pending.length, codes: lastCodes },
        'PutRecords: retrying failed entries',
      );
      pending = retry;
      if (pending.length === 0) return;
    }
    this.logger?.error(
      { stream: this.streamName, failed: pending.length, codes: lastCodes },
      'PutRecords: entries still failing after every attempt',
    );
    throw new PutRecordsFailedError(pending.length, chunk.length, lastCodes, this.maxAttempts);
  }
}
