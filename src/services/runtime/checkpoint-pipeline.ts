import { sleep } from './retry.js';

/**
 * The checkpoints of one shard, written behind its reader: the reader hands over each handled batch and reads on at
 * once instead of waiting for the lease-table write (a round trip per hop that every record used to wait for). At
 * most one write is in flight, writes start at least `minIntervalMs` apart, and batches handled meanwhile are covered
 * by a single write of the newest sequence number, so a busy shard writes fewer checkpoints, not more (each is a
 * conditional UpdateItem: on the local platform they were half of DynamoDB's write calls). A lost lease or a failed
 * write is kept for the reader, which must then stop or read again from the last checkpoint written (at-least-once:
 * handled batches after it are delivered again).
 */
export type CheckpointOutcome = 'written' | 'lost' | 'failed';

export class CheckpointPipeline<Batch> {
  private inFlight?: Promise<void>;
  private wanted?: { sequenceNumber: string; batches: Batch[] };
  private problem?: Exclude<CheckpointOutcome, 'written'>;
  private lastWriteAt = 0;

  /**
   * @param write writes one checkpoint (only while the lease is held) and says how it went
   * @param onWritten called with the batches a written checkpoint covers, oldest first
   * @param minIntervalMs least time between the starts of two writes (a crash may deliver that much again)
   */
  constructor(
    private readonly write: (sequenceNumber: string) => Promise<CheckpointOutcome>,
    private readonly onWritten: (batches: Batch[]) => void,
    private readonly minIntervalMs = 0,
  ) {}

  /** A problem an earlier write met, until settle() hands it over. */
  get failure(): Exclude<CheckpointOutcome, 'written'> | undefined {
    return this.problem;
  }

  /** Queues the checkpoint after a handled batch (its last sequence number) and returns at once. */
  add(sequenceNumber: string, batch: Batch): void {
    if (this.problem) return; // the reader reads again from the last checkpoint written
    this.wanted ??= { sequenceNumber, batches: [] };
    this.wanted.sequenceNumber = sequenceNumber;
    this.wanted.batches.push(batch);
    this.inFlight ??= this.drain();
  }

  /** Waits until every queued checkpoint is written or one failed; returns (and clears) what happened. */
  async settle(): Promise<CheckpointOutcome> {
    while (this.inFlight) await this.inFlight;
    const outcome = this.problem ?? 'written';
    this.problem = undefined;
    this.wanted = undefined;
    return outcome;
  }

  private async drain(): Promise<void> {
    try {
      while (this.wanted && !this.problem) {
        const wait = this.lastWriteAt + this.minIntervalMs - Date.now();
        if (wait > 0) await sleep(wait); // never yield otherwise: the first write starts with the batch that asked
        this.lastWriteAt = Date.now();
        const { sequenceNumber, batches } = this.wanted;
        this.wanted = undefined;
        let outcome: CheckpointOutcome;
        try {
          outcome = await this.write(sequenceNumber);
        } catch {
          outcome = 'failed';
        }
        if (outcome === 'written') this.onWritten(batches);
        else this.problem = outcome;
      }
    } finally {
      this.inFlight = undefined;
    }
  }
}
