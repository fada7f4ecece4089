import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { GeneratorLedgerTable, LINES_PER_ITEM, confirmationsOf } from '../../clients/generator-ledger.js';
import {
  compressLedgerSegment,
  compressLeftoverSegments,
  LEDGER_SEGMENT_BYTES,
  liveLedgerBytes,
  liveLedgerFile,
  sealLedgerSegment,
} from '../../clients/ledger-files.js';
import { ConfirmationLog, type ConfirmationEntry } from './confirmation-log.js';

/**
 * Where the generator writes its ledger (every pair a broker acknowledged) and its confirmation log: files in the
 * workspace (local), or the `<env>-generator-ledger` global table (AWS, where the task's root filesystem is
 * read-only). Readers: src/platform/ledger-source.ts.
 */
export interface LedgerSink {
  /** Where it writes, for the status: a file, or the table. */
  readonly where: string;
  /** Pairs in sending order, each its sequence number and its ledger line (JSON). */
  pairs(batch: readonly { readonly seq: number; readonly line: string }[]): void;
  confirmation(entry: ConfirmationEntry): void;
  /** Writes what is buffered. */
  flush(): Promise<void>;
}

/**
 * `<dir>/ledger-<run>.jsonl` (appended before the next batch is sent; sealed and compressed in segments as it grows:
 * src/clients/ledger-files.ts) and `<dir>/confirmations-<run>.jsonl`. What an earlier generator left uncompressed
 * (it stopped mid-compression) is compressed first, in the background.
 */
export function fileLedgerSink(
  dir: string,
  run: string,
  onError: (error: Error) => void,
  segmentBytes = LEDGER_SEGMENT_BYTES,
): LedgerSink {
  mkdirSync(dir, { recursive: true });
  const ledger = liveLedgerFile(dir, run);
  const confirmations = new ConfirmationLog(path.join(dir, `confirmations-${run}.jsonl`), { onError });
  let bytes = liveLedgerBytes(dir, run);
  // Compressions run one after another, off the send path; a failed one keeps its sealed text (still read).
  let compressing: Promise<unknown> = compressLeftoverSegments(dir).catch(onError);
  return {
    where: ledger,
    pairs: (batch) => {
      const text = batch.map((p) => p.line).join('\n') + '\n';
      appendFileSync(ledger, text);
      bytes += Buffer.byteLength(text);
      if (bytes < segmentBytes) return;
      const sealed = sealLedgerSegment(dir, run);
      bytes = 0;
      if (sealed) compressing = compressing.then(() => compressLedgerSegment(sealed)).catch(onError);
    },
    confirmation: (entry) => confirmations.record(entry),
    flush: async () => {
      await confirmations.flush();
      await compressing;
    },
  };
}

/**
 * The ledger table: the run is listed first (readers find runs there), then lines are buffered and written in batches
 * (BatchWriteItem) every `flushMs`, LINES_PER_ITEM lines per item — pairs keyed by their first pair's sequence number,
 * confirmations by batch number. A failed write (the run's listing too) keeps its lines and is tried again at the next
 * flush; what is buffered is bounded (`maxBuffered` confirmation lines: beyond that the oldest are dropped and
 * counted, never pairs).
 */
export class TableLedgerSink implements LedgerSink {
  readonly where: string;
  private pending: { seq: number; line: string }[] = [];
  private heard: string[] = [];
  private batch = 0;
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private readonly startedAt = Date.now();
  /** The run is listed among the runs (readers find a run's items through that list). */
  private registered = false;
  dropped = 0;

  constructor(
    private readonly table: GeneratorLedgerTable,
    private readonly run: string,
    private readonly options: { flushMs?: number; maxBuffered?: number; onError: (error: Error) => void },
  ) {
    this.where = `${table.table} run ${run}`;
    // List the run at once, even before its first pair.
    this.schedule();
  }

  pairs(batch: readonly { readonly seq: number; readonly line: string }[]): void {
    this.pending.push(...batch);
    this.schedule();
  }

  confirmation(entry: ConfirmationEntry): void {
    this.heard.push(JSON.stringify(entry));
    const over = this.heard.length - (this.options.maxBuffered ?? 50_000);
    if (over > 0) {
      this.heard.splice(0, over);
      this.dropped += over;
    }
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => void this.writeOnce(), this.options.flushMs ?? 500);
  }

  /** Writes what is buffered, trying again (up to `attempts` times) what a failed write kept: the stop's last word. */
  async flush(attempts = 3): Promise<void> {
    for (let i = 0; i < attempts; i++) {
      await this.writeOnce();
      if (this.registered && !this.pending.length && !this.heard.length) return;
    }
  }

  /** One write of what is buffered; what fails stays buffered for the next. */
  private writeOnce(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const pairs = this.pending.splice(0);
    const heard = this.heard.splice(0);
    if (!pairs.length && !heard.length && this.registered) return this.writing;
    this.writing = this.writing.then(async () => {
      const pairItems = chunk(pairs, LINES_PER_ITEM).map((c) => ({ seq: c[0].seq, lines: c.map((p) => p.line) }));
      const heardItems = chunk(heard, LINES_PER_ITEM).map((lines) => ({ seq: this.batch++, lines }));
      try {
        if (!this.registered) {
          await this.table.putRun(this.run, this.startedAt);
          this.registered = true;
        }
        await this.table.putLines(this.run, pairItems);
      } catch (error) {
        this.pending.unshift(...pairs);
        this.options.onError(error as Error);
        this.schedule();
      }
      try {
        if (heardItems.length) await this.table.putLines(confirmationsOf(this.run), heardItems);
      } catch (error) {
        this.heard.unshift(...heard);
        this.options.onError(error as Error);
        this.schedule();
      }
    });
    return this.writing;
  }
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
