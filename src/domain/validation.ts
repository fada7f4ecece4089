/**
 * Parsing and validation of what arrives from outside (docs/domain.md#records). Every message either becomes a typed record
 * with its id, or a Rejection (a NACK) carrying the raw text, the id if one can be read, and a human-readable reason
 * that names the field. Nothing here throws on bad input: a bad message must never crash a service or block the
 * messages behind it. Unknown extra fields are ignored (and dropped from the value).
 */
import { parseDecimal } from './decimal.js';
import { rejectionId, settlementId, tradeRecordId } from './ids.js';
import type { Allocation, Rejection, SettlementInstruction, SettlementResult, Side, Trade } from './records.js';

/** Messages above this size are rejected without being parsed. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Longest single id field (senderId, imId, brokerId, tradeId, account, security). */
export const MAX_ID_LENGTH = 64;
/** Longest composite id (trade record id, settlement id, counterpart id). */
export const MAX_RECORD_ID_LENGTH = 4 * MAX_ID_LENGTH + 3 + 12;
/** Longest free text (deliveryInstructions, reason). */
export const MAX_TEXT_LENGTH = 4096;
/** Most allocations one trade may carry. */
export const MAX_ALLOCATIONS = 1000;
/** Highest allocationId (a 32-bit integer in the core databases). */
export const MAX_ALLOCATION_ID = 2_147_483_647;

/** Positive prices: up to 12 integer digits (no leading zeros) and up to 8 decimals. */
const PRICE = /^(0|[1-9]\d{0,11})(\.\d{1,8})?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// Control characters are never part of an id.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const WHITESPACE = /\s/;

export type ParseResult<T> = { ok: true; value: T; id: string } | { ok: false; rejection: Rejection };

type Json = Record<string, unknown>;

/** Collects every problem of one message, so the reason lists them all at once. */
class Problems {
  readonly list: string[] = [];
  add(field: string, message: string): undefined {
    this.list.push(`${field}: ${message}`);
    return undefined;
  }
  get empty(): boolean {
    return this.list.length === 0;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function present(object: Json, field: string, problems: Problems, label = field): unknown {
  if (!Object.hasOwn(object, field) || object[field] === undefined) return problems.add(label, 'missing');
  return object[field];
}

function idProblem(value: string, maxLength: number): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > maxLength) return `must be at most ${maxLength} characters, got ${value.length}`;
  if (value.includes('|')) return 'must not contain "|"';
  if (CONTROL.test(value) || WHITESPACE.test(value)) return 'must not contain whitespace or control characters';
  return undefined;
}

function readId(object: Json, field: string, problems: Problems, maxLength = MAX_ID_LENGTH, label = field) {
  const value = present(object, field, problems, label);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return problems.add(label, `must be a string, got ${describe(value)}`);
  const problem = idProblem(value, maxLength);
  return problem ? problems.add(label, problem) : value;
}

function readText(object: Json, field: string, problems: Problems, options: { optional?: boolean } = {}) {
  if (options.optional && (!Object.hasOwn(object, field) || object[field] === undefined || object[field] === null)) {
    return undefined;
  }
  const value = present(object, field, problems);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return problems.add(field, `must be a string, got ${describe(value)}`);
  if (value.length > MAX_TEXT_LENGTH) {
    return problems.add(field, `must be at most ${MAX_TEXT_LENGTH} characters, got ${value.length}`);
  }
  return value;
}

function readSide(object: Json, problems: Problems): Side | undefined {
  const value = present(object, 'side', problems);
  if (value === undefined) return undefined;
  if (value !== 'B' && value !== 'S') return problems.add('side', `must be "B" or "S", got ${describe(value)}`);
  return value;
}

