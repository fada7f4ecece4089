/**
 * Serializes work per item id. Acquisition is synchronous in arrival order and a holder only ever waits for holders
 * that arrived before it, so several keys can be taken at once without deadlock.
 */
export class ItemLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(ids: readonly string[]): Promise<() => void> {
    const unique = [...new Set(ids)];
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const waits: Promise<void>[] = [];
    for (const id of unique) {
      const previous = this.tails.get(id);
      if (previous) waits.push(previous);
      this.tails.set(id, mine);
    }
    await Promise.all(waits);
    return () => {
      release();
      for (const id of unique) if (this.tails.get(id) === mine) this.tails.delete(id);
    };
  }
}
