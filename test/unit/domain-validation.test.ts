import {
  compareDecimals,
  decimalsEqual,
  formatDecimal,
  parseDecimal,
  subtractDecimals,
} from '../../src/domain/decimal.js';
import { matchKey, pairKey, rejectionId, settlementId, tradeRecordId } from '../../src/domain/ids.js';
import type { SettlementInstruction, SettlementResult, Trade } from '../../src/domain/records.js';
import {
  isCalendarDate,
  MAX_MESSAGE_BYTES,
  parseSettlementInstruction,
  parseSettlementResult,
  parseTrade,
} from '../../src/domain/validation.js';

const SOURCE = 'tm/in/trades';

function trade(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    senderId: 'IM1',
    imId: 'IM1',
    brokerId: 'BRK1',
    tradeId: 'T-1',
    side: 'B',
    security: 'AAPL',
    quantity: 1000,
    price: '41.20',
    tradeDate: '2024-03-14',
    settlementDate: '2024-03-15',
    deliveryInstructions: 'DTC 0005',
    allocations: [
      { allocationId: 1, quantity: 600, account: 'ACC-1' },
      { allocationId: 2, quantity: 400, account: 'ACC-2' },
    ],
    ...overrides,
  };
}

function without(field: string): Record<string, unknown> {
  const copy = trade();
  delete copy[field];
  return copy;
}

/** The rejection reason of a trade that must be rejected. */
function rejected(input: unknown): { reason: string; id: string; rawText: string } {
  const raw = typeof input === 'string' ? input : JSON.stringify(input);
  const result = parseTrade(raw, SOURCE);
  if (result.ok) throw new Error(`expected a rejection for ${raw}`);
  expect(result.rejection.status).toBe('REJECTED');
  expect(result.rejection.source).toBe(SOURCE);
  return result.rejection;
}

describe('ids', () => {
  const t = trade() as unknown as Trade;
  it('derives trade, settlement, match and pair keys as docs/domain.md#records says', () => {
    expect(tradeRecordId(t)).toBe('IM1-IM1-BRK1-T-1');
    expect(settlementId(tradeRecordId(t), 2)).toBe('IM1-IM1-BRK1-T-1-2');
    expect(matchKey(t)).toBe('IM1|BRK1|T-1|B|2024-03-14|2024-03-15');
    expect(pairKey({ ...t, allocationId: 2 })).toBe('IM1|BRK1|T-1|2');
  });
  it('gives both sides of a deal the same match key and different trade ids', () => {
    const broker = { ...t, senderId: 'BRK1' };
    expect(matchKey(broker)).toBe(matchKey(t));
    expect(tradeRecordId(broker)).not.toBe(tradeRecordId(t));
  });
  it('names unreadable rejections by the sha256 of the raw bytes', () => {
    expect(rejectionId('not json')).toMatch(/^rejected-[0-9a-f]{16}$/);
    expect(rejectionId('not json')).toBe(rejectionId(Buffer.from('not json')));
    expect(rejectionId('not json')).not.toBe(rejectionId('not json!'));
  });
});

describe('decimal', () => {
  it('compares decimal strings exactly, whatever their scale', () => {
    expect(compareDecimals('41.2', '41.20')).toBe(0);
    expect(compareDecimals('41.2', '41.21')).toBe(-1);
    expect(compareDecimals('100', '99.99999999')).toBe(1);
    expect(decimalsEqual('0.3', '0.30000000')).toBe(true);
    // 0.1 + 0.2 !== 0.3 in floats; here big numbers beyond float precision still differ.
    expect(decimalsEqual('123456789012.00000001', '123456789012.00000002')).toBe(false);
  });
  it('applies a tolerance inclusively', () => {
    expect(decimalsEqual('41.20', '41.25', '0.05')).toBe(true);
    expect(decimalsEqual('41.20', '41.26', '0.05')).toBe(false);
    expect(decimalsEqual('41.26', '41.20', '0.05')).toBe(false);
    expect(decimalsEqual('41.20', '41.2000001', '0.000001')).toBe(true);
    expect(() => decimalsEqual('1', '1', '-0.1')).toThrow(/negative/);
  });
  it('parses, formats and subtracts without floats', () => {
    expect(parseDecimal('-1.50')).toEqual({ units: -150n, scale: 2 });
    expect(formatDecimal({ units: 5n, scale: 3 })).toBe('0.005');
    expect(subtractDecimals('41.25', '41.2')).toBe('0.05');
    expect(subtractDecimals('41.2', '41.25')).toBe('-0.05');
    expect(() => parseDecimal('1e5')).toThrow();
    expect(() => parseDecimal('')).toThrow();
  });
});

