/**
 * The latency histogram: log-linear buckets from 1 ns to 1 h (layout in `layout.ts`, relative error ≤ 1/256), with the
 * exact count, min, max and sum kept beside the buckets.
 *
 * - `record(ns)` is a few integer operations on a `Float64Array` and a handful of fields: no allocation, no BigInt,
 *   never throws. NaN, negative and infinite values are counted in `dropped` and otherwise ignored.
 * - Values in [0, 1) land in bucket 0 and values beyond 1 h in the overflow bucket (percentiles among them read 0
 *   and ~1 h; see `layout.ts`), but `min`, `max` and `sum` always hold the exact values given.
 * - Counts are float64: exact up to 2^53 per bucket and in total (never reached: 104 days at 1 G records/s).
 * - `sum` is kept as `sumHi * 2^32 + sumLo` with `sumLo < 2^52`: every addition of an integer value is exact, so the
 *   sum of integer nanoseconds is exact up to 2^85 (`sumBigInt()`); the `sum` getter rounds to the nearest double
 *   once it passes 2^53 (104 days of accumulated latency). Fractional inputs are summed as doubles.
 * - Owns its bucket array; `counts` is exposed read-only for exporters (JSON, HdrHistogram, Prometheus, compare).
 */
import {
  BUCKETS,
  bucketIndex,
  bucketValue,
  HIGHEST_NS,
  nearestRank,
  OVER_BUCKET,
  OVER_NS,
  SIGNIFICANT_DIGITS,
  SUB_BITS,
} from './layout.ts';

/** A bad argument outside the recording path (a percentile out of 0..100, a bad limit, a bad count). */
export class HistogramError extends Error {
  override name = 'HistogramError';
}

/** Serialized data (JSON form, HdrHistogram base64, profile file) that cannot be read; the message says where. */
export class HistogramFormatError extends Error {
  override name = 'HistogramFormatError';
}

const TWO32 = 4294967296;
/** `sumLo` is carried into `sumHi` once it reaches 2^52, so `sumLo + v` (v < 2^32) is always exact. */
const SUM_SPILL = 2 ** 52;

function checkQuantile(q: number): void {
  if (typeof q !== 'number' || !(q >= 0 && q <= 100)) {
    throw new HistogramError(`percentile must be a number in 0..100, got ${String(q)}`);
  }
}

export class Histogram {
  /** Count per bucket, by index (see `layout.ts`). Owned by the histogram: read it, never write it. */
  readonly counts: Float64Array = new Float64Array(BUCKETS);
  private n = 0;
  private minV = Number.POSITIVE_INFINITY;
  private maxV = Number.NEGATIVE_INFINITY;
  private sumHi = 0;
  private sumLo = 0;
  private nDropped = 0;

  /** Values recorded (not counting dropped ones). */
  get count(): number {
    return this.n;
  }
  /** Smallest value recorded, exactly as given; NaN when empty. */
  get min(): number {
    return this.n === 0 ? Number.NaN : this.minV;
  }
  /** Largest value recorded, exactly as given (even above 1 h); NaN when empty. */
  get max(): number {
    return this.n === 0 ? Number.NaN : this.maxV;
  }
  /** Sum of the values recorded: exact while below 2^53 (for integer values); see `sumBigInt`. */
  get sum(): number {
    return this.sumHi * TWO32 + this.sumLo;
  }
  /** Mean value; NaN when empty. */
  get mean(): number {
    return this.n === 0 ? Number.NaN : this.sum / this.n;
  }
  /** NaN, negative and infinite values given to `record` (counted, otherwise ignored). */
  get dropped(): number {
    return this.nDropped;
  }

