import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { countLoss, ledgerFiles, sentToRegion } from '../../src/reconcile/ledger-loss.js';
import { tempDir } from '../helpers/runbook-fakes.js';

const T0 = Date.parse('2026-12-06T12:00:00Z');

/** Writes a ledger file of (region, seconds after T0, ids) lines, as the generator does. */
function ledger(workspace: string, name: string, lines: [string, number, string[]][], tail = ''): void {
  const dir = path.join(workspace, 'generator');
  mkdirSync(dir, { recursive: true });
  const text = lines.map(([region, s, ids]) => JSON.stringify({ region, submittedAt: T0 + s * 1000, ids })).join('\n');
  writeFileSync(path.join(dir, `ledger-${name}.jsonl`), `${text}\n${tail}`);
}

describe('loss with a region, from the generator ledger', () => {
  it('keeps only the pairs sent to the region within the window before its last one, across files', async () => {
    const workspace = tempDir();
    ledger(workspace, 'a', [
      ['us-east-1', 0, ['old-1', 'old-2']],
      ['us-west-2', 500, ['west-1']],
      ['us-east-1', 550, ['a-1', 'a-2']],
    ]);
    // A second run of the generator, and a line cut short by a crash: skipped, not fatal.
    ledger(workspace, 'b', [['us-east-1', 600, ['b-1']]], '{"region":"us-east-1","submitt');
    expect(ledgerFiles(workspace)).toHaveLength(2);
    const sent = await sentToRegion(ledgerFiles(workspace), 'us-east-1', 120_000);
    expect(sent.flatMap((p) => p.ids).sort()).toEqual(['a-1', 'a-2', 'b-1']);
    expect(ledgerFiles(tempDir())).toEqual([]);
  });

  it('counts the sides the surviving store lacks, and the pairs they belong to', async () => {
    const sent = [
      { submittedAt: T0, ids: ['p1-a', 'p1-b'] },
      { submittedAt: T0 + 1_000, ids: ['p2-a', 'p2-b'] },
      { submittedAt: T0 + 2_000, ids: ['p3-a'] },
    ];
    const present = new Set(['p1-a', 'p1-b', 'p2-a']);
    const asked: number[] = [];
    const loss = await countLoss(sent, async (ids) => {
      asked.push(ids.length);
      return new Set(ids.filter((id) => present.has(id)));
    });
    expect(loss).toMatchObject({
      lostSides: 2,
      lostPairs: 2,
      checkedSides: 5,
      oldest: new Date(T0 + 1_000).toISOString(),
      newest: new Date(T0 + 2_000).toISOString(),
      sample: ['p2-b', 'p3-a'],
    });
    expect(asked).toEqual([5]);
  });
});
