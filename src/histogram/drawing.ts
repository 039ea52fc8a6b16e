/**
 * A histogram regrouped for drawing (the dashboard and the report): four bins per power of two (each 19 % wide),
 * `[low_ns, high_ns, count]` for the non-empty ones, in increasing order.
 */
import type { Histogram } from './histogram.ts';
import { bucketValue } from './layout.ts';

export function drawingBuckets(h: Histogram): [number, number, number][] {
  const bins = new Map<number, number>();
  h.forEachBucket((i, c) => {
    const v = Math.max(1, bucketValue(i));
    const k = Math.floor(Math.log2(v) * 4);
    bins.set(k, (bins.get(k) ?? 0) + c);
  });
  return [...bins]
    .sort((a, b) => a[0] - b[0])
    .map(([k, c]) => [Math.round(2 ** (k / 4)), Math.round(2 ** ((k + 1) / 4)), c]);
}
