/**
 * Tracker keys, kept exact.
 *
 * Every key is stored as three parts `(k0, hi, lo)`:
 * - `hi`/`lo` are the high and low 32 bits of a 64-bit value (two's complement for negative numbers);
 * - `k0` is an extra safe-integer part for composite keys (e.g. the device in `(dev, sector)`), 0 otherwise.
 *
 * So `5`, `5n` and `[0, 5]` are the same key; `0xffff88814dc332e0n` and `0xffff88814dc332e1n` differ; `[dev, sector]`
 * keeps the full 64-bit sector. Numbers must be safe integers (`Number.isSafeInteger`), bigints must fit in 64 bits.
 */
export type Key = number | bigint | readonly [number | bigint, number | bigint];

const TWO32 = 4294967296;

/** Scratch output of {@link splitKey}; reused, never allocated per call. */
export interface KeyParts {
  k0: number;
  hi: number;
  lo: number;
}

/**
 * Splits a key into its exact parts. Returns false (and leaves `out` unspecified) for a key that cannot be
 * represented exactly: a non-integer or unsafe number, a bigint outside 64 bits, a bad tuple.
 * Allocates nothing for number keys.
 */
export function splitKey(key: Key, out: KeyParts): boolean {
  if (typeof key === 'number') {
    if (!Number.isSafeInteger(key)) return false;
    out.k0 = 0;
    out.lo = key >>> 0;
    out.hi = Math.floor(key / TWO32) >>> 0;
    return true;
  }
  if (typeof key === 'bigint') return splitBig(key, out);
  if (Array.isArray(key) && key.length === 2) {
    const a = key[0];
    let k0: number;
    if (typeof a === 'number') {
      if (!Number.isSafeInteger(a) || a < 0) return false;
      k0 = a;
    } else if (typeof a === 'bigint') {
      if (a < 0n || a > BigInt(Number.MAX_SAFE_INTEGER)) return false;
      k0 = Number(a);
    } else return false;
    const b = key[1];
    if (typeof b === 'number') {
      if (!Number.isSafeInteger(b)) return false;
      out.lo = b >>> 0;
      out.hi = Math.floor(b / TWO32) >>> 0;
    } else if (typeof b === 'bigint') {
      if (!splitBig(b, out)) return false;
    } else return false;
    out.k0 = k0;
    return true;
  }
  return false;
}

function splitBig(v: bigint, out: KeyParts): boolean {
  if (v < -(1n << 63n) || v >= 1n << 64n) return false;
  const u = BigInt.asUintN(64, v);
  out.k0 = 0;
  out.hi = Number(u >> 32n);
  out.lo = Number(u & 0xffffffffn);
  return true;
}

/**
 * Rebuilds a key from its parts, for reports (never on the hot path): a number when the 64-bit part is a safe
 * integer, a bigint otherwise; a `[k0, value]` tuple for composite keys.
 */
export function joinKey(k0: number, hi: number, lo: number): Key {
  const v: number | bigint = hi < 0x200000 ? hi * TWO32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
  return k0 === 0 ? v : [k0, v];
}

/**
 * 32-bit hash of the three parts; allocation-free. Fibonacci (multiplicative) hashing: the caller takes the top bits
 * (`>>> shift`), which spreads sequential integers (tids) and aligned addresses (skbs) evenly. Plain integer keys cost
 * one multiply.
 */
export function hashParts(k0: number, hi: number, lo: number): number {
  let x = lo;
  if (hi !== 0) x ^= Math.imul(hi ^ (hi >>> 15), 0x85ebca6b);
  if (k0 !== 0) x ^= Math.imul((k0 >>> 0) ^ Math.floor(k0 / TWO32), 0xc2b2ae35) ^ (x >>> 13);
  return Math.imul(x, 0x9e3779b1) >>> 0;
}
