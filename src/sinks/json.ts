/**
 * JSON Lines output (DESIGN §6): one object per line, `type` first, nanoseconds as exact JSON integers (bigints are
 * written as digits, never through a float).
 */

const BIG = '\u0000BIG:';
const BIG_RE = /"\\u0000BIG:(-?\d+)\\u0000"/g;

/** Serializes one object on one line; `bigint` values become JSON integers. */
export function jsonLine(obj: object): string {
  const text = JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? `${BIG}${v.toString()}\u0000` : v));
  return text.replace(BIG_RE, '$1');
}
