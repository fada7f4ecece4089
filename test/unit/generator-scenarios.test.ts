import { compareDecimals } from '../../src/domain/decimal.js';
import { matchKey, settlementId, tradeRecordId } from '../../src/domain/ids.js';
import type { Trade } from '../../src/domain/records.js';
import { parseTrade } from '../../src/domain/validation.js';
import {
  createScenarioGenerator,
  type GeneratedPair,
  nextBusinessDay,
  type Scenario,
  type ScenarioOptions,
} from '../../src/services/generator/scenarios.js';

const BASE: ScenarioOptions = { seed: 42, runId: 'run1', tradeDate: '2024-03-14' };

function generate(count: number, options: Partial<ScenarioOptions> = {}): GeneratedPair[] {
  const generator = createScenarioGenerator({ ...BASE, ...options });
  return Array.from({ length: count }, () => generator.next());
}

const sum = (trade: Trade) => trade.allocations.reduce((total, a) => total + a.quantity, 0);

describe('scenario generator', () => {
  it('is deterministic by seed and differs across seeds', () => {
    expect(generate(200)).toEqual(generate(200));
    expect(generate(50, { seed: 'other' })).not.toEqual(generate(50));
  });

  it('numbers pairs and makes every id unique per run', () => {
    const pairs = generate(500);
    expect(pairs.map((p) => p.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    const ids = pairs.flatMap((p) => p.sides.map(tradeRecordId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(pairs.every((p) => p.sides.every((s) => s.tradeId.startsWith('run1-')))).toBe(true);
    const other = generate(500, { runId: 'run2' }).flatMap((p) => p.sides.map(tradeRecordId));
    expect(other.some((id) => ids.includes(id))).toBe(false);
  });

  it('follows the default mix (1/3 each, 10% of matched with a settlement difference) over many pairs', () => {
    const generator = createScenarioGenerator(BASE);
    const n = 6000;
    const seen: Record<Scenario, number> = { matched: 0, mismatched: 0, unmatched: 0, 'settlement-difference': 0 };
    for (let i = 0; i < n; i++) seen[generator.next().scenario]++;
    expect(generator.counts()).toEqual(seen);
    const share = (s: Scenario) => seen[s] / n;
    expect(share('matched') + share('settlement-difference')).toBeCloseTo(1 / 3, 1);
    expect(Math.abs(share('mismatched') - 1 / 3)).toBeLessThan(0.03);
    expect(Math.abs(share('unmatched') - 1 / 3)).toBeLessThan(0.03);
    expect(Math.abs(seen['settlement-difference'] / (seen.matched + seen['settlement-difference']) - 0.1)).toBeLessThan(
      0.025,
    );
  });

  it('honours configured weights, including zero', () => {
    const pairs = generate(3000, {
      weights: { matched: 3, mismatched: 1, unmatched: 0 },
      settlementDifferenceShare: 0,
    });
    const count = (s: Scenario) => pairs.filter((p) => p.scenario === s).length;
    expect(count('unmatched')).toBe(0);
    expect(count('settlement-difference')).toBe(0);
    expect(Math.abs(count('matched') / 3000 - 0.75)).toBeLessThan(0.03);
    expect(
      generate(200, { settlementDifferenceShare: 1, weights: { mismatched: 0, unmatched: 0 } }).every(
        (p) => p.scenario === 'settlement-difference',
      ),
    ).toBe(true);
  });

  it('produces sides that pass validation, with allocations summing to their quantity', () => {
    for (const pair of generate(1500, { allocations: { min: 2, max: 7 } })) {
      for (const side of pair.sides) {
        const parsed = parseTrade(JSON.stringify(side), 'test');
        if (!parsed.ok) throw new Error(`seq ${pair.seq}: ${parsed.rejection.reason}`);
        expect(parsed.id).toBe(tradeRecordId(side));
        expect(sum(side)).toBe(side.quantity);
        expect(side.allocations.length).toBeGreaterThanOrEqual(2);
        expect(side.allocations.length).toBeLessThanOrEqual(7);
        expect(side.price).toMatch(/^\d+\.\d{2}$/);
      }
    }
  });

  it('draws the allocation count uniformly in the range', () => {
    const counts = new Map<number, number>();
    for (const pair of generate(5000))
      counts.set(pair.sides[0].allocations.length, (counts.get(pair.sides[0].allocations.length) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    for (const n of counts.values()) expect(Math.abs(n / 5000 - 0.2)).toBeLessThan(0.03);
  });

  it('gives the two sides of a pair the same deal: IM side (sender = imId) first, broker side second', () => {
    for (const pair of generate(600).filter((p) => p.sides.length === 2)) {
      const [im, broker] = pair.sides;
      expect(im.senderId).toBe(im.imId);
      expect(broker.senderId).toBe(broker.brokerId);
      expect(matchKey(im)).toBe(matchKey(broker));
      expect(im.settlementDate).toBe('2024-03-15');
    }
  });

  it('makes exactly one of security, quantity or price differ in mismatched pairs, each field used', () => {
    const fields = new Set<string>();
    for (const pair of generate(1500).filter((p) => p.scenario === 'mismatched')) {
      const [a, b] = pair.sides;
      const differs = {
        security: a.security !== b.security,
        quantity: a.quantity !== b.quantity,
        price: compareDecimals(a.price, b.price) !== 0,
      };
      const differing = Object.entries(differs)
        .filter(([, d]) => d)
        .map(([f]) => f);
      expect(differing).toHaveLength(1);
      expect(pair.difference).toEqual({ field: differing[0] });
      fields.add(differing[0]);
      expect(sum(b)).toBe(b.quantity);
      expect(Object.values(pair.expected.tradeStatus)).toEqual(['MISMATCHED', 'MISMATCHED']);
      expect(pair.expected.settlementStatus).toEqual({});
    }
    expect([...fields].sort()).toEqual(['price', 'quantity', 'security']);
  });

  it('states the expected final statuses of every scenario consistently', () => {
    for (const pair of generate(2000, { settlementDifferenceShare: 0.3 })) {
      const ids = pair.sides.map(tradeRecordId);
      expect(Object.keys(pair.expected.tradeStatus).sort()).toEqual([...ids].sort());
      const settlementIds = pair.sides.flatMap((s) =>
        s.allocations.map((a) => settlementId(tradeRecordId(s), a.allocationId)),
      );
      const statuses = Object.values(pair.expected.tradeStatus);
      switch (pair.scenario) {
        case 'unmatched':
          expect(pair.sides).toHaveLength(1);
          expect(statuses).toEqual(['UNMATCHED']);
          expect(pair.expected.settlementStatus).toEqual({});
          break;
        case 'matched':
          expect(pair.sides[0]).toEqual({ ...pair.sides[1], senderId: pair.sides[0].senderId });
          expect(statuses).toEqual(['SETTLED', 'SETTLED']);
          expect(Object.keys(pair.expected.settlementStatus).sort()).toEqual(settlementIds.sort());
          expect(new Set(Object.values(pair.expected.settlementStatus))).toEqual(new Set(['SETTLED']));
          break;
        case 'settlement-difference': {
          const [im, broker] = pair.sides;
          expect(statuses).toEqual(['MATCHED', 'MATCHED']);
          // The trade fields agree; exactly one allocation's account differs.
          expect({ ...broker, senderId: im.senderId, allocations: [] }).toEqual({ ...im, allocations: [] });
          const differing = im.allocations.filter((a, i) => a.account !== broker.allocations[i].account);
          expect(differing).toHaveLength(1);
          expect(pair.difference).toEqual({ allocationId: differing[0].allocationId });
          for (const id of settlementIds) {
            const allocationId = Number(id.slice(id.lastIndexOf('-') + 1));
            expect(pair.expected.settlementStatus[id]).toBe(
              allocationId === differing[0].allocationId ? 'MISMATCHED' : 'SETTLED',
            );
          }
          break;
        }
        case 'mismatched':
          expect(statuses).toEqual(['MISMATCHED', 'MISMATCHED']);
          break;
      }
    }
  });

  it('defaults the trade date to today and settles on the next business day', () => {
    const [pair] = generate(1, { tradeDate: undefined });
    expect(pair.sides[0].tradeDate).toBe(new Date().toISOString().slice(0, 10));
    expect(nextBusinessDay('2024-03-15')).toBe('2024-03-18'); // Friday → Monday
    expect(nextBusinessDay('2024-03-18')).toBe('2024-03-19');
  });

  it('refuses bad options', () => {
    expect(() => createScenarioGenerator({ ...BASE, runId: 'a|b' })).toThrow(/runId/);
    expect(() => createScenarioGenerator({ ...BASE, allocations: { min: 0, max: 3 } })).toThrow(/allocations/);
    expect(() => createScenarioGenerator({ ...BASE, weights: { matched: 0, mismatched: 0, unmatched: 0 } })).toThrow(
      /weights/,
    );
    expect(() => createScenarioGenerator({ ...BASE, settlementDifferenceShare: 2 })).toThrow(
      /settlementDifferenceShare/,
    );
  });
});
