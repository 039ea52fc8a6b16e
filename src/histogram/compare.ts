/**
 * Comparing two latency histograms percentile by percentile, from the histograms alone (no raw samples), telling a
 * real change from noise. The method and why it suits latency distributions are in docs/profiles.md; in short:
 *
 * 1. For each percentile q and each side, a distribution-free confidence interval from order statistics: the ranks
 *    [lo, hi] that bracket the population q-quantile with the chosen confidence (`quantileRankInterval`: exact
 *    binomial in the tails, normal approximation in the bulk), mapped to values through the histogram's CDF — the
 *    lower edge of the bucket holding rank lo, the upper edge of the bucket holding rank hi — so the interval also
 *    covers the histogram's own resolution. No assumption on shape: skewed, multimodal, heavy-tailed all work.
 * 2. A change is declared only when (a) the two intervals do not overlap, with each interval at the confidence that
 *    makes non-overlap a test at level alpha/k (Goldstein & Healy: z/√2 per interval; Bonferroni over the k
 *    percentiles of a row), and (b) the point estimates differ by more than the practical floor `minChange` plus the
 *    histograms' resolution: ratio ≥ (1 + minChange)·(1 + 1/256)/(1 − 1/256).
 * 3. A percentile needs at least `minTail` samples beyond it on each side (p99.9: 10 per 1000 → 10,000 samples);
 *    with fewer, the verdict is 'no significant change' and `insufficient` is set.
 * 4. `designEffect` (≥ 1) divides the sample sizes used for the intervals, widening them for autocorrelated samples
 *    (bursts within a trace): 1 treats samples as independent.
 *
 * A Kolmogorov–Smirnov test of the whole distribution is reported beside, as information; the verdicts are per
 * percentile.
 */
import { OVERFLOW_GROUP } from './groups.ts';
import { Histogram, HistogramError } from './histogram.ts';
import { bucketHigh, bucketLow, RELATIVE_ERROR } from './layout.ts';
import type { Profile } from './profile.ts';
import { type KsResult, ksTest, normalCdf, normalQuantile, quantileRankInterval } from './stats.ts';

export type Verdict = 'regressed' | 'improved' | 'no significant change';

export interface CompareOptions {
  /** Family-wise false-alarm rate per row (over its percentiles), default 0.01. */
  alpha?: number;
  /** Practical-significance floor: smallest relative change worth reporting, default 0.05 (5 %). */
  minChange?: number;
  /** Samples needed beyond a percentile (above it for q ≥ 50, below it otherwise) on each side, default 10. */
  minTail?: number;
  /** Variance inflation for autocorrelated samples (≥ 1), default 1. */
  designEffect?: number;
  /** Percentiles compared, default [50, 90, 99, 99.9]. */
  percentiles?: readonly number[];
}

/** A value on both sides and its change. Values are ns (counts for `count`); null when a side is empty. */
export interface ValueChange {
  a: number | null;
  b: number | null;
  /** b − a. */
  change: number | null;
  /** (b − a) / a; null when a is 0 or missing. */
  relative: number | null;
}

export interface PercentileComparison extends ValueChange {
  /** Percentile, 0..100. */
  q: number;
  /** 'p50', 'p99.9'. */
  label: string;
  /** Confidence interval of each side's percentile (ns); null when it cannot be formed (too few samples). */
  aInterval: [number, number] | null;
  bInterval: [number, number] | null;
  verdict: Verdict;
  /** Too few samples beyond this percentile on a side to test it: the verdict says nothing either way. */
  insufficient: boolean;
}

export interface HistogramComparison {
  count: ValueChange;
  percentiles: PercentileComparison[];
  max: ValueChange;
  /** Whole-distribution two-sample Kolmogorov–Smirnov test (information only); null when a side is empty. */
  ks: KsResult | null;
}

export interface CompareRow extends HistogramComparison {
  analysis: string;
  /** The grouping field (e.g. 'syscall') for group rows, null for the analysis' total row. */
  groupBy: string | null;
  /** Group value (as a string), `OVERFLOW_GROUP` for the overflow group, null for the total row. */
  group: string | null;
}

