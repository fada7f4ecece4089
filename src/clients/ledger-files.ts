/**
 * The generator's ledger as files in the workspace (the local platform). The generator appends to the live file,
 * `ledger-<run>.jsonl`; once it holds LEDGER_SEGMENT_BYTES it is sealed as `ledger-<run>.<n>.jsonl` (n = 1, 2, …)
 * and compressed beside it to `ledger-<run>.<n>.jsonl.gz` (written as `….gz.partial`, renamed when whole, and only
 * then is the sealed text removed). Why: a pair's line is ~1.3 KB of JSON (0.8 MB a minute at 10 pairs/s, the
 * largest file a long game day writes) and gzip keeps a twelfth of it; `zcat` reads it as before.
 *
 * Readers take a run's segments in order — each one compressed when its `.gz` is whole, else its sealed text — then
 * the live file. Writer: src/services/generator/ledger-sink.ts; reader: src/platform/ledger-source.ts.
 */
import {
  createReadStream,
  createWriteStream,
  existsSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

/** A live ledger file past this size is sealed and compressed (~10 minutes of 10 pairs/s). */
export const LEDGER_SEGMENT_BYTES = 8 * 2 ** 20;

const LIVE = /^ledger-([^.]+)\.jsonl$/;
const SEGMENT = /^ledger-([^.]+)\.(\d+)\.jsonl(\.gz)?$/;
const PARTIAL = /^ledger-[^.]+\.\d+\.jsonl\.gz\.partial$/;

export function liveLedgerFile(dir: string, run: string): string {
  return path.join(dir, `ledger-${run}.jsonl`);
}

function segmentFile(dir: string, run: string, n: number): string {
  return path.join(dir, `ledger-${run}.${n}.jsonl`);
}

function names(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** The runs that have a ledger in `dir`, oldest first (run ids sort by start). */
export function ledgerRuns(dir: string): string[] {
  const runs = new Set<string>();
  for (const name of names(dir)) {
    const run = LIVE.exec(name)?.[1] ?? SEGMENT.exec(name)?.[1];
    if (run) runs.add(run);
  }
  return [...runs].sort();
}

/** The numbers of a run's sealed segments, ascending. */
function segmentNumbers(dir: string, run: string): number[] {
  const numbers = new Set<number>();
  for (const name of names(dir)) {
    const match = SEGMENT.exec(name);
    if (match?.[1] === run) numbers.add(Number(match[2]));
  }
  return [...numbers].sort((a, b) => a - b);
}

/**
 * Every line of a run's ledger in sending order: its segments (each its `.gz` when whole, else its text), then the live
 * file. The generator may seal the live file while this reads: a live file gone when opened is read as the segment it
 * became; one sealed while open is read to its end through the open file, which is then all there was to read.
 */
export async function* runLedgerLines(dir: string, run: string): AsyncGenerator<string> {
  let done = 0;
  for (;;) {
    const next = segmentNumbers(dir, run).find((n) => n > done);
    if (next !== undefined) {
      yield* segmentLines(segmentFile(dir, run, next));
      done = next;
      continue;
    }
    const live = await openIfThere(liveLedgerFile(dir, run));
    if (live) {
      yield* lines(live.createReadStream({ encoding: 'utf8' }));
      return;
    }
    // No live file: the run ended right after sealing, or it was sealed between the listing and the open.
    if (!segmentNumbers(dir, run).some((n) => n > done)) return;
  }
}

async function openIfThere(file: string): Promise<FileHandle | undefined> {
  try {
    return await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function lines(input: NodeJS.ReadableStream): AsyncIterable<string> {
  return createInterface({ input, crlfDelay: Infinity });
}

/** A sealed segment's lines: from its `.gz` when whole (also when the text went between listing and opening). */
async function* segmentLines(sealed: string): AsyncGenerator<string> {
  const text = existsSync(`${sealed}.gz`) ? undefined : await openIfThere(sealed);
  if (text) {
    yield* lines(text.createReadStream({ encoding: 'utf8' }));
    return;
  }
  const compressed = await openIfThere(`${sealed}.gz`);
  if (!compressed) return;
  const raw = compressed.createReadStream();
  const gunzip = raw.pipe(createGunzip());
  raw.on('error', (error) => gunzip.destroy(error));
  yield* lines(gunzip.setEncoding('utf8'));
}

/** Seals the live file as the run's next segment; returns the sealed file (undefined when there was none). */
export function sealLedgerSegment(dir: string, run: string): string | undefined {
  const live = liveLedgerFile(dir, run);
  if (!existsSync(live)) return undefined;
  const next = (segmentNumbers(dir, run).at(-1) ?? 0) + 1;
  const sealed = segmentFile(dir, run, next);
  renameSync(live, sealed);
  return sealed;
}

/** Compresses one sealed segment: `.gz.partial` first, synced, renamed when whole; then the text is removed. */
export async function compressLedgerSegment(sealed: string): Promise<void> {
  const partial = `${sealed}.gz.partial`;
  await pipeline(createReadStream(sealed), createGzip(), createWriteStream(partial));
  const written = await open(partial, 'r+');
  try {
    await written.sync(); // on disk before the text it replaces is removed
  } finally {
    await written.close();
  }
  renameSync(partial, `${sealed}.gz`);
  unlinkSync(sealed);
}

/**
 * What a generator that stopped mid-compression (a crash) left: sealed segments still in text are compressed, and
 * their unfinished `.gz.partial` files (written by tsr, never read) are removed. Returns how many were compressed.
 */
export async function compressLeftoverSegments(dir: string): Promise<number> {
  let compressed = 0;
  for (const name of names(dir)) {
    if (PARTIAL.test(name)) unlinkSync(path.join(dir, name));
  }
  for (const name of names(dir)) {
    const match = SEGMENT.exec(name);
    if (!match || match[3]) continue;
    const sealed = path.join(dir, name);
    if (existsSync(`${sealed}.gz`)) unlinkSync(sealed);
    else {
      await compressLedgerSegment(sealed);
      compressed++;
    }
  }
  return compressed;
}

/** Bytes in a run's live file (the sink counts on from there). */
export function liveLedgerBytes(dir: string, run: string): number {
  const live = liveLedgerFile(dir, run);
  return existsSync(live) ? statSync(live).size : 0;
}
