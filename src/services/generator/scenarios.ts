/**
 * The counterparty simulator's scenarios (docs/domain.md#the-generator): a seeded, deterministic stream of trade pairs, each with
 * the final state it must reach, so a test can predict the end state of the whole platform exactly.
 *
 * - matched: both sides agree → both SETTLED, every settlement SETTLED;
 * - settlement-difference: a matched pair whose broker or IM side books one allocation to another account → both
 *   sides MATCHED (never SETTLED), that allocation's two settlements MISMATCHED, the others SETTLED;
 * - mismatched: exactly one of security, quantity or price differs (guaranteed) → both MISMATCHED, no settlements;
 * - unmatched: only one side is ever sent → UNMATCHED.
 */
import { settlementId, tradeRecordId } from '../../domain/ids.js';
import type { Allocation, Side, Trade, TradeStatus } from '../../domain/records.js';

export type Scenario = 'matched' | 'mismatched' | 'unmatched' | 'settlement-difference';
export const SCENARIOS: readonly Scenario[] = ['matched', 'mismatched', 'unmatched', 'settlement-difference'];

export interface ScenarioWeights {
  readonly matched: number;
  readonly mismatched: number;
  readonly unmatched: number;
}

export interface ScenarioOptions {
  /** Same seed and options → the same pairs, in the same order. */
  readonly seed: number | string;
  /** Relative weights (need not sum to 1). Default 1/3 each. */
  readonly weights?: Partial<ScenarioWeights>;
  /** Allocation count per trade, uniform in [min, max]. Default 1..5. */
  readonly allocations?: { readonly min: number; readonly max: number };
  /** Share of matched pairs given a settlement-instruction difference. Default 0.1. */
  readonly settlementDifferenceShare?: number;
  /** Prefix of every tradeId, making ids unique per run. */
  readonly runId: string;
  /** Trade date (YYYY-MM-DD). Default today (UTC); settlement date is the next business day. */
  readonly tradeDate?: string;
}

export interface GeneratedPair {
  /** 1, 2, 3, … in generation order. */
  readonly seq: number;
  readonly scenario: Scenario;
  /** The IM side first, then the broker side; one side only for unmatched. */
  readonly sides: Trade[];
  readonly expected: {
    /** Final status of each trade side, by trade id. */
    readonly tradeStatus: Record<string, TradeStatus>;
    /** Final status of each settlement instruction, by settlement id (matched and settlement-difference only). */
    readonly settlementStatus: Record<string, 'SETTLED' | 'MISMATCHED'>;
  };
  /** For mismatched: the field that differs. For settlement-difference: the allocationId whose account differs. */
  readonly difference?: { readonly field: 'security' | 'quantity' | 'price' } | { readonly allocationId: number };
}

export interface ScenarioGenerator {
  next(): GeneratedPair;
  /** Pairs generated so far, per scenario. */
  counts(): Record<Scenario, number>;
}

const SECURITIES = [
  'AAPL',
  'MSFT',
  'IBM',
  'GOOGL',
  'AMZN',
  'US0378331005',
  'US5949181045',
  'GB0002634946',
  'NVDA',
  'JPM',
];
const INVESTMENT_MANAGERS = ['IM-ALPHA', 'IM-BETA', 'IM-GAMMA', 'IM-DELTA'];
const BROKERS = ['BRK-NORTH', 'BRK-SOUTH', 'BRK-EAST', 'BRK-WEST'];
const DELIVERY = ['DTC 0005', 'DTC 0161', 'EUROCLEAR 12345', 'CREST ABC1'];

/** sfc32 seeded through a 32-bit string hash: small, fast, and the same on every platform. */
export function seededRandom(seed: number | string): () => number {
  const text = String(seed);
  let h = 1779033703 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  const hash = () => {
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return (h ^= h >>> 16) >>> 0;
  };
  let a = hash();
  let b = hash();
  let c = hash();
  let d = hash();
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

/** The next business day (Mon–Fri) after `date`: T+1. */
export function nextBusinessDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  do d.setUTCDate(d.getUTCDate() + 1);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6);
  return d.toISOString().slice(0, 10);
}

