/**
 * dynalite 4 reads LevelDB through abstract-level iterators wrapped in streams, and closes them on the stream's end
 * with `iterator.return()`, the async-iterator protocol's method. abstract-level 3's iterators have `close()` but no
 * `return()`, so every Query, Scan and ListTables left a native iterator open. An open iterator pins the LevelDB
 * version it started on: the table files compaction replaced are never deleted and stay mapped. Measured at 10 pairs/s
 * that was 553 MB per region after 150 s, growing faster and faster, and ~85 MiB/min of memory per engine.
 *
 * Giving the iterators the `return()` dynalite calls (close, then done, as the protocol says) lets each stream close
 * its iterator when it ends or is destroyed. Installed once, on the copy of abstract-level dynalite's LevelDB uses.
 */
import { createRequire } from 'node:module';

interface ClosableIterator {
  close(): Promise<void>;
  return?: () => Promise<IteratorReturnResult<undefined>>;
}

/** The base prototype of abstract-level's iterators, as loaded for dynalite's `level` → `classic-level`. */
export function dynaliteIteratorPrototype(): ClosableIterator {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const fromLevel = createRequire(fromDynalite.resolve('level'));
  const fromClassicLevel = createRequire(fromLevel.resolve('classic-level'));
  const abstractLevel = fromClassicLevel('abstract-level') as { AbstractValueIterator: { prototype: object } };
  return Object.getPrototypeOf(abstractLevel.AbstractValueIterator.prototype) as ClosableIterator;
}

let installed = false;

/** Makes dynalite's LevelDB iterators closable the way dynalite closes them (idempotent). */
export function closeLevelIteratorsOnReturn(): void {
  if (installed) return;
  installed = true;
  const prototype = dynaliteIteratorPrototype();
  if (typeof prototype.return === 'function') return; // a later abstract-level may have it: keep theirs
  Object.defineProperty(prototype, 'return', {
    configurable: true,
    writable: true,
    value: async function (this: ClosableIterator): Promise<IteratorReturnResult<undefined>> {
      await this.close();
      return { done: true, value: undefined };
    },
  });
}
