import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { contradictory, inLossWindow, judgePair, progress } from '../../src/verdict/classify.js';
import type { LedgerPair, PairEvidence } from '../../src/verdict/model.js';
import { compareKeys, groupByKey, keyOfTradeId, MergeCursor, type PairKey } from '../../src/verdict/streams.js';
import { ConfirmationLog } from '../../src/services/generator/confirmation-log.js';
import { findContradictionsInFiles } from '../../src/verdict/contradictions.js';
import { compareSorted } from '../../src/verdict/divergence.js';

const IM = 'IM-A-IM-A-BRK-N-g1-7';
const BR = 'BRK-N-IM-A-BRK-N-g1-7';

/** A matched pair with one allocation per side: both sides SETTLED, both instructions SETTLED. */
const matched: LedgerPair = {
  seq: 7,
  scenario: 'matched',
  tradeId: 'g1-7',
  submittedAt: 1_000,
  region: 'us-east-1',
  expected: {
    tradeStatus: { [IM]: 'SETTLED', [BR]: 'SETTLED' },
    settlementStatus: { [`${IM}-1`]: 'SETTLED', [`${BR}-1`]: 'SETTLED' },
  },
};

/** What the platform holds when everything went right, at time `at`. */
function settled(at = 2_000): PairEvidence {
  const side = (id: string, other: string) => ({
    id,
    status: 'SETTLED',
    counterpartId: other,
    updatedAt: at,
    allocations: [{ settlementId: `${id}-1`, status: 'SETTLED', updatedAt: at }],
  });
  return {
    sides: [side(IM, BR), side(BR, IM)],
    settlements: [
      { id: `${IM}-1`, status: 'SETTLED', updatedAt: at },
      { id: `${BR}-1`, status: 'SETTLED', updatedAt: at },
    ],
    confirmations: [
      { id: IM, statuses: ['MATCHED', 'SETTLED'] },
      { id: BR, statuses: ['SETTLED'] },
    ],
  };
}

