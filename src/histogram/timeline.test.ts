import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COARSE_BUCKETS, coarseBounds, coarseIndex, Timeline } from './timeline.ts';

describe('timeline', () => {
  it('coarse buckets hold their values: 8 per power of two', () => {
    for (const v of [1, 2, 3, 1000, 1_234_567, 3.6e12]) {
      const [lo, hi] = coarseBounds(coarseIndex(v));
      // The fine layout reports a bucket's middle (within 0.4 %): the coarse bucket holds that value.
      assert.ok(v >= lo * 0.99 && v <= hi * 1.01, `${v} in [${lo}, ${hi})`);
    }
    assert.equal(coarseIndex(0), 0);
    assert.ok(coarseIndex(1e15) < COARSE_BUCKETS);
  });

  it('bins double as time goes on: never more than twice maxBins, counts and maxima exact', () => {
    const t = new Timeline(10, 1000);
    let n = 0;
    for (let ts = 5000; ts < 1_000_000; ts += 7) {
      t.record((ts % 1000) + 1, ts);
      n++;
    }
    assert.ok(t.bins <= 20);
    assert.ok(t.binNs > 1000 && Number.isInteger(Math.log2(t.binNs / 1000)));
    let sum = 0;
    let max = 0;
    for (let k = 0; k < t.bins; k++) {
      sum += t.count(k);
      max = Math.max(max, t.maxOf(k));
    }
    assert.equal(sum, n);
    assert.equal(max, 1000);
    const cells = t.cells();
    let cellSum = 0;
    for (let i = 2; i < cells.length; i += 3) cellSum += cells[i];
    assert.equal(cellSum, n);
  });

  it('percentiles per bin from the coarse buckets', () => {
    const t = new Timeline(4, 1e9);
    for (let i = 1; i <= 1000; i++) t.record(i * 1000, 0);
    const p50 = t.percentile(0, 50) as number;
    const p99 = t.percentile(0, 99) as number;
    assert.ok(Math.abs(p50 - 500_000) / 500_000 < 0.05, `p50 ${p50}`);
    assert.ok(Math.abs(p99 - 990_000) / 990_000 < 0.05, `p99 ${p99}`);
    assert.equal(t.percentile(1, 50), null);
    t.record(5, -1);
    assert.equal(t.late, 1);
  });
});
