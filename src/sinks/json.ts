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

/**
 * An outlier's JSON object with `unix` (the wall-clock time of `start_ns`, Unix seconds with microseconds) after
 * `end_ns`, when the source knows the wall clock (`unixOffsetNs`); the record itself unchanged otherwise.
 */
export function withUnix<T extends { start_ns: bigint }>(r: T, unixOffsetNs: bigint | undefined): object {
  if (unixOffsetNs === undefined) return r;
  const unix = Number((r.start_ns + unixOffsetNs) / 1000n) / 1e6;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    out[k] = v;
    if (k === 'end_ns') out.unix = unix;
  }
  return out;
}
