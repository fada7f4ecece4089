/** The generator's ledger files: sealed in segments as they grow, compressed, and read back whole and in order. */
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { compressLedgerSegment, ledgerRuns, runLedgerLines } from '../../src/clients/ledger-files.js';
import { fileLedger } from '../../src/platform/ledger-source.js';
import { fileLedgerSink } from '../../src/services/generator/ledger-sink.js';
import { tempDir } from '../helpers/runbook-fakes.js';

/** A ledger line of about the generator's size (~1.3 KB), most of it repeated across pairs as theirs is. */
const line = (seq: number) =>
  JSON.stringify({
    seq,
    scenario: 'matched',
    sides: [{ tradeId: `run-${seq}`, pad: 'IM-ALPHA|BRK-WEST|'.repeat(60) }],
  });

async function readAll(workspace: string, run: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const text of fileLedger(workspace).pairLines(run)) lines.push(text);
  return lines;
}

function failOnError(error: Error): never {
  throw error;
}

describe('the generator ledger in compressed segments', () => {
  it('seals the live file past its size, compresses each segment, and reads every line back in order', async () => {
    const workspace = tempDir();
    const dir = path.join(workspace, 'generator');
    const sink = fileLedgerSink(dir, 'r1', failOnError, 16_000);
    const written: string[] = [];
    for (let batch = 0; batch < 41; batch++) {
      const lines = [1, 2, 3].map((k) => ({ seq: batch * 3 + k, line: line(batch * 3 + k) }));
      sink.pairs(lines);
      written.push(...lines.map((l) => l.line));
    }
    await sink.flush();

    const files = readdirSync(dir)
      .filter((f) => f.startsWith('ledger-'))
      .sort();
    const segments = files.filter((f) => f.endsWith('.jsonl.gz'));
    expect(segments.length).toBeGreaterThanOrEqual(6); // ~160 KB written, sealed every 16 KB
    // Nothing but compressed segments and the live file: no sealed text, no unfinished compression.
    expect(files.filter((f) => !f.endsWith('.jsonl.gz'))).toEqual(['ledger-r1.jsonl']);
    // Each segment is a plain gzip file (zcat reads it), a small part of its text.
    const first = readFileSync(path.join(dir, 'ledger-r1.1.jsonl.gz'));
    const text = gunzipSync(first).toString();
    expect(text.split('\n').filter(Boolean)[0]).toBe(written[0]);
    expect(first.length).toBeLessThan(Buffer.byteLength(text) / 5);

    expect(ledgerRuns(dir)).toEqual(['r1']);
    expect(await readAll(workspace, 'r1')).toEqual(written);
  });

  it('compresses what a generator stopped mid-compression left, and removes its unfinished .gz', async () => {
    const workspace = tempDir();
    const dir = path.join(workspace, 'generator');
    const early = [line(1), line(2)];
    fileLedgerSink(dir, 'r0', failOnError); // makes the directory
    writeFileSync(path.join(dir, 'ledger-r0.1.jsonl'), `${early.join('\n')}\n`);
    writeFileSync(path.join(dir, 'ledger-r0.1.jsonl.gz.partial'), 'cut short');
    writeFileSync(path.join(dir, 'ledger-r0.jsonl'), `${line(3)}\n`);

    const next = fileLedgerSink(dir, 'r1', failOnError);
    await next.flush();
    expect(
      readdirSync(dir)
        .filter((f) => f.startsWith('ledger-r0'))
        .sort(),
    ).toEqual(['ledger-r0.1.jsonl.gz', 'ledger-r0.jsonl']);
    expect(await readAll(workspace, 'r0')).toEqual([...early, line(3)]);
    // A run whose live file is gone (it stopped right after sealing) is still listed, from its segments.
    writeFileSync(path.join(dir, 'ledger-r2.1.jsonl'), `${line(9)}\n`);
    expect(ledgerRuns(dir)).toEqual(['r0', 'r2']);
  });

  it('reads every line once while the generator seals and compresses under the reader', async () => {
    const dir = tempDir();
    const write = (file: string, seqs: number[]) =>
      writeFileSync(path.join(dir, file), seqs.map((n) => `${line(n)}\n`).join(''));
    write('ledger-r1.1.jsonl', [1, 2]);
    write('ledger-r1.jsonl', [3, 4]);
    const reader = runLedgerLines(dir, 'r1');
    const read = [(await reader.next()).value as string];
    // Under the reader: segment 1 compressed, the live file sealed as segment 2, a new live file begun.
    await compressLedgerSegment(path.join(dir, 'ledger-r1.1.jsonl'));
    renameSync(path.join(dir, 'ledger-r1.jsonl'), path.join(dir, 'ledger-r1.2.jsonl'));
    write('ledger-r1.jsonl', [5]);
    for (let next = await reader.next(); !next.done; next = await reader.next()) read.push(next.value);
    expect(read).toEqual([1, 2, 3, 4, 5].map(line));
  });
});
