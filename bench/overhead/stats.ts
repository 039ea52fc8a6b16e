/** Order statistics for the overhead experiment (pure; no I/O). */

/** The q-quantile (0..1) of `xs` by linear interpolation between order statistics (type 7, R's default). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return s[lo] + (s[hi] - s[lo]) * (h - lo);
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

export interface Spread {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
}

export function spread(xs: readonly number[]): Spread {
  return {
    median: median(xs),
    min: xs.length === 0 ? Number.NaN : Math.min(...xs),
    max: xs.length === 0 ? Number.NaN : Math.max(...xs),
    q1: quantile(xs, 0.25),
    q3: quantile(xs, 0.75),
  };
}

/** Throughput lost versus the baseline, in percent of the baseline (positive = slower). */
export function overheadPct(baseline: number, value: number): number {
  return (1 - value / baseline) * 100;
}