  /** The exact sum of integer values (up to 2^85); a fractional part, if any value had one, is rounded. */
  sumBigInt(): bigint {
    return BigInt(this.sumHi) * 4294967296n + BigInt(Math.round(this.sumLo));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Recording path

  /** Records one value in ns. Never throws; see the module comment for NaN, negatives, and values out of range. */
  record(ns: number): void {
    if (ns >= 0 && ns < TWO32) {
      const m = 31 - Math.clz32(ns);
      const s = m > SUB_BITS ? m - SUB_BITS : 0;
      this.counts[(s << SUB_BITS) + (ns >>> s)]++;
      this.n++;
      if (ns < this.minV) this.minV = ns;
      if (ns > this.maxV) this.maxV = ns;
      const sum = this.sumLo + ns;
      if (sum < SUM_SPILL) this.sumLo = sum;
      else this.spill(sum);
      return;
    }
    this.recordSlow(ns);
  }

  /**
   * Records `times` occurrences of one value (imports, tests). A `times` that is not a positive safe integer counts
   * one `dropped`. The sum stays exact while `ns * times` is below 2^53.
   */
  recordN(ns: number, times: number): void {
    if (!(ns >= 0 && ns < Number.POSITIVE_INFINITY) || !Number.isSafeInteger(times) || times <= 0) {
      this.nDropped++;
      return;
    }
    this.counts[bucketIndex(ns)] += times;
    this.n += times;
    if (ns < this.minV) this.minV = ns;
    if (ns > this.maxV) this.maxV = ns;
    this.addSum(ns * times);
  }

  private recordSlow(ns: number): void {
    if (!(ns >= 0 && ns < Number.POSITIVE_INFINITY)) {
      this.nDropped++;
      return;
    }
    this.counts[bucketIndex(ns)]++;
    this.n++;
    if (ns < this.minV) this.minV = ns;
    if (ns > this.maxV) this.maxV = ns;
    this.addSum(ns);
  }

  /** Adds x ≥ 0 to the sum: exact for any integer-valued double (split at 2^32). */
  private addSum(x: number): void {
    if (x < TWO32) {
      this.sumLo += x;
    } else {
      const h = Math.floor(x / TWO32);
      this.sumHi += h;
      this.sumLo += x - h * TWO32;
    }
    if (this.sumLo >= SUM_SPILL) this.spill(this.sumLo);
  }

  private spill(sumLo: number): void {
    const h = Math.floor(sumLo / TWO32);
    this.sumHi += h;
    this.sumLo = sumLo - h * TWO32;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Whole-histogram operations

  /** Adds every count and statistic of `other` into this one. `other` is not changed. */
  merge(other: Histogram): this {
    if (other.n > 0) {
      const src = other.counts;
      const dst = this.counts;
      const end = bucketIndex(other.maxV);
      for (let i = bucketIndex(other.minV); i <= end; i++) dst[i] += src[i];
      this.n += other.n;
      if (other.minV < this.minV) this.minV = other.minV;
      if (other.maxV > this.maxV) this.maxV = other.maxV;
      this.sumHi += other.sumHi;
      this.addSum(other.sumLo);
    }
    this.nDropped += other.nDropped;
    return this;
  }

  /** Empties the histogram (keeps its memory). */
  reset(): this {
    if (this.n > 0) this.counts.fill(0, bucketIndex(this.minV), bucketIndex(this.maxV) + 1);
    this.n = 0;
    this.minV = Number.POSITIVE_INFINITY;
    this.maxV = Number.NEGATIVE_INFINITY;
    this.sumHi = 0;
    this.sumLo = 0;
    this.nDropped = 0;
    return this;
  }

  /** A new histogram with the same content. */
  clone(): Histogram {
    return new Histogram().merge(this);
  }

  /** Index of the lowest non-empty bucket; -1 when empty. */
  get lowIndex(): number {
    return this.n === 0 ? -1 : bucketIndex(this.minV);
  }
  /** Index of the highest non-empty bucket; -1 when empty. */
  get highIndex(): number {
    return this.n === 0 ? -1 : bucketIndex(this.maxV);
  }

  /** Index of the bucket holding the value of 1-based rank `r` (1..count) in sorted order; -1 when out of range. */
  bucketAtRank(r: number): number {
    if (!(r >= 1 && r <= this.n)) return -1;
    const c = this.counts;
    const end = bucketIndex(this.maxV);
    let cum = 0;
    for (let i = bucketIndex(this.minV); i <= end; i++) {
      cum += c[i];
      if (cum >= r) return i;
    }
    return end;
  }

  /**
   * The q-th percentile (q in 0..100) by nearest rank (`nearestRank` in layout.ts): the value of rank
   * `max(1, ceil(q/100 * count))`, read as its bucket's midpoint clamped to [min, max], so within 1/256 of the exact
   * value; rank 1 is `min` and rank `count` is `max`, exactly. NaN when empty. Throws `HistogramError` for a bad q.
   */
  percentile(q: number): number {
    checkQuantile(q);
    if (this.n === 0) return Number.NaN;
    return this.valueAtRank(nearestRank(q, this.n));
  }

  /** Several percentiles in one pass over the buckets; results in the order asked. */
  percentiles(qs: readonly number[]): number[] {
    for (const q of qs) checkQuantile(q);
    const out = new Array<number>(qs.length).fill(Number.NaN);
    if (this.n === 0) return out;
    const order = qs.map((_, i) => i).sort((a, b) => qs[a] - qs[b]);
    const c = this.counts;
    const end = bucketIndex(this.maxV);
    let i = bucketIndex(this.minV);
    let cum = c[i];
    for (const k of order) {
      const r = nearestRank(qs[k], this.n);
      if (r === 1) out[k] = this.minV;
      else if (r === this.n) out[k] = this.maxV;
      else {
        while (cum < r && i < end) cum += c[++i];
        out[k] = this.clampValue(i);
      }
    }
    return out;
  }

  /** Value of 1-based rank r (1..count): exact for the first and last rank, else the bucket value (see percentile). */
  valueAtRank(r: number): number {
    if (r <= 1) return this.minV;
    if (r >= this.n) return this.maxV;
    return this.clampValue(this.bucketAtRank(r));
  }

  private clampValue(i: number): number {
    const v = bucketValue(i);
    return Math.max(this.minV, Math.min(v, this.maxV));
  }

  /** Calls `fn(index, count)` for every non-empty bucket, in increasing order. */
  forEachBucket(fn: (index: number, count: number) => void): void {
    if (this.n === 0) return;
    const c = this.counts;
    const end = bucketIndex(this.maxV);
    for (let i = bucketIndex(this.minV); i <= end; i++) if (c[i] !== 0) fn(i, c[i]);
  }

  /** True when both histograms hold the same buckets, count, min, max, sum and dropped. */
  equals(o: Histogram): boolean {
    if (this.n !== o.n || this.nDropped !== o.nDropped) return false;
    if (this.n > 0 && (this.minV !== o.minV || this.maxV !== o.maxV)) return false;
    const [ah, al] = this.sumParts();
    const [bh, bl] = o.sumParts();
    if (ah !== bh || al !== bl) return false;
    const a = this.counts;
    const b = o.counts;
    for (let i = 0; i < BUCKETS; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /**
   * @internal Adds totals decoded from a serialized form whose bucket counts the caller has already added to
   * `counts` (JSON, window snapshots). Not for general use: the totals must match the buckets.
   */
  addTotals(count: number, min: number, max: number, sumHi: number, sumLo: number, dropped: number): void {
    if (count > 0) {
      this.n += count;
      if (min < this.minV) this.minV = min;
      if (max > this.maxV) this.maxV = max;
      this.sumHi += sumHi;
      this.addSum(sumLo);
    }
    this.nDropped += dropped;
  }

  /** @internal The sum as its exact parts `[hi, lo]`, sum = hi * 2^32 + lo, normalized so that 0 <= lo < 2^32. */
  sumParts(): [number, number] {
    const h = Math.floor(this.sumLo / TWO32);
    return [this.sumHi + h, this.sumLo - h * TWO32];
  }
}

/** Facts about the layout, for documentation and `/api`: what a histogram can hold and how precisely. */
export const HISTOGRAM_LAYOUT = {
  buckets: BUCKETS,
  overBucket: OVER_BUCKET,
  overNs: OVER_NS,
  highestNs: HIGHEST_NS,
  significantDigits: SIGNIFICANT_DIGITS,
  relativeError: 1 / 256,
} as const;
