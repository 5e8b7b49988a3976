/**
 * Canonical JSON: the exact text of Python's `json.dumps(value)` with default arguments, which
 * the reference hashes and signs. Separators `", "` and `": "`, ASCII-only output with
 * lower-case `\uXXXX` escapes (one per UTF-16 unit, so characters above U+FFFF become surrogate
 * pairs, as in Python), keys in insertion order, floats as Python's `repr`.
 *
 * `JSON.stringify` differs on every one of those points, hence this serializer.
 * Numbers: a JavaScript number that is a safe integer is written as an int; a whole-number
 * float from the reference arrives as a `WholeFloat` (see `./json`) and is written as Python's
 * float repr (`1795670516.0`). Limit: JavaScript orders integer-like object keys first, which
 * never occurs in consensus data (fixed keys).
 */
import type { WholeFloat } from './types';

/** A JSON value as the serializer accepts it. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | WholeFloat
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/** Thrown for values Python's json.dumps would not round-trip (NaN, Infinity, undefined, functions). */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

/** Characters `JSON.stringify` leaves raw that Python's `ensure_ascii` escapes: DEL and above. */
const HEX = /^[0-9a-f]*$/;
const NON_ASCII = /[\u007f-\uffff]/;
const NON_ASCII_ALL = /[\u007f-\uffff]/g;
const escapeUnit = (unit: string): string => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Python `json.encoder.py_encode_basestring_ascii`. `JSON.stringify` already escapes exactly as
 * Python does below U+007F (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, lower-case `\u00XX`, and
 * lone surrogates), natively and fast; only DEL and non-ASCII units remain, one escape per unit.
 */
export function pythonString(text: string): string {
  // Hex (hashes, signatures, ids) needs no escaping at all: the common case, done cheaply.
  if (HEX.test(text)) return `"${text}"`;
  const quoted = JSON.stringify(text);
  return NON_ASCII.test(quoted) ? quoted.replace(NON_ASCII_ALL, escapeUnit) : quoted;
}

/** True for the plain object that stands for a whole-number float (see `WholeFloat`). */
export function isWholeFloat(value: unknown): value is WholeFloat {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { wholeFloat?: unknown }).wholeFloat === 'number' &&
    Object.keys(value).length === 1
  );
}

/** A timestamp (a number, or a whole-number float) as Python writes it. */
export function pythonTimestamp(value: number | WholeFloat): string {
  return typeof value === 'number' ? pythonNumber(value) : pythonFloat(value.wholeFloat);
}

/**
 * A JavaScript number as Python writes it: a safe integer as an int, anything else as a float
 * (`pythonFloat`). Throws `CanonicalJsonError` for NaN and infinities.
 */
export function pythonNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER) {
    // A whole number here is an int; a whole float from the reference is a `WholeFloat`.
    return Object.is(value, -0) ? '0' : String(value);
  }
  return pythonFloat(value);
}

/**
 * Python's `float.__repr__` of `value`, whole or not (`1795670516.0`, `0.5`, `1e+16`, `-0.0`):
 * the shortest round-tripping digits (which JavaScript also finds), in fixed notation for
 * decimal exponents -4..15 and `d.ddde+XX` outside them. Throws `CanonicalJsonError` for NaN
 * and infinities.
 */
export function pythonFloat(value: number): string {
  if (!Number.isFinite(value))
    throw new CanonicalJsonError(`cannot encode ${value}: Python would write a non-JSON token`);
  if (Number.isInteger(value) && Math.abs(value) < 1e16) {
    return `${Object.is(value, -0) ? '-0' : String(value)}.0`;
  }
  // Both languages write fixed notation with the same shortest digits in this range (timestamps).
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-4 && magnitude < 1e16) return String(value);
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const intPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    const fracPart = digits.slice(exponent + 1);
    return `${sign}${intPart}.${fracPart === '' ? '0' : fracPart}`;
  }
  const head = digits.slice(0, 1);
  const tail = digits.slice(1);
  const expSign = exponent < 0 ? '-' : '+';
  const expDigits = String(Math.abs(exponent)).padStart(2, '0');
  return `${sign}${head}${tail === '' ? '' : `.${tail}`}e${expSign}${expDigits}`;
}

/** Serializes `value` exactly as Python's `json.dumps(value)` would. Throws `CanonicalJsonError`. */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return pythonString(value);
    case 'number':
      return pythonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (isWholeFloat(value)) return pythonFloat(value.wholeFloat);
      if (Array.isArray(value)) {
        if (value.length === 0) return '[]';
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ', ';
          out += canonicalJson(value[i]);
        }
        return `${out}]`;
      }
      let out = '{';
      let first = true;
      for (const key of Object.keys(value)) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined) continue; // as JSON.stringify: absent, not null
        if (!first) out += ', ';
        first = false;
        out += `${pythonString(key)}: ${canonicalJson(member)}`;
      }
      return `${out}}`;
    }
    default:
      throw new CanonicalJsonError(`cannot encode a value of type ${typeof value}`);
  }
}