function formatCents(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

export function createScenarioGenerator(options: ScenarioOptions): ScenarioGenerator {
  const random = seededRandom(options.seed);
  const weights: ScenarioWeights = { matched: 1, mismatched: 1, unmatched: 1, ...options.weights };
  const { min, max } = options.allocations ?? { min: 1, max: 5 };
  const share = options.settlementDifferenceShare ?? 0.1;
  const tradeDate = options.tradeDate ?? todayUtc();
  const settlementDate = nextBusinessDay(tradeDate);
  const totalWeight = weights.matched + weights.mismatched + weights.unmatched;

  if (!options.runId || /[|\s]/.test(options.runId)) throw new Error('runId must be non-empty, without "|" or spaces');
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min) {
    throw new Error(`allocations must be whole numbers with 1 ≤ min ≤ max, got ${min}..${max}`);
  }
  if (Object.values(weights).some((w) => !(w >= 0)) || !(totalWeight > 0)) {
    throw new Error('weights must be non-negative and not all zero');
  }
  if (!(share >= 0 && share <= 1)) throw new Error('settlementDifferenceShare must be between 0 and 1');

  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const counts: Record<Scenario, number> = { matched: 0, mismatched: 0, unmatched: 0, 'settlement-difference': 0 };
  let seq = 0;

  /** `count` positive quantities summing to `total` (total ≥ count): distinct cut points in 1..total-1. */
  function split(total: number, count: number): number[] {
    const cuts = new Set<number>();
    while (cuts.size < count - 1) cuts.add(int(1, total - 1));
    const points = [0, ...[...cuts].sort((a, b) => a - b), total];
    return points.slice(1).map((point, i) => point - points[i]);
  }

  function allocate(quantity: number, count: number, imId: string): Allocation[] {
    return split(quantity, count).map((q, i) => ({
      allocationId: i + 1,
      quantity: q,
      account: `${imId}-ACC-${int(1, 999)}`,
    }));
  }

  function chooseScenario(): Scenario {
    let roll = random() * totalWeight;
    if ((roll -= weights.matched) < 0) return random() < share ? 'settlement-difference' : 'matched';
    if ((roll -= weights.mismatched) < 0) return 'mismatched';
    return weights.unmatched > 0 ? 'unmatched' : weights.mismatched > 0 ? 'mismatched' : 'matched';
  }

  function next(): GeneratedPair {
    seq++;
    const scenario = chooseScenario();
    counts[scenario]++;
    const imId = pick(INVESTMENT_MANAGERS);
    const brokerId = pick(BROKERS);
    const allocationCount = int(min, max);
    // Round lots of 100, at least one share per allocation.
    const quantity = int(1, Math.max(100, allocationCount)) * 100;
    const cents = int(100, 99_999);
    const base: Omit<Trade, 'senderId'> = {
      imId,
      brokerId,
      tradeId: `${options.runId}-${seq}`,
      side: (random() < 0.5 ? 'B' : 'S') as Side,
      security: pick(SECURITIES),
      quantity,
      price: formatCents(cents),
      tradeDate,
      settlementDate,
      deliveryInstructions: pick(DELIVERY),
      allocations: [],
    };
    const allocations = allocate(base.quantity, allocationCount, imId);
    const im: Trade = { ...base, senderId: imId, allocations };
    let broker: Trade = { ...base, senderId: brokerId, allocations };
    let difference: GeneratedPair['difference'];

    if (scenario === 'mismatched') {
      const field = pick(['security', 'quantity', 'price'] as const);
      difference = { field };
      if (field === 'security') {
        broker = { ...broker, security: pick(SECURITIES.filter((s) => s !== base.security)) };
      } else if (field === 'quantity') {
        // Another quantity (≥ the allocation count), with the broker's allocations summing to it.
        const delta = int(1, 50) * (random() < 0.5 && base.quantity - 50 > allocationCount ? -1 : 1);
        const other = base.quantity + delta;
        broker = { ...broker, quantity: other, allocations: allocate(other, allocationCount, imId) };
      } else {
        // Prices are ≥ 1.00, so moving down by at most 0.99 from above 1.00 stays positive.
        const delta = int(1, 99) * (cents > 100 && random() < 0.5 ? -1 : 1);
        broker = { ...broker, price: formatCents(cents + delta) };
      }
    } else if (scenario === 'settlement-difference') {
      const index = int(0, allocationCount - 1);
      difference = { allocationId: allocations[index].allocationId };
      broker = {
        ...broker,
        allocations: allocations.map((a, i) => (i === index ? { ...a, account: `${a.account}-X` } : a)),
      };
    }

    const sides = scenario === 'unmatched' ? [random() < 0.5 ? im : broker] : [im, broker];
    const tradeStatus: Record<string, TradeStatus> = {};
    const settlementStatus: Record<string, 'SETTLED' | 'MISMATCHED'> = {};
    const final: TradeStatus =
      scenario === 'matched'
        ? 'SETTLED'
        : scenario === 'settlement-difference'
          ? 'MATCHED'
          : scenario === 'mismatched'
            ? 'MISMATCHED'
            : 'UNMATCHED';
    for (const side of sides) {
      const id = tradeRecordId(side);
      tradeStatus[id] = final;
      if (scenario !== 'matched' && scenario !== 'settlement-difference') continue;
      for (const allocation of side.allocations) {
        const differs =
          difference !== undefined &&
          'allocationId' in difference &&
          difference.allocationId === allocation.allocationId;
        settlementStatus[settlementId(id, allocation.allocationId)] = differs ? 'MISMATCHED' : 'SETTLED';
      }
    }
    return { seq, scenario, sides, expected: { tradeStatus, settlementStatus }, ...(difference ? { difference } : {}) };
  }

  return { next, counts: () => ({ ...counts }) };
}