const DEFAULT_PERCENTILES: readonly number[] = [50, 90, 99, 99.9];

interface Resolved {
  alpha: number;
  minChange: number;
  minTail: number;
  designEffect: number;
  percentiles: readonly number[];
  /** Confidence level (as alpha) of each side's interval. */
  ciAlpha: number;
  /** Smallest ratio of point estimates declared a change. */
  ratio: number;
}

function resolve(o: CompareOptions | undefined): Resolved {
  const alpha = o?.alpha ?? 0.01;
  const minChange = o?.minChange ?? 0.05;
  const minTail = o?.minTail ?? 10;
  const designEffect = o?.designEffect ?? 1;
  const percentiles = o?.percentiles ?? DEFAULT_PERCENTILES;
  if (!(alpha > 0 && alpha < 1)) throw new HistogramError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(minChange >= 0 && minChange < 10)) throw new HistogramError(`minChange must be in [0, 10), got ${minChange}`);
  if (!(Number.isInteger(minTail) && minTail >= 1)) throw new HistogramError(`minTail must be an integer ≥ 1`);
  if (!(designEffect >= 1 && designEffect < 1e6)) throw new HistogramError(`designEffect must be ≥ 1`);
  if (!Array.isArray(percentiles) || percentiles.length === 0) throw new HistogramError('percentiles: none given');
  for (const q of percentiles) {
    if (!(q > 0 && q < 100)) throw new HistogramError(`compared percentiles must be in (0, 100), got ${q}`);
  }
  // Non-overlap of two intervals each at z/√2 ≈ a two-sided test at the per-percentile level (Goldstein & Healy).
  const z = normalQuantile(1 - alpha / percentiles.length / 2);
  const ciAlpha = 2 * (1 - normalCdf(z / Math.SQRT2));
  const ratio = (1 + minChange) * ((1 + RELATIVE_ERROR) / (1 - RELATIVE_ERROR));
  return { alpha, minChange, minTail, designEffect, percentiles, ciAlpha, ratio };
}

function valueChange(a: number | null, b: number | null): ValueChange {
  if (a === null || b === null || Number.isNaN(a) || Number.isNaN(b)) {
    return {
      a: a !== null && !Number.isNaN(a) ? a : null,
      b: b !== null && !Number.isNaN(b) ? b : null,
      change: null,
      relative: null,
    };
  }
  return { a, b, change: b - a, relative: a !== 0 ? (b - a) / a : null };
}

export function percentileLabel(q: number): string {
  return `p${q}`;
}

/** The confidence interval (ns) of `h`'s q-quantile, or null when too few samples lie beyond it. */
function interval(h: Histogram, q: number, r: Resolved): [number, number] | null {
  const n = h.count;
  const f = q / 100;
  if (n * (1 - f) < r.minTail || n * f < r.minTail) return null;
  const ne = Math.max(1, Math.floor(n / r.designEffect));
  let [lo, hi] = quantileRankInterval(ne, f, r.ciAlpha);
  if (lo < 1 || hi > ne) return null;
  if (ne !== n) {
    lo = Math.max(1, Math.floor((lo * n) / ne));
    hi = Math.min(n, Math.ceil((hi * n) / ne));
  }
  const lowValue = Math.max(h.min, bucketLow(h.bucketAtRank(lo)));
  const highValue = Math.min(h.max, bucketHigh(h.bucketAtRank(hi)));
  return [lowValue, highValue];
}

/** Compares histogram `b` (current) against `a` (baseline). */
export function compareHistograms(a: Histogram, b: Histogram, options?: CompareOptions): HistogramComparison {
  const r = resolve(options);
  return compareResolved(a, b, r);
}

