/**
 * Values the local engines keep in LevelDB, deflated against a preset dictionary of what they typically hold. The
 * platform's records are small JSON documents that repeat each other's field names and ids; LevelDB's own block
 * compression (snappy) takes them only to ~40–50%, deflate primed with a few typical ones to ~12%.
 *
 * Stored form: a version byte naming the layout and dictionary, then the raw deflate stream. Values written before
 * an engine deflated are plain JSON text, and read as they are.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';

export interface DeflatedLayout {
  /** First byte of what is stored; below 0x20 and not JSON whitespace, so it never starts plain JSON. */
  readonly version: number;
  /** Never changed once values were written with it: a new dictionary is a new layout. */
  readonly dictionary: Buffer;
}

export function deflateValue(layout: DeflatedLayout, bytes: Buffer): Buffer {
  const deflated = deflateRawSync(bytes, { dictionary: layout.dictionary });
  const stored = Buffer.allocUnsafe(deflated.length + 1);
  stored[0] = layout.version;
  deflated.copy(stored, 1);
  return stored;
}

export type StoredValue =
  | { readonly layout: DeflatedLayout; readonly bytes: Buffer }
  /** Written before the engine deflated its values. */
  | { readonly layout: undefined; readonly bytes: Buffer };

/** The bytes a stored value holds, with the layout that deflated them (or none for plain JSON). */
export function inflateValue(layouts: readonly DeflatedLayout[], stored: Uint8Array): StoredValue {
  const bytes = Buffer.isBuffer(stored) ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const first = bytes[0];
  const layout = layouts.find((candidate) => candidate.version === first);
  if (layout) return { layout, bytes: inflateRawSync(bytes.subarray(1), { dictionary: layout.dictionary }) };
  if (first !== undefined && first < 0x20 && first !== 0x09 && first !== 0x0a && first !== 0x0d) {
    throw new Error(`stored value has unknown encoding version ${first} (written by a newer tsr?)`);
  }
  return { layout: undefined, bytes };
}