describe('verdict: judging one pair', () => {
  it('ok when every record is in its predicted state once', () => {
    expect(judgePair(matched, settled())).toEqual({ outcome: 'ok', detail: '', finalAt: 2_000 });
  });

  it('lost when a side is missing or never became final', () => {
    const missing = { ...settled(), sides: settled().sides.slice(0, 1) };
    expect(judgePair(matched, missing)).toMatchObject({ outcome: 'lost', detail: expect.stringContaining(BR) });
    const stuck = settled();
    const pending = {
      ...stuck,
      settlements: [stuck.settlements[0], { ...stuck.settlements[1], status: 'UNMATCHED' }],
    };
    expect(judgePair(matched, pending).outcome).toBe('lost');
    expect(judgePair(matched, { sides: [], settlements: [], confirmations: [] }).outcome).toBe('lost');
  });

  it('wrong when a final state differs from the prediction, or a side paired with another trade', () => {
    const evidence = settled();
    const mismatched = { ...evidence, sides: [{ ...evidence.sides[0], status: 'MISMATCHED' }, evidence.sides[1]] };
    expect(judgePair(matched, mismatched)).toMatchObject({
      outcome: 'wrong',
      detail: expect.stringContaining('is MISMATCHED, expected SETTLED'),
    });
    const paired = { ...evidence, sides: [{ ...evidence.sides[0], counterpartId: 'X-g1-8' }, evidence.sides[1]] };
    expect(judgePair(matched, paired).outcome).toBe('wrong');
  });

  it('duplicated on a second core row for the trade, or contradictory confirmations', () => {
    const evidence = settled();
    const extraRow = { ...evidence, sides: [...evidence.sides, { ...evidence.sides[0], id: `X-${IM}` }] };
    expect(judgePair(matched, extraRow)).toMatchObject({
      outcome: 'duplicated',
      detail: expect.stringContaining(`X-${IM}`),
    });
    const twice = { ...evidence, confirmations: [{ id: IM, statuses: ['MATCHED', 'MISMATCHED'] }] };
    expect(judgePair(matched, twice).outcome).toBe('duplicated');
    // The same confirmation heard again (at-least-once delivery) is not a duplicate.
    const again = { ...evidence, confirmations: [{ id: IM, statuses: ['SETTLED'] }] };
    expect(judgePair(matched, again).outcome).toBe('ok');
  });

  it('late only with a deadline the pair finished after', () => {
    expect(judgePair(matched, settled(5_000), { deadlineMs: 4_000 }).outcome).toBe('late');
    expect(judgePair(matched, settled(3_000), { deadlineMs: 4_000 }).outcome).toBe('ok');
  });

  it('at risk instead of lost or wrong inside a loss window, but never instead of duplicated', () => {
    const windows = [{ region: 'us-east-1', from: new Date(500), to: new Date(1_500) }];
    expect(inLossWindow(matched, windows)).toBe(true);
    expect(inLossWindow({ ...matched, region: 'us-west-2' }, windows)).toBe(false);
    expect(inLossWindow({ ...matched, submittedAt: 1_501 }, windows)).toBe(false);
    const empty = { sides: [], settlements: [], confirmations: [] };
    expect(judgePair(matched, empty, { atRisk: true }).outcome).toBe('atRisk');
    expect(judgePair(matched, settled(), { atRisk: true }).outcome).toBe('ok');
    const twice = { ...settled(), confirmations: [{ id: IM, statuses: ['SETTLED', 'REJECTED'] }] };
    expect(judgePair(matched, twice, { atRisk: true }).outcome).toBe('duplicated');
  });

  it('an unmatched single side is ok UNMATCHED, wrong once matched; its allocations never settle', () => {
    const single: LedgerPair = {
      ...matched,
      scenario: 'unmatched',
      expected: { tradeStatus: { [IM]: 'UNMATCHED' }, settlementStatus: {} },
    };
    const side = {
      id: IM,
      status: 'UNMATCHED',
      updatedAt: 1,
      allocations: [{ settlementId: `${IM}-1`, status: 'UNMATCHED', updatedAt: 1 }],
    };
    expect(judgePair(single, { sides: [side], settlements: [], confirmations: [] }).outcome).toBe('ok');
    expect(
      judgePair(single, { sides: [{ ...side, status: 'MATCHED' }], settlements: [], confirmations: [] }).outcome,
    ).toBe('wrong');
    const instructed = {
      sides: [side],
      settlements: [{ id: `${IM}-1`, status: 'UNMATCHED', updatedAt: 1 }],
      confirmations: [],
    };
    expect(judgePair(single, instructed).outcome).toBe('duplicated');
  });

  it('statuses move forward only; contradictions are what no life cycle produces', () => {
    expect(progress('SETTLED', 'MATCHED')).toBe('not final');
    expect(progress('MATCHED', 'SETTLED')).toBe('wrong');
    expect(progress('MISMATCHED', 'UNMATCHED')).toBe('not final');
    expect(contradictory(['UNMATCHED', 'MATCHED', 'SETTLED'])).toBe(false);
    expect(contradictory(['MISMATCHED', 'UNMATCHED'])).toBe(false);
    expect(contradictory(['SETTLED', 'MISMATCHED'])).toBe(true);
    expect(contradictory(['REJECTED', 'MATCHED'])).toBe(true);
  });
});

