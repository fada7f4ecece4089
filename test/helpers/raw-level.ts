import { createRequire } from 'node:module';

/** A LevelDB opened directly (its engine closed): keys as text, values as the bytes stored. */
export interface RawLevel {
  open(): Promise<void>;
  close(): Promise<void>;
  put(key: string, value: Buffer): Promise<void>;
  iterator(): AsyncIterable<[string, Buffer]>;
}

/** Opens the LevelDB at `location` with the `level` the local DynamoDB uses (it reads kinesalite's files too). */
export function openRawLevel(location: string): RawLevel {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { Level } = fromDynalite('level') as {
    Level: new (location: string, options: Record<string, unknown>) => RawLevel;
  };
  return new Level(location, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
}
