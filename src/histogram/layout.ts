/**
 * The bucket layout shared by every histogram in latency-tracker: log-linear, 1 ns to 1 h, relative error ≤ 1/256.
 *
 * It is exactly HdrHistogram's layout for `lowestDiscernibleValue = 1`, `highestTrackableValue = 3_600_000_000_000`
 * and `numberOfSignificantValueDigits = 2` (sub-bucket count 256, half count 128, unit magnitude 0), so bucket `i`
 * here is counts-array index `i` there: export to HdrHistogram's encoding is a re-encoding, not a re-binning.
 *
 * - Values 0..255 have one bucket each (width 1 ns).
 * - Above, every power-of-two range [2^m, 2^(m+1)) (m ≥ 8) is split into 128 equal buckets of width 2^(m-7): a
 *   bucket's width is at most 1/128 of its lower edge. A bucket is reported by its midpoint `lo + width/2`, which is
 *   within width/2 ≤ lo/256 of every value in it: relative error ≤ 1/256 ≈ 0.39 % (and exact below 256 ns).
 * - Out of range: values in [0, 1) count in bucket 0 (read as 0); values from `OVER_NS` (the end of the bucket that
 *   holds 1 h, 1 h + 0.22 %) up count in one overflow bucket, `OVER_BUCKET` (HdrHistogram's next bucket), read as
 *   ~1 h. Histograms keep the exact min, max and sum of such values beside the buckets.
 * - Index of v ≥ 0: with m = floor(log2 v) (from `Math.clz32`) and s = max(m - 7, 0), `i = s * 128 + floor(v / 2^s)`.
 *   Below 2^32 that is `(s << 7) + (v >>> s)`: a count-leading-zeros, a shift and an add.
 *
 * Pure functions and constants; no state.
 */

/** log2 of the sub-bucket half count: 128 buckets per power of two. */
export const SUB_BITS = 7;
/** Buckets per power of two above 256 ns. */
export const SUB_HALF = 1 << SUB_BITS;
/** HdrHistogram's sub-bucket count for this layout (two significant decimal digits). */
export const SUB_COUNT = 2 * SUB_HALF;
/** HdrHistogram's `numberOfSignificantValueDigits` for this layout. */
export const SIGNIFICANT_DIGITS = 2;
/** The lowest value told apart from 0 (HdrHistogram's `lowestDiscernibleValue`), ns. */
export const LOWEST_NS = 1;
/** 1 hour in ns: the highest trackable value (HdrHistogram's `highestTrackableValue`). */
export const HIGHEST_NS = 3_600_000_000_000;
/** Relative error bound of a reported value (bucket midpoint) against any value in its bucket. */
export const RELATIVE_ERROR = 1 / (2 * SUB_HALF);

const TWO32 = 4294967296;
/** 2^-s for s = 0..63 (exact powers of two: multiplying by them is exact). */
const POW2_NEG = new Float64Array(64);
for (let s = 0; s < 64; s++) POW2_NEG[s] = 2 ** -s;

const HOUR_M = Math.floor(Math.log2(HIGHEST_NS));
/** Index of the bucket holding 1 h: [3_590_592_659_456, 3_607_772_528_640). */
export const HOUR_BUCKET = ((HOUR_M - SUB_BITS) << SUB_BITS) + Math.floor(HIGHEST_NS * POW2_NEG[HOUR_M - SUB_BITS]);
/** Index of the overflow bucket: every value from `OVER_NS` up (HdrHistogram's next bucket after the 1-h one). */
export const OVER_BUCKET = HOUR_BUCKET + 1;
/** Values at or above this (the end of the 1-h bucket, 1 h + 0.22 %) are counted in `OVER_BUCKET`. */
export const OVER_NS = ((HOUR_BUCKET & (SUB_HALF - 1)) + SUB_HALF + 1) * 2 ** ((HOUR_BUCKET >> SUB_BITS) - 1);
/** Number of buckets: indices 0..OVER_BUCKET (4563). */
export const BUCKETS = OVER_BUCKET + 1;

/**
 * Bucket index of a value, for `0 <= v`: values in [0, 1) map to bucket 0, values ≥ `OVER_NS` to `OVER_BUCKET`.
 * The caller has checked `v >= 0` (NaN and negatives are not indexable).
 */
export function bucketIndex(v: number): number {
  if (v < TWO32) {
    const m = 31 - Math.clz32(v);
    const s = m > SUB_BITS ? m - SUB_BITS : 0;
    return (s << SUB_BITS) + (v >>> s);
  }
  if (v >= OVER_NS) return OVER_BUCKET;
  // 2^32 <= v < 2^42: the magnitude comes from the high 32 bits.
  const m = 63 - Math.clz32(Math.floor(v * POW2_NEG[32]));
  const s = m - SUB_BITS;
  return (s << SUB_BITS) + Math.floor(v * POW2_NEG[s]);
}

/** Lowest value of bucket `i` (inclusive), ns. */
export function bucketLow(i: number): number {
  if (i < SUB_COUNT) return i;
  const s = (i >> SUB_BITS) - 1;
  return ((i & (SUB_HALF - 1)) + SUB_HALF) * 2 ** s;
}

/** Width of bucket `i`, ns (1 below 256 ns). */
export function bucketWidth(i: number): number {
  return i < SUB_COUNT ? 1 : 2 ** ((i >> SUB_BITS) - 1);
}

/** Highest value of bucket `i` (exclusive), ns. */
export function bucketHigh(i: number): number {
  return bucketLow(i) + bucketWidth(i);
}

/**
 * The value that stands for bucket `i` in percentiles and exports: its midpoint `lo + width/2`, an integer (the
 * bucket itself for the 1-ns buckets). Within 1/256 of every value in the bucket.
 */
export function bucketValue(i: number): number {
  const w = bucketWidth(i);
  return bucketLow(i) + (w > 1 ? w / 2 : 0);
}

/**
 * The nearest-rank definition of "the q-th percentile" of n sorted values: the value of 1-based rank
 * `max(1, ceil(q/100 * n))`. q = 0 is the minimum, q = 100 the maximum. Floating-point noise below 2^-40 relative is
 * ignored, so that 99.9 % of 1000 is rank 999, not 1000.
 */
export function nearestRank(q: number, n: number): number {
  const x = (q / 100) * n;
  const r = Math.ceil(x * (1 - 2 ** -40));
  return Math.max(1, Math.min(r, n));
}
