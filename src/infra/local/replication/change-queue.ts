/** What the link keeps per target: a FIFO of changes waiting to be applied, and a loop's interruptible sleep. */
import type { ChangeRecord } from '../engines/dynamo-engine.js';

export interface Queued {
  readonly change: ChangeRecord;
  /** Approximate JSON size, to keep apply requests bounded. */
  readonly bytes: number;
  /** Epoch of the source feed the change came from (seqs are only comparable within one epoch). */
  readonly epoch: string;
}

/** FIFO of changes waiting for one target, with per-table counts. */
export class ChangeQueue {
  private items: Queued[] = [];
  private head = 0;
  private readonly perTable = new Map<string, number>();

  get length(): number {
    return this.items.length - this.head;
  }

  push(entry: Queued): void {
    this.items.push(entry);
    this.perTable.set(entry.change.table, (this.perTable.get(entry.change.table) ?? 0) + 1);
  }

  first(): Queued | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  /**
   * Changes from the head, in order, up to `max` of them and about `maxBytes` (always at least one), stopping at the
   * first one not yet `eligible`.
   */
  take(max: number, maxBytes: number, eligible: (entry: Queued) => boolean): Queued[] {
    const out: Queued[] = [];
    let bytes = 0;
    for (let i = this.head; i < this.items.length && out.length < max; i++) {
      const entry = this.items[i];
      if (!eligible(entry) || (out.length > 0 && bytes + entry.bytes > maxBytes)) break;
      bytes += entry.bytes;
      out.push(entry);
    }
    return out;
  }

  drop(count: number): void {
    for (let i = this.head; i < this.head + count; i++) {
      const table = this.items[i].change.table;
      this.perTable.set(table, (this.perTable.get(table) ?? 1) - 1);
    }
    this.head += count;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops every change waiting. */
  clear(): void {
    this.items = [];
    this.head = 0;
    this.perTable.clear();
  }

  count(table: string): number {
    return this.perTable.get(table) ?? 0;
  }

  oldest(table: string): Queued | undefined {
    if (this.count(table) === 0) return undefined;
    for (let i = this.head; i < this.items.length; i++) if (this.items[i].change.table === table) return this.items[i];
    return undefined;
  }
}

/** Something a loop can sleep on and be woken from early; a wake while it is busy is not lost. */
export class Waker {
  private wakeUp: (() => void) | undefined;
  private woken = false;

  sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      this.wakeUp = done;
    });
  }

  wake(): void {
    const wakeUp = this.wakeUp;
    this.wakeUp = undefined;
    if (wakeUp) wakeUp();
    else this.woken = true;
  }
}
