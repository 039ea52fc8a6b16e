/**
 * Seeded random latencies for tests: a small PRNG (xoshiro128** seeded by a SplitMix32 step, written here) and the
 * distributions latency tests need. Deterministic: the same seed gives the same values on every machine.
 */

/** A seeded generator of uniform numbers in [0, 1). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    // SplitMix32-style seeding so that nearby seeds give unrelated streams.
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next() | 1;
  }
  /** xoshiro128** step: a uniform 32-bit integer. */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }
  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992;
  }
  /** Uniform in (0, 1): never 0, for logs and powers. */
  open(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    return u;
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(this.open())) * Math.cos(2 * Math.PI * this.next());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export type Dist = (r: Rng) => number;

/** Integer ns uniform in [lo, hi]. */
export const uniform =
  (lo: number, hi: number): Dist =>
  (r) =>
    Math.floor(lo + r.next() * (hi - lo + 1));
/** Integer ns log-normal with median `median` and shape `sigma`. */
export const logNormal =
  (median: number, sigma: number): Dist =>
  (r) =>
    Math.round(median * Math.exp(sigma * r.normal()));
/** Pareto (heavy tail) with scale `xm` and index `alpha`. */
export const pareto =
  (xm: number, alpha: number): Dist =>
  (r) =>
    Math.round(xm / r.open() ** (1 / alpha));
/** Mixture: `d1` with probability `p`, else `d2`. */
export const mixture =
  (p: number, d1: Dist, d2: Dist): Dist =>
  (r) =>
    r.next() < p ? d1(r) : d2(r);
/** Log-uniform over [lo, hi] (every magnitude equally likely). */
export const logUniform =
  (lo: number, hi: number): Dist =>
  (r) =>
    Math.round(lo * (hi / lo) ** r.next());

/** `n` values of `dist` from seed `seed`. */
export function sample(dist: Dist, n: number, seed: number): Float64Array {
  const r = new Rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = dist(r);
  return out;
}

/**
 * The exact nearest-rank percentile of sorted values: the value of rank ceil(q/100 * n) (at least 1), computed here in
 * integers (q in thousandths of a percent) rather than with the code under test.
 */
export function exactPercentile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const milli = Math.round(q * 1000);
  const rank = Math.floor((milli * n + 99_999) / 100_000);
  return sorted[Math.max(1, Math.min(rank, n)) - 1];
}
