/**
 * Exact decimal arithmetic on decimal strings ("41.20"), by scaling to BigInt. Prices are never compared as floats:
 * 0.1 + 0.2 is not 0.3 in binary floating point, and a matching engine must not care.
 */

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** A decimal as an integer count of 10^-scale units. */
export interface ScaledDecimal {
  readonly units: bigint;
  readonly scale: number;
}

export function isDecimalString(text: string): boolean {
  return DECIMAL.test(text);
}

/** Parses `[+-]digits[.digits]`; anything else (exponents, spaces, empty parts) throws. */
export function parseDecimal(text: string): ScaledDecimal {
  const match = DECIMAL.exec(text);
  if (!match) throw new Error(`not a decimal number: ${JSON.stringify(text)}`);
  const [, sign, whole, fraction = ''] = match;
  const units = BigInt(whole + fraction);
  return { units: sign === '-' ? -units : units, scale: fraction.length };
}

function rescale(value: ScaledDecimal, scale: number): bigint {
  return value.units * 10n ** BigInt(scale - value.scale);
}

/** -1, 0 or 1 as a <, =, > b; "41.2" and "41.20" are equal. */
export function compareDecimals(a: string, b: string): -1 | 0 | 1 {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const scale = Math.max(x.scale, y.scale);
  const diff = rescale(x, scale) - rescale(y, scale);
  return diff === 0n ? 0 : diff < 0n ? -1 : 1;
}

/** |a - b| ≤ tolerance, exactly. The tolerance is a non-negative decimal string; the default "0" means equal. */
export function decimalsEqual(a: string, b: string, tolerance = '0'): boolean {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const t = parseDecimal(tolerance);
  if (t.units < 0n) throw new Error(`tolerance must not be negative: ${tolerance}`);
  const scale = Math.max(x.scale, y.scale, t.scale);
  const diff = rescale(x, scale) - rescale(y, scale);
  return (diff < 0n ? -diff : diff) <= rescale(t, scale);
}

/** a - b as a decimal string with the larger of the two scales ("41.25" - "41.2" = "0.05"). */
export function subtractDecimals(a: string, b: string): string {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const scale = Math.max(x.scale, y.scale);
  return formatDecimal({ units: rescale(x, scale) - rescale(y, scale), scale });
}

export function formatDecimal(value: ScaledDecimal): string {
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, '0');
  const whole = digits.slice(0, digits.length - value.scale);
  const fraction = value.scale > 0 ? `.${digits.slice(digits.length - value.scale)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}