describe('parseTrade', () => {
  it('accepts a valid trade and returns its id', () => {
    const result = parseTrade(JSON.stringify(trade()), SOURCE);
    expect(result).toEqual({ ok: true, id: 'IM1-IM1-BRK1-T-1', value: trade() });
  });

  it('accepts a Buffer, the broker as sender, and ignores unknown fields', () => {
    const result = parseTrade(Buffer.from(JSON.stringify(trade({ senderId: 'BRK1', note: 'extra' }))), SOURCE);
    expect(result.ok && result.id).toBe('BRK1-IM1-BRK1-T-1');
    expect(result.ok && 'note' in result.value).toBe(false);
  });

  it('rejects malformed JSON with a readable reason and a hash id', () => {
    const r = rejected('{"senderId": "IM1",');
    expect(r.reason).toMatch(/^not valid JSON/);
    expect(r.id).toBe(rejectionId('{"senderId": "IM1",'));
    expect(r.rawText).toBe('{"senderId": "IM1",');
  });

  it('rejects JSON that is not an object', () => {
    expect(rejected('[1,2]').reason).toMatch(/must be a JSON object, got an array/);
    expect(rejected('null').reason).toMatch(/got null/);
    expect(rejected('"text"').reason).toMatch(/must be a JSON object/);
  });

  it.each([
    'senderId',
    'imId',
    'brokerId',
    'tradeId',
    'side',
    'security',
    'quantity',
    'price',
    'tradeDate',
    'settlementDate',
    'deliveryInstructions',
    'allocations',
  ])('rejects a trade missing %s, naming the field', (field) => {
    expect(rejected(without(field)).reason).toContain(`${field}: missing`);
  });

  it('reads the id when the four id fields are there, even if the rest is wrong', () => {
    expect(rejected(trade({ quantity: -5 })).id).toBe('IM1-IM1-BRK1-T-1');
    expect(rejected(without('tradeId')).id).toMatch(/^rejected-[0-9a-f]{16}$/);
    expect(rejected(trade({ imId: 42 })).id).toMatch(/^rejected-/);
  });

  it.each([
    ['quantity', '1000', 'quantity: must be a number, got "1000"'],
    ['quantity', 1000.5, 'quantity: must be a whole number, got 1000.5'],
    ['quantity', -5, 'quantity: must be greater than 0, got -5'],
    ['quantity', 0, 'quantity: must be greater than 0, got 0'],
    ['quantity', 2 ** 60, 'quantity: must be at most'],
    ['price', 41.2, 'price: must be a decimal string like "41.20", got number 41.2'],
    ['price', '0', 'price: must be greater than 0'],
    ['price', '0.00', 'price: must be greater than 0'],
    ['price', '-41.20', 'price: must be a positive decimal'],
    ['price', '4.1e1', 'price: must be a positive decimal'],
    ['price', '41.123456789', 'price: must be a positive decimal'],
    ['price', '1234567890123', 'price: must be a positive decimal'],
    ['side', 'BUY', 'side: must be "B" or "S", got "BUY"'],
    ['side', 'b', 'side: must be "B" or "S"'],
    ['security', '', 'security: must not be empty'],
    ['security', 7, 'security: must be a string, got number 7'],
    ['tradeId', 'T|1', 'tradeId: must not contain "|"'],
    ['tradeId', 'x'.repeat(65), 'tradeId: must be at most 64 characters'],
    ['imId', 'IM 1', 'imId: must not contain whitespace'],
    ['deliveryInstructions', null, 'deliveryInstructions: must be a string, got null'],
    ['tradeDate', '2024-02-30', 'tradeDate: must be a real date YYYY-MM-DD, got "2024-02-30"'],
    ['tradeDate', '2023-02-29', 'tradeDate: must be a real date'],
    ['tradeDate', '14/03/2024', 'tradeDate: must be a real date'],
    ['tradeDate', '2024-3-14', 'tradeDate: must be a real date'],
    ['settlementDate', '2024-13-01', 'settlementDate: must be a real date'],
    ['allocations', {}, 'allocations: must be an array, got an object'],
    ['allocations', [], 'allocations: must hold at least one allocation'],
  ])('rejects %s = %j', (field, value, reason) => {
    const r = rejected(trade({ [field]: value }));
    expect(r.reason).toContain(reason);
  });

  it('accepts leap days and same-day settlement', () => {
    expect(
      parseTrade(JSON.stringify(trade({ tradeDate: '2024-02-29', settlementDate: '2024-02-29' })), SOURCE).ok,
    ).toBe(true);
    expect(isCalendarDate('2000-02-29')).toBe(true);
    expect(isCalendarDate('1900-02-29')).toBe(false);
  });

  it('rejects a settlement date before the trade date', () => {
    expect(rejected(trade({ settlementDate: '2024-03-13' })).reason).toBe(
      'settlementDate: 2024-03-13 is before tradeDate 2024-03-14',
    );
  });

  it('rejects allocations that do not sum to the quantity', () => {
    const r = rejected(trade({ quantity: 1000, allocations: [{ allocationId: 1, quantity: 900, account: 'A' }] }));
    expect(r.reason).toBe('allocations: quantities sum to 900, trade quantity is 1000');
  });

  it('rejects duplicate allocation ids', () => {
    const allocations = [
      { allocationId: 1, quantity: 500, account: 'A' },
      { allocationId: 1, quantity: 500, account: 'B' },
    ];
    expect(rejected(trade({ allocations })).reason).toBe('allocations: allocationId 1 appears more than once');
  });

  it('rejects bad allocation entries, naming the entry and field', () => {
    const allocations = [
      { allocationId: 0, quantity: 500, account: 'A' },
      { allocationId: 2, quantity: -500, account: '' },
      'x',
    ];
    const reason = rejected(trade({ allocations })).reason;
    expect(reason).toContain('allocations[0].allocationId: must be greater than 0, got 0');
    expect(reason).toContain('allocations[1].quantity: must be greater than 0, got -500');
    expect(reason).toContain('allocations[1].account: must not be empty');
    expect(reason).toContain('allocations[2]: must be an object, got "x"');
    expect(rejected(trade({ allocations: [{ allocationId: 1, quantity: 1000 }] })).reason).toBe(
      'allocations[0].account: missing',
    );
  });

  it('rejects a sender that is neither party', () => {
    expect(rejected(trade({ senderId: 'OTHER' })).reason).toBe(
      'senderId: "OTHER" is neither the imId "IM1" nor the brokerId "BRK1"',
    );
  });

  it('lists every problem of a message at once', () => {
    const reason = rejected(trade({ side: 'X', quantity: -1, price: 3 })).reason;
    expect(reason.split('; ')).toHaveLength(3);
  });

  it('rejects oversized messages without parsing them and keeps at most 64 KiB of raw text', () => {
    const big = JSON.stringify(trade({ deliveryInstructions: 'x'.repeat(MAX_MESSAGE_BYTES) }));
    const r = rejected(big);
    expect(r.reason).toMatch(/larger than the 65536-byte limit/);
    expect(r.id).toBe(rejectionId(big));
    expect(Buffer.byteLength(r.rawText)).toBe(MAX_MESSAGE_BYTES);
    // Not even valid JSON matters above the limit.
    expect(rejected('{'.repeat(MAX_MESSAGE_BYTES + 1)).reason).toMatch(/larger than/);
  });

  it('never throws, whatever the bytes', () => {
    for (const raw of [
      '',
      ' ',
      '\u0000',
      '{"allocations": [null]}',
      '{"quantity": 1e400}',
      Buffer.from([0xff, 0xfe]),
    ]) {
      const result = parseTrade(raw, SOURCE);
      expect(result.ok).toBe(false);
    }
  });
});

