/**
 * The statistics behind `compare`: distribution-free confidence intervals for quantiles from order statistics, the
 * normal distribution they need, and a two-sample Kolmogorov–Smirnov test on binned CDFs. Pure math on numbers.
 */
import type { Histogram } from './histogram.ts';

/** Standard normal CDF Φ(x). Absolute error < 1e-7 (Zelen & Severo's rational approximation, A&S 26.2.17). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < -40) return 0;
  if (x > 40) return 1;
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const tail = (Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI)) * poly;
  return x >= 0 ? 1 - tail : tail;
}

/** Inverse of `normalCdf` for p in (0, 1), by bisection (60 steps: as precise as `normalCdf` itself). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Beyond this expected count on the smaller side, the binomial is replaced by its normal approximation. */
const EXACT_LIMIT = 500;

/**
 * Ranks `[lo, hi]` (1-based) of the order statistics that bracket the population's q-quantile (0 < q < 1) with
 * probability at least `1 - alpha` among `n` independent samples, whatever the distribution:
 * with B ~ Binomial(n, q) the number of samples at or below the quantile,
 *   lo = max{ j : P(B ≤ j − 1) ≤ alpha/2 },   hi = min{ k : P(B ≤ k − 1) ≥ 1 − alpha/2 },
 * so that P(X(lo) ≤ ξq ≤ X(hi)) = P(lo ≤ B < hi) ≥ 1 − alpha. `lo = 0` means no lower bound, `hi = n + 1` no upper
 * bound (too few samples beyond the quantile). Exact binomial sums while the expected count on the smaller side is
 * ≤ 500 (where the normal approximation is poor, e.g. the far tail); normal with continuity correction beyond.
 */
export function quantileRankInterval(n: number, q: number, alpha: number): [number, number] {
  if (!(n >= 1) || !(q > 0 && q < 1) || !(alpha > 0 && alpha < 1)) return [0, n + 1];
  const half = alpha / 2;
  const small = q <= 0.5 ? q : 1 - q;
  if (n * small > EXACT_LIMIT) {
    const z = normalQuantile(1 - half);
    const sd = Math.sqrt(n * q * (1 - q));
    const lo = Math.floor(n * q + 0.5 - z * sd);
    const hi = Math.ceil(n * q + 0.5 + z * sd);
    return [Math.max(0, lo), Math.min(n + 1, hi)];
  }
  // C ~ Binomial(n, small): its CDF summed from 0 by the pmf recurrence (pmf(0) = (1 - small)^n ≥ e^-500·..).
  // cLo = max{ c : F(c) ≤ half } (-1 if none); cHi = min{ c : F(c) ≥ 1 - half }.
  let pmf = Math.exp(n * Math.log1p(-small));
  let cdf = pmf;
  let c = 0;
  let cLo = cdf <= half ? 0 : -1;
  const ratio = small / (1 - small);
  while (cdf < 1 - half && c < n) {
    pmf *= ((n - c) / (c + 1)) * ratio;
    c++;
    cdf += pmf;
    if (cdf <= half) cLo = c;
  }
  const cHi = c;
  if (q <= 0.5) {
    // B = C: lo − 1 = cLo, hi − 1 = cHi.
    return [cLo + 1, cHi + 1];
  }
  // B = n − C: P(B ≤ j − 1) = 1 − F(n − j) ≤ half ⇔ F(n − j) ≥ 1 − half ⇔ j ≤ n − cHi;
  //            P(B ≤ k − 1) = 1 − F(n − k) ≥ 1 − half ⇔ F(n − k) ≤ half ⇔ k ≥ n − cLo.
  return [n - cHi, n - cLo];
}

export interface KsResult {
  /** Largest distance between the two empirical CDFs, taken at bucket edges (0..1). */
  d: number;
  /** Asymptotic p-value of `d` (conservative on binned data: binning can only hide distance). */
  pValue: number;
}

/** Kolmogorov's limiting distribution: P(K > λ) = 2 Σ (−1)^(k−1) e^(−2k²λ²). */
function kolmogorovQ(lambda: number): number {
  if (lambda < 0.2) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += k % 2 === 1 ? term : -term;
    if (term < 1e-12) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/**
 * Two-sample Kolmogorov–Smirnov test on two histograms of the same layout: D over bucket edges, p-value from the
 * asymptotic distribution with Stephens' small-sample correction. Null when either side is empty.
 */
export function ksTest(a: Histogram, b: Histogram): KsResult | null {
  const na = a.count;
  const nb = b.count;
  if (na === 0 || nb === 0) return null;
  const lo = Math.min(a.lowIndex, b.lowIndex);
  const hi = Math.max(a.highIndex, b.highIndex);
  const ca = a.counts;
  const cb = b.counts;
  let fa = 0;
  let fb = 0;
  let d = 0;
  for (let i = lo; i <= hi; i++) {
    fa += ca[i];
    fb += cb[i];
    const diff = Math.abs(fa / na - fb / nb);
    if (diff > d) d = diff;
  }
  const ne = (na * nb) / (na + nb);
  const sq = Math.sqrt(ne);
  return { d, pValue: kolmogorovQ((sq + 0.12 + 0.11 / sq) * d) };
}
