import { parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { isWholeFloat, pythonFloat } from './canonical-json';
import { err, ok, type Result } from './result';
import type { WholeFloat } from './types';

/**
 * Lossless JSON for untrusted text (peer messages, chain files, `verify-chain`): numbers come
 * back exactly as Python reads them, as plain data.
 * - An integer within ±(2^53−1) is a number.
 * - A float whose value is not whole is a number: JavaScript and Python find the same double
 *   and write the same shortest digits.
 * - A float whose value is whole (`1795670516.0`, `1e3`, `-0.0`) is a `WholeFloat`, so that
 *   canonical JSON writes it back with its `.0` as the reference hashed it.
 * - An integer beyond ±(2^53−1) is an `UnsafeInteger` holding its digits: never rounded, and
 *   no schema accepts it, so it is refused where it stands.
 * The key `wholeFloat` is reserved: an object written with it in the text is refused, so a
 * `WholeFloat` always comes from a float in the text, never from an object that imitates one.
 *
 * Speed: `lossless-json` parses in JavaScript, about 60 times slower than `JSON.parse`. Text
 * whose numbers `JSON.parse` reads exactly (every message and file this project writes) goes to
 * `JSON.parse`; a scan of the number tokens decides, see `needsLosslessParse`.
 */

/** An integer that JavaScript numbers cannot hold exactly; its decimal digits, sign included. */
export interface UnsafeInteger {
  readonly unsafeInteger: string;
}

/** The reserved key of `WholeFloat`. */
const WHOLE_FLOAT_KEY = 'wholeFloat';

/**
 * Number tokens that `JSON.parse` might read inexactly, with the character before them (a JSON
 * number follows `:`, `,` or `[`, possibly after whitespace; digits inside strings never do,
 * and a string that imitates the context only costs the slow path). Candidates: 16 or more
 * integer digits (beyond 2^53, or a fraction that cannot count), an exponent, or a fraction
 * that starts with a run of `0`s or `9`s (checked further in `needsLosslessParse`).
 */
const CANDIDATE_NUMBER = /[:,[]\s*-?(?:\d{16}|\d+(?:\.\d+)?[eE]|(\d+)\.(0+|9+)(\d?))/g;

/**
 * True when `JSON.parse` could read a number of `text` differently from Python. A float with
 * `k` integer digits becomes a whole double only if its fraction is within half a unit in the
 * last place of 0 or 1, i.e. starts with at least `15 − k` zeros or nines; a fraction of only
 * zeros is whole outright. Runs shorter than that (`14 − k`, with a digit to spare) are exact.
 */
export function needsLosslessParse(text: string): boolean {
  if (/^\s*-?\d/.test(text)) return true; // a bare number at the top level
  if (text.includes(WHOLE_FLOAT_KEY) || text.includes('\\u')) return true; // the reserved key, maybe escaped
  for (const match of text.matchAll(CANDIDATE_NUMBER)) {
    const [, integerDigits, run, next] = match;
    if (integerDigits === undefined || run === undefined) return true; // many digits, or an exponent
    if (next === '' && run.startsWith('0')) return true; // the fraction is all zeros
    if (integerDigits.length + run.length >= 14) return true;
  }
  return false;
}

/** Reads one number token as Python would, into plain data. */
function parseNumberToken(text: string): number | WholeFloat | UnsafeInteger {
  const isFloat = /[.eE]/.test(text);
  const value = Number(text);
  if (!isFloat) return Number.isSafeInteger(value) ? value : { unsafeInteger: text };
  // An infinite float (1e400) stays Infinity: every schema refuses it, as Python would write `Infinity`.
  return Number.isInteger(value) ? { wholeFloat: value } : value;
}

/**
 * Parses untrusted JSON text losslessly (see above). Duplicate keys keep the last value, as
 * `JSON.parse` and Python's `json.loads` do. Never throws.
 */
export function parseJson(text: string): Result<unknown, string> {
  try {
    if (!needsLosslessParse(text)) return ok(JSON.parse(text));
    const made = new WeakSet<object>();
    const value = parseLossless(
      text,
      (_key, parsed) => {
        if (
          typeof parsed === 'object' &&
          parsed !== null &&
          Object.hasOwn(parsed, WHOLE_FLOAT_KEY) &&
          !made.has(parsed)
        ) {
          throw new SyntaxError(`the key "${WHOLE_FLOAT_KEY}" is reserved`);
        }
        return parsed;
      },
      {
        parseNumber: (token) => {
          const parsed = parseNumberToken(token);
          if (typeof parsed === 'object' && WHOLE_FLOAT_KEY in parsed) made.add(parsed);
          return parsed;
        },
        onDuplicateKey: ({ newValue }) => newValue,
      },
    );
    return ok(value);
  } catch (error) {
    // SyntaxError for bad JSON; RangeError for nesting too deep for the stack.
    return err(error instanceof Error ? error.message : String(error));
  }
}

const WHOLE_FLOAT_STRINGIFIER = {
  test: isWholeFloat,
  stringify: (value: unknown) => pythonFloat((value as WholeFloat).wholeFloat),
};

/**
 * JSON text of a value the node sends (compact, as `JSON.stringify`), with each `WholeFloat`
 * written as the float it stands for (`1795670516.0`), so a peer's `parseJson` reads back the
 * same value. Values without one take `JSON.stringify`'s native path.
 */
export function stringifyJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (!text.includes(`"${WHOLE_FLOAT_KEY}":`)) return text;
  return stringifyLossless(value, null, undefined, [WHOLE_FLOAT_STRINGIFIER]) ?? text;
}