describe('verdict: ordered streams', () => {
  async function* from<T>(items: T[]) {
    yield* items;
  }

  it('keys come from deal references and trade record ids alike; runs in code-unit order, then seq numerically', () => {
    expect(keyOfTradeId('g1-7')).toEqual({ run: 'g1', seq: 7 });
    expect(keyOfTradeId(IM)).toEqual({ run: 'g1', seq: 7 });
    expect(keyOfTradeId('canary')).toBeUndefined();
    expect(compareKeys({ run: 'g1', seq: 10 }, { run: 'g1', seq: 9 })).toBeGreaterThan(0);
    expect(compareKeys({ run: 'gA', seq: 1 }, { run: 'ga', seq: 1 })).toBeLessThan(0);
  });

  it('a merge cursor hands each key its group and skips the groups nobody asks for', async () => {
    const rows: { key: PairKey; v: string }[] = [
      { key: { run: 'g1', seq: 1 }, v: 'a' },
      { key: { run: 'g1', seq: 2 }, v: 'b' },
      { key: { run: 'g1', seq: 2 }, v: 'c' },
      { key: { run: 'g1', seq: 5 }, v: 'd' },
      { key: { run: 'g2', seq: 1 }, v: 'e' },
    ];
    const cursor = MergeCursor.of(groupByKey(from(rows), (r) => r.key));
    expect((await cursor.take({ run: 'g1', seq: 2 })).map((r) => r.v)).toEqual(['b', 'c']);
    expect(await cursor.take({ run: 'g1', seq: 3 })).toEqual([]);
    expect((await cursor.take({ run: 'g2', seq: 1 })).map((r) => r.v)).toEqual(['e']);
    expect(await cursor.take({ run: 'g3', seq: 1 })).toEqual([]);
    expect(cursor.skipped).toBe(2);
  });

  it('a stream out of order is an error, not a silent mis-join', async () => {
    const rows = [
      { run: 'g1', seq: 2 },
      { run: 'g1', seq: 1 },
    ];
    const groups = groupByKey(from(rows), (r) => r);
    await expect(
      (async () => {
        for await (const _ of groups) void _;
      })(),
    ).rejects.toThrow(/out of order/);
  });
});

describe('generator: the confirmation log', () => {
  it('writes every confirmation, batched, and flushes a full buffer at once', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-confirmations-'));
    try {
      const file = path.join(dir, 'confirmations-g1.jsonl');
      const log = new ConfirmationLog(file, { flushMs: 60_000, maxBuffered: 3 });
      for (let i = 0; i < 4; i++) log.record({ id: `s-g1-${i}`, status: 'MATCHED', at: i, region: 'r' });
      // Three lines reached the file without waiting for the timer: the buffer never holds more than three.
      expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3);
      await log.flush();
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.id)).toEqual(['s-g1-0', 's-g1-1', 's-g1-2', 's-g1-3']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('verdict: contradictions and divergence in bounded memory', () => {
  it('finds the contradicted sides whether the log fits one bucket or is split over many on disk', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tsr-contradictions-'));
    try {
      const file = path.join(dir, 'confirmations-g1.jsonl');
      const lines: string[] = [];
      for (let seq = 1; seq <= 500; seq++) {
        const id = `IM-X-IM-X-BRK-Y-g1-${seq}`;
        lines.push(
          JSON.stringify({ id, status: 'MATCHED', at: seq }),
          JSON.stringify({ id, status: 'SETTLED', at: seq }),
        );
      }
      lines.push(JSON.stringify({ id: 'IM-X-IM-X-BRK-Y-g1-7', status: 'MISMATCHED', at: 1 }));
      lines.push(JSON.stringify({ id: 'IM-X-IM-X-BRK-Y-g9-7', status: 'MISMATCHED', at: 1 })); // another run
      lines.push('{"id": "cut short');
      writeFileSync(file, lines.join('\n') + '\n');
      for (const bucketBytes of [10 * 2 ** 20, 4_096]) {
        const found = await findContradictionsInFiles([file], new Set(['g1']), bucketBytes);
        expect([...found.sides]).toEqual([['IM-X-IM-X-BRK-Y-g1-7', ['MATCHED', 'MISMATCHED', 'SETTLED']]]);
        expect(found.read).toBe(1_001);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compares two key-ordered streams: only in one, only in the other, different content', async () => {
    async function* rows(list: [string, string][]) {
      for (const [k, h] of list) yield { k, h };
    }
    const tally = await compareSorted(
      rows([
        ['a', '1'],
        ['b', '2'],
        ['d', '4'],
      ])[Symbol.asyncIterator](),
      rows([
        ['b', '2'],
        ['c', '3'],
        ['d', 'X'],
      ])[Symbol.asyncIterator](),
    );
    expect(tally).toMatchObject({ referenceRows: 3, rows: 3, onlyInReference: 1, onlyInRegion: 1, differing: 1 });
    expect(tally.sample).toEqual(['a', 'c', 'd']);
  });
});
