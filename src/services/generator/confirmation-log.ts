import { appendFile } from 'node:fs/promises';
import { appendFileSync } from 'node:fs';

/** What one confirmation line records: enough to tell which side heard what, and when. */
export interface ConfirmationEntry {
  /** Trade record id of the side confirmed (a rejection's id when it names one). */
  readonly id: string;
  readonly status: string;
  /** When the generator received it (epoch ms). */
  readonly at: number;
  /** Broker it came from. */
  readonly region: string;
}

/**
 * The confirmations senders received, appended to `<workspace>/generator/confirmations-<run>.jsonl` beside the ledger,
 * so the verdict can tell a trade confirmed twice with different states (docs/domain.md#game-days). Written in
 * batches every `flushMs`; what waits in memory is bounded (`maxBuffered` lines: beyond that a batch is written at
 * once), so hours of load cost disk, never memory.
 */
export class ConfirmationLog {
  private buffer: string[] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly options: { flushMs?: number; maxBuffered?: number; onError?: (error: Error) => void } = {},
  ) {}

  record(entry: ConfirmationEntry): void {
    this.buffer.push(JSON.stringify(entry));
    if (this.buffer.length >= (this.options.maxBuffered ?? 5_000)) {
      this.flushSync();
      return;
    }
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs ?? 200);
  }

  /** Writes what is buffered (in order with earlier batches). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.buffer.length) return this.writing;
    const lines = this.buffer.join('\n') + '\n';
    this.buffer = [];
    this.writing = this.writing
      .then(() => appendFile(this.file, lines))
      .catch((error: Error) => this.options.onError?.(error));
    return this.writing;
  }

  /** A full buffer is written before the next confirmation is taken: backpressure instead of growth. */
  private flushSync(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.buffer.join('\n') + '\n';
    this.buffer = [];
    try {
      appendFileSync(this.file, lines);
    } catch (error) {
      this.options.onError?.(error as Error);
    }
  }
}

/** The side a confirmation message is about: `tradeRecordId` for a status, `id` for a rejection. */
export function confirmedId(message: { tradeRecordId?: unknown; id?: unknown }): string | undefined {
  const id = message.tradeRecordId ?? message.id;
  return typeof id === 'string' && id ? id : undefined;
}