function compareResolved(a: Histogram, b: Histogram, r: Resolved): HistogramComparison {
  const pa = a.percentiles(r.percentiles);
  const pb = b.percentiles(r.percentiles);
  const percentiles = r.percentiles.map((q, i): PercentileComparison => {
    const vc = valueChange(a.count > 0 ? pa[i] : null, b.count > 0 ? pb[i] : null);
    const ia = a.count > 0 ? interval(a, q, r) : null;
    const ib = b.count > 0 ? interval(b, q, r) : null;
    let verdict: Verdict = 'no significant change';
    const insufficient = ia === null || ib === null;
    if (!insufficient && vc.a !== null && vc.b !== null) {
      if (ib[0] > ia[1] && vc.b >= vc.a * r.ratio) verdict = 'regressed';
      else if (ib[1] < ia[0] && vc.a >= vc.b * r.ratio) verdict = 'improved';
    }
    return { q, label: percentileLabel(q), ...vc, aInterval: ia, bInterval: ib, verdict, insufficient };
  });
  return {
    count: valueChange(a.count, b.count),
    percentiles,
    max: valueChange(a.count > 0 ? a.max : null, b.count > 0 ? b.max : null),
    ks: ksTest(a, b),
  };
}

const EMPTY = new Histogram();

/** An analysis whose two sides are not grouped alike (by field, or grouped on one side only): totals only. */
export interface GroupMismatch {
  analysis: string;
  /** The baseline's grouping field, null when it has no groups. */
  a: string | null;
  b: string | null;
}

/**
 * Compares every analysis of `b` (current) against `a` (baseline): for each analysis present in either, its total
 * row, then one row per group value present in either (a missing side counts as empty), then the overflow group
 * when either side has one. Rows come in `a`'s order, then what only `b` has.
 *
 * Groups are compared only when both sides are grouped by the same field: otherwise every group would read as
 * appearing from nothing (count 0 → N). Then only the totals are compared, and each analysis where that happened is
 * named once in `notes` (when given), for the caller to say so.
 */
export function compareProfiles(
  a: Profile,
  b: Profile,
  options?: CompareOptions,
  notes?: GroupMismatch[],
): CompareRow[] {
  const r = resolve(options);
  const rows: CompareRow[] = [];
  const names = [...a.analyses.keys()];
  for (const n of b.analyses.keys()) if (!a.analyses.has(n)) names.push(n);
  for (const name of names) {
    const pa = a.analyses.get(name);
    const pb = b.analyses.get(name);
    rows.push({
      analysis: name,
      groupBy: null,
      group: null,
      ...compareResolved(pa?.histogram ?? EMPTY, pb?.histogram ?? EMPTY, r),
    });
    const groupBy = pa?.groupBy ?? pb?.groupBy ?? null;
    const ga = pa?.groups ?? null;
    const gb = pb?.groups ?? null;
    if (groupBy === null || (ga === null && gb === null)) continue;
    if (pa !== undefined && pb !== undefined && (ga === null || gb === null || pa.groupBy !== pb.groupBy)) {
      notes?.push({ analysis: name, a: ga === null ? null : pa.groupBy, b: gb === null ? null : pb.groupBy });
      continue;
    }
    const byKey = (g: typeof ga): Map<string, Histogram> => {
      const m = new Map<string, Histogram>();
      if (g !== null) for (const [k, h] of g.entries()) m.set(String(k), h);
      return m;
    };
    const ma = byKey(ga);
    const mb = byKey(gb);
    const keys = [...ma.keys()];
    for (const k of mb.keys()) if (!ma.has(k)) keys.push(k);
    for (const k of keys) {
      rows.push({
        analysis: name,
        groupBy,
        group: k,
        ...compareResolved(ma.get(k) ?? EMPTY, mb.get(k) ?? EMPTY, r),
      });
    }
    const oa = ga?.overflow ?? EMPTY;
    const ob = gb?.overflow ?? EMPTY;
    if (oa.count > 0 || ob.count > 0) {
      rows.push({ analysis: name, groupBy, group: OVERFLOW_GROUP, ...compareResolved(oa, ob, r) });
    }
  }
  return rows;
}