describe('parseSettlementInstruction', () => {
  const instruction: SettlementInstruction = {
    id: 'IM1-IM1-BRK1-T-1-2',
    tradeRecordId: 'IM1-IM1-BRK1-T-1',
    senderId: 'IM1',
    imId: 'IM1',
    brokerId: 'BRK1',
    tradeId: 'T-1',
    allocationId: 2,
    security: 'AAPL',
    side: 'B',
    quantity: 400,
    price: '41.20',
    tradeDate: '2024-03-14',
    settlementDate: '2024-03-15',
    account: 'ACC-2',
    status: 'UNMATCHED',
  };
  const parse = (value: unknown) => parseSettlementInstruction(JSON.stringify(value), 'st/in/settlements');

  it('accepts a valid instruction with its id', () => {
    expect(parse(instruction)).toEqual({ ok: true, id: instruction.id, value: instruction });
  });

  it('rejects inconsistent ids, bad fields and a status other than UNMATCHED, keeping the id', () => {
    const bad = parse({ ...instruction, id: 'IM1-IM1-BRK1-T-1-3', quantity: 0, status: 'SETTLED' });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.rejection.id).toBe('IM1-IM1-BRK1-T-1-3');
    expect(bad.rejection.reason).toContain('quantity: must be greater than 0');
    expect(bad.rejection.reason).toContain('status: must be "UNMATCHED", got "SETTLED"');
    expect(bad.rejection.reason).toContain('id: must be "IM1-IM1-BRK1-T-1-2" (tradeRecordId-allocationId)');
    const wrongTrade = parse({ ...instruction, tradeRecordId: 'X-IM1-BRK1-T-1', id: 'X-IM1-BRK1-T-1-2' });
    expect(!wrongTrade.ok && wrongTrade.rejection.reason).toContain('tradeRecordId: must be "IM1-IM1-BRK1-T-1"');
  });

  it('rejects a missing account and malformed JSON', () => {
    const missing = parse({ ...instruction, account: undefined });
    expect(!missing.ok && missing.rejection.reason).toBe('account: missing');
    const broken = parseSettlementInstruction('{', 'st/in/settlements');
    expect(!broken.ok && broken.rejection.id).toMatch(/^rejected-/);
  });
});

