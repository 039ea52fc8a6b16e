/**
 * Exact running statistics of matched pairs: count, min, max, sum. Bounded per-group tables with an overflow group.
 * (Percentiles come from the histograms of `src/histogram/`.)
 */

export class PairStats {
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;
  /** Exact while below 2^53 ns (104 days of summed latency); `sumOverflow` says when it no longer is. */
  sum = 0;
  add(v: number): void {
    this.count++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.sum += v;
  }
  get sumExact(): boolean {
    return this.sum <= Number.MAX_SAFE_INTEGER;
  }
}