function readCount(
  object: Json,
  field: string,
  problems: Problems,
  min: number,
  label = field,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const value = present(object, field, problems, label);
  if (value === undefined) return undefined;
  if (typeof value !== 'number') return problems.add(label, `must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value)) return problems.add(label, `must be a whole number, got ${value}`);
  if (value < min)
    return problems.add(label, `must be ${min === 1 ? 'greater than 0' : `at least ${min}`}, got ${value}`);
  if (value > max) return problems.add(label, `must be at most ${max}, got ${value}`);
  return value;
}

function readPrice(object: Json, problems: Problems): string | undefined {
  const value = present(object, 'price', problems);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    return problems.add('price', `must be a decimal string like "41.20", got ${describe(value)}`);
  }
  if (!PRICE.test(value)) {
    return problems.add(
      'price',
      `must be a positive decimal like "41.20" (≤ 12 digits, ≤ 8 decimals), got ${describe(value)}`,
    );
  }
  if (parseDecimal(value).units <= 0n) return problems.add('price', `must be greater than 0, got ${describe(value)}`);
  return value;
}

/** True for a real calendar date written YYYY-MM-DD (2024-02-29 yes, 2023-02-29 no). */
export function isCalendarDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const [year, month, day] = match.slice(1).map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function readDate(object: Json, field: string, problems: Problems): string | undefined {
  const value = present(object, field, problems);
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isCalendarDate(value)) {
    return problems.add(field, `must be a real date YYYY-MM-DD, got ${describe(value)}`);
  }
  return value;
}

function checkDates(tradeDate: string | undefined, settlementDate: string | undefined, problems: Problems): void {
  // YYYY-MM-DD strings order like the dates they name.
  if (tradeDate && settlementDate && settlementDate < tradeDate) {
    problems.add('settlementDate', `${settlementDate} is before tradeDate ${tradeDate}`);
  }
}

function checkSender(ids: { senderId?: string; imId?: string; brokerId?: string }, problems: Problems): void {
  const { senderId, imId, brokerId } = ids;
  if (senderId && imId && brokerId && senderId !== imId && senderId !== brokerId) {
    problems.add('senderId', `"${senderId}" is neither the imId "${imId}" nor the brokerId "${brokerId}"`);
  }
}

function readAllocations(object: Json, quantity: number | undefined, problems: Problems): Allocation[] | undefined {
  const value = present(object, 'allocations', problems);
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return problems.add('allocations', `must be an array, got ${describe(value)}`);
  if (value.length === 0) return problems.add('allocations', 'must hold at least one allocation');
  if (value.length > MAX_ALLOCATIONS) {
    return problems.add('allocations', `must hold at most ${MAX_ALLOCATIONS} allocations, got ${value.length}`);
  }
  const before = problems.list.length;
  const allocations: Allocation[] = [];
  value.forEach((entry: unknown, index) => {
    const label = `allocations[${index}]`;
    if (!isObject(entry)) return problems.add(label, `must be an object, got ${describe(entry)}`);
    const allocationId = readCount(entry, 'allocationId', problems, 1, `${label}.allocationId`, MAX_ALLOCATION_ID);
    const allocationQuantity = readCount(entry, 'quantity', problems, 1, `${label}.quantity`);
    const account = readId(entry, 'account', problems, MAX_ID_LENGTH, `${label}.account`);
    if (allocationId !== undefined && allocationQuantity !== undefined && account !== undefined) {
      allocations.push({ allocationId, quantity: allocationQuantity, account });
    }
  });
  if (problems.list.length > before) return undefined;
  const seen = new Set<number>();
  for (const { allocationId } of allocations) {
    if (seen.has(allocationId)) problems.add('allocations', `allocationId ${allocationId} appears more than once`);
    seen.add(allocationId);
  }
  const sum = allocations.reduce((total, a) => total + BigInt(a.quantity), 0n);
  if (quantity !== undefined && sum !== BigInt(quantity)) {
    problems.add('allocations', `quantities sum to ${sum}, trade quantity is ${quantity}`);
  }
  return problems.list.length > before ? undefined : allocations;
}

function isReadableId(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && idProblem(value, maxLength) === undefined;
}

/** The trade id from the four id fields, when all four can be read. */
function readableTradeId(object: Json): string | undefined {
  const { senderId, imId, brokerId, tradeId } = object;
  if (
    isReadableId(senderId, MAX_ID_LENGTH) &&
    isReadableId(imId, MAX_ID_LENGTH) &&
    isReadableId(brokerId, MAX_ID_LENGTH) &&
    isReadableId(tradeId, MAX_ID_LENGTH)
  ) {
    return tradeRecordId({ senderId, imId, brokerId, tradeId });
  }
  return undefined;
}

function byteLength(raw: string | Buffer): number {
  return typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.length;
}

/** The raw text kept on a rejection: at most MAX_MESSAGE_BYTES of it. */
function keptText(raw: string | Buffer): string {
  const bytes = byteLength(raw);
  if (bytes <= MAX_MESSAGE_BYTES) return typeof raw === 'string' ? raw : raw.toString('utf8');
  const buffer = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  return buffer.subarray(0, MAX_MESSAGE_BYTES).toString('utf8');
}

/** Builds a rejection (a NACK) for `raw`, with `id` if one could be read. */
export function reject(raw: string | Buffer, source: string, reason: string, id?: string): Rejection {
  return { id: id ?? rejectionId(raw), status: 'REJECTED', reason, rawText: keptText(raw), source };
}

/** Size check, JSON parse, object check: the steps every kind of message shares. */
function parseObject(raw: string | Buffer, source: string, kind: string): { object: Json } | { rejection: Rejection } {
  const bytes = byteLength(raw);
  if (bytes > MAX_MESSAGE_BYTES) {
    return {
      rejection: reject(raw, source, `message is ${bytes} bytes, larger than the ${MAX_MESSAGE_BYTES}-byte limit`),
    };
  }
  const text = (typeof raw === 'string' ? raw : raw.toString('utf8')).replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { rejection: reject(raw, source, `not valid JSON: ${(error as Error).message}`) };
  }
  if (!isObject(parsed))
    return { rejection: reject(raw, source, `a ${kind} must be a JSON object, got ${describe(parsed)}`) };
  return { object: parsed };
}

function finish<T>(
  raw: string | Buffer,
  source: string,
  problems: Problems,
  id: string | undefined,
  value: T | undefined,
) {
  if (!problems.empty || value === undefined || id === undefined) {
    return { ok: false as const, rejection: reject(raw, source, problems.list.join('; '), id) };
  }
  return { ok: true as const, value, id };
}

/** A trade side as submitted on `tm/in/trades`. The id is `senderId-imId-brokerId-tradeId`. */
export function parseTrade(raw: string | Buffer, source: string): ParseResult<Trade> {
  const parsed = parseObject(raw, source, 'trade');
  if ('rejection' in parsed) return { ok: false, rejection: parsed.rejection };
  const o = parsed.object;
  const p = new Problems();
  const senderId = readId(o, 'senderId', p);
  const imId = readId(o, 'imId', p);
  const brokerId = readId(o, 'brokerId', p);
  const tradeId = readId(o, 'tradeId', p);
  const side = readSide(o, p);
  const security = readId(o, 'security', p);
  const quantity = readCount(o, 'quantity', p, 1);
  const price = readPrice(o, p);
  const tradeDate = readDate(o, 'tradeDate', p);
  const settlementDate = readDate(o, 'settlementDate', p);
  const deliveryInstructions = readText(o, 'deliveryInstructions', p);
  const allocations = readAllocations(o, quantity, p);
  checkDates(tradeDate, settlementDate, p);
  checkSender({ senderId, imId, brokerId }, p);
  const id = readableTradeId(o);
  const value: Trade | undefined = p.empty
    ? {
        senderId: senderId!,
        imId: imId!,
        brokerId: brokerId!,
        tradeId: tradeId!,
        side: side!,
        security: security!,
        quantity: quantity!,
        price: price!,
        tradeDate: tradeDate!,
        settlementDate: settlementDate!,
        deliveryInstructions: deliveryInstructions!,
        allocations: allocations!,
      }
    : undefined;
  return finish(raw, source, p, id, value);
}

/** A settlement instruction on `st/in/settlements`, built by tm egress per allocation of a MATCHED trade side. */
export function parseSettlementInstruction(raw: string | Buffer, source: string): ParseResult<SettlementInstruction> {
  const parsed = parseObject(raw, source, 'settlement instruction');
  if ('rejection' in parsed) return { ok: false, rejection: parsed.rejection };
  const o = parsed.object;
  const p = new Problems();
  const id = readId(o, 'id', p, MAX_RECORD_ID_LENGTH);
  const recordId = readId(o, 'tradeRecordId', p, MAX_RECORD_ID_LENGTH);
  const senderId = readId(o, 'senderId', p);
  const imId = readId(o, 'imId', p);
  const brokerId = readId(o, 'brokerId', p);
  const tradeId = readId(o, 'tradeId', p);
  const allocationId = readCount(o, 'allocationId', p, 1, 'allocationId', MAX_ALLOCATION_ID);
  const security = readId(o, 'security', p);
  const side = readSide(o, p);
  const quantity = readCount(o, 'quantity', p, 1);
  const price = readPrice(o, p);
  const tradeDate = readDate(o, 'tradeDate', p);
  const settlementDate = readDate(o, 'settlementDate', p);
  const account = readId(o, 'account', p);
  const status = present(o, 'status', p);
  if (status !== undefined && status !== 'UNMATCHED') p.add('status', `must be "UNMATCHED", got ${describe(status)}`);
  checkDates(tradeDate, settlementDate, p);
  checkSender({ senderId, imId, brokerId }, p);
  if (recordId && senderId && imId && brokerId && tradeId) {
    const expected = tradeRecordId({ senderId, imId, brokerId, tradeId });
    if (recordId !== expected)
      p.add('tradeRecordId', `must be "${expected}" (senderId-imId-brokerId-tradeId), got "${recordId}"`);
  }
  if (id && recordId && allocationId !== undefined) {
    const expected = settlementId(recordId, allocationId);
    if (id !== expected) p.add('id', `must be "${expected}" (tradeRecordId-allocationId), got "${id}"`);
  }
  const value: SettlementInstruction | undefined = p.empty
    ? {
        id: id!,
        tradeRecordId: recordId!,
        senderId: senderId!,
        imId: imId!,
        brokerId: brokerId!,
        tradeId: tradeId!,
        allocationId: allocationId!,
        security: security!,
        side: side!,
        quantity: quantity!,
        price: price!,
        tradeDate: tradeDate!,
        settlementDate: settlementDate!,
        account: account!,
        status: 'UNMATCHED',
      }
    : undefined;
  const readable = isReadableId(o.id, MAX_RECORD_ID_LENGTH) ? o.id : undefined;
  return finish(raw, source, p, readable, value);
}

/** A settlement result coming back from st on `tm/in/settlements`. The id is the settlement id. */
export function parseSettlementResult(raw: string | Buffer, source: string): ParseResult<SettlementResult> {
  const parsed = parseObject(raw, source, 'settlement result');
  if ('rejection' in parsed) return { ok: false, rejection: parsed.rejection };
  const o = parsed.object;
  const p = new Problems();
  const id = readId(o, 'settlementId', p, MAX_RECORD_ID_LENGTH);
  const recordId = readId(o, 'tradeRecordId', p, MAX_RECORD_ID_LENGTH);
  const allocationId = readCount(o, 'allocationId', p, 1, 'allocationId', MAX_ALLOCATION_ID);
  const status = present(o, 'status', p);
  if (status !== undefined && status !== 'SETTLED' && status !== 'MISMATCHED') {
    p.add('status', `must be "SETTLED" or "MISMATCHED", got ${describe(status)}`);
  }
  let counterpartId: string | undefined;
  if (o.counterpartId !== undefined && o.counterpartId !== null) {
    counterpartId = readId(o, 'counterpartId', p, MAX_RECORD_ID_LENGTH);
  }
  const reason = readText(o, 'reason', p, { optional: true });
  if (id && recordId && allocationId !== undefined) {
    const expected = settlementId(recordId, allocationId);
    if (id !== expected) p.add('settlementId', `must be "${expected}" (tradeRecordId-allocationId), got "${id}"`);
  }
  const value: SettlementResult | undefined = p.empty
    ? {
        settlementId: id!,
        tradeRecordId: recordId!,
        allocationId: allocationId!,
        status: status as 'SETTLED' | 'MISMATCHED',
        ...(counterpartId !== undefined ? { counterpartId } : {}),
        ...(reason !== undefined ? { reason } : {}),
      }
    : undefined;
  const readable = isReadableId(o.settlementId, MAX_RECORD_ID_LENGTH) ? o.settlementId : undefined;
  return finish(raw, source, p, readable, value);
}
