import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../test/synthetic.ts';
import { Histogram } from './histogram.ts';
import { ksTest, normalCdf, normalQuantile, quantileRankInterval } from './stats.ts';

describe('normal distribution', () => {
  test('CDF and quantile at known points', () => {
    assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
    assert.ok(Math.abs(normalCdf(1.959963985) - 0.975) < 1e-7);
    assert.ok(Math.abs(normalCdf(-2.575829304) - 0.005) < 1e-7);
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
    assert.ok(Math.abs(normalQuantile(0.995) - 2.575829) < 1e-5);
    assert.ok(Math.abs(normalQuantile(0.5)) < 1e-6);
    assert.throws(() => normalQuantile(1), RangeError);
  });
});

describe('order-statistic confidence intervals for quantiles', () => {
  test('known exact values (median of 1000, 95 %)', () => {
    // Binomial(1000, 0.5): P(B <= 468) = 0.0231, P(B <= 469) = 0.0268 -> lo = 469; symmetric hi = 532.
    assert.deepEqual(quantileRankInterval(1000, 0.5, 0.05), [469, 532]);
    // Far tail with few samples beyond: no upper bound.
    assert.deepEqual(quantileRankInterval(1000, 0.999, 0.05)[1], 1001);
    assert.deepEqual(quantileRankInterval(10, 0.5, 0.05), [2, 9]);
  });

  test('exact and normal branches agree where they meet', () => {
    // n * (1 - q) = 500 (exact) vs 501 (normal): same interval shifted by one sample.
    const [a0, a1] = quantileRankInterval(500_000, 0.999, 0.05);
    const [b0, b1] = quantileRankInterval(501_000, 0.999, 0.05);
    assert.ok(Math.abs(b0 - a0 - 999) <= 2 && Math.abs(b1 - a1 - 999) <= 2, `${[a0, a1]} vs ${[b0, b1]}`);
    const [c0, c1] = quantileRankInterval(1000, 0.4, 0.05); // exact, lower side
    const [d0, d1] = quantileRankInterval(1000, 0.6, 0.05); // exact, mirrored
    assert.deepEqual([c0, c1], [1001 - d1, 1001 - d0]);
  });

  test('coverage: the interval holds the true quantile at least 1 - alpha of the time (seeded simulation)', () => {
    const r = new Rng(3);
    for (const [n, q] of [
      [200, 0.5],
      [2000, 0.99],
      [20_000, 0.999],
    ] as [number, number][]) {
      const [lo, hi] = quantileRankInterval(n, q, 0.05);
      let covered = 0;
      const trials = 400;
      const x = new Float64Array(n);
      for (let t = 0; t < trials; t++) {
        for (let i = 0; i < n; i++) x[i] = r.next(); // uniform: the true q-quantile is q
        x.sort();
        if (x[lo - 1] <= q && q <= x[hi - 1]) covered++;
      }
      assert.ok(covered / trials >= 0.93, `n=${n} q=${q}: coverage ${covered / trials}`);
    }
  });
});

describe('two-sample Kolmogorov–Smirnov on histograms', () => {
  test('same vs shifted distributions', () => {
    const r = new Rng(8);
    const a = new Histogram();
    const b = new Histogram();
    const c = new Histogram();
    for (let i = 0; i < 20_000; i++) {
      a.record(1000 + r.next() * 1000);
      b.record(1000 + r.next() * 1000);
      c.record(1100 + r.next() * 1000);
    }
    const same = ksTest(a, b)!;
    const shifted = ksTest(a, c)!;
    assert.ok(same.pValue > 0.01, `same: ${JSON.stringify(same)}`);
    assert.ok(Math.abs(shifted.d - 0.1) < 0.02 && shifted.pValue < 1e-6, JSON.stringify(shifted));
    assert.equal(ksTest(a, new Histogram()), null);
  });
});