describe('parseSettlementResult', () => {
  const result: SettlementResult = {
    settlementId: 'IM1-IM1-BRK1-T-1-2',
    tradeRecordId: 'IM1-IM1-BRK1-T-1',
    allocationId: 2,
    status: 'SETTLED',
    counterpartId: 'BRK1-IM1-BRK1-T-1-2',
  };
  const parse = (value: unknown) => parseSettlementResult(JSON.stringify(value), 'tm/in/settlements');

  it('accepts SETTLED and MISMATCHED results, optional fields absent or null', () => {
    expect(parse(result)).toEqual({ ok: true, id: result.settlementId, value: result });
    const mismatched = parse({ ...result, status: 'MISMATCHED', reason: 'account differs', counterpartId: null });
    expect(mismatched.ok && mismatched.value).toEqual({
      settlementId: result.settlementId,
      tradeRecordId: result.tradeRecordId,
      allocationId: 2,
      status: 'MISMATCHED',
      reason: 'account differs',
    });
  });

  it('rejects other statuses and inconsistent ids, keeping the id', () => {
    const bad = parse({ ...result, status: 'UNMATCHED', allocationId: 3 });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.rejection.id).toBe(result.settlementId);
    expect(bad.rejection.reason).toContain('status: must be "SETTLED" or "MISMATCHED", got "UNMATCHED"');
    expect(bad.rejection.reason).toContain('settlementId: must be "IM1-IM1-BRK1-T-1-3"');
  });
});
