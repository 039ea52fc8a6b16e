import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import {
  type Dist,
  exactPercentile,
  logNormal,
  logUniform,
  mixture,
  pareto,
  sample,
  uniform,
} from '../../test/synthetic.ts';
import { Histogram, HistogramError } from './histogram.ts';
import {
  BUCKETS,
  bucketHigh,
  bucketIndex,
  bucketLow,
  bucketValue,
  HIGHEST_NS,
  HOUR_BUCKET,
  nearestRank,
  OVER_BUCKET,
  OVER_NS,
  RELATIVE_ERROR,
} from './layout.ts';

const QS = [0, 0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100];

function histOf(values: Float64Array): Histogram {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return h;
}

function relErr(est: number, exact: number): number {
  return exact === 0 ? Math.abs(est) : Math.abs(est - exact) / exact;
}

/** Checks every percentile against the exact nearest-rank value and returns the worst relative error. */
function checkPercentiles(values: Float64Array, qs = QS): number {
  const h = histOf(values);
  const sorted = Float64Array.from(values).sort();
  let worst = 0;
  const many = h.percentiles(qs);
  qs.forEach((q, i) => {
    const exact = exactPercentile(sorted, q);
    const est = h.percentile(q);
    assert.equal(many[i], est, `percentiles() and percentile() agree at p${q}`);
    const e = relErr(est, exact);
    assert.ok(e <= RELATIVE_ERROR * (1 + 1e-12), `p${q}: ${est} vs exact ${exact} (relative error ${e})`);
    worst = Math.max(worst, e);
  });
  assert.equal(h.count, values.length);
  assert.equal(h.min, sorted[0]);
  assert.equal(h.max, sorted[sorted.length - 1]);
  let sum = 0n;
  for (const v of values) sum += BigInt(v);
  assert.equal(h.sumBigInt(), sum);
  assert.equal(h.percentile(100), sorted[sorted.length - 1], 'p100 is the exact max');
  assert.equal(h.percentile(0), sorted[0], 'p0 is the exact min');
  return worst;
}

describe('layout', () => {
  test('every bucket maps back to itself and is at most 1/128 of its value wide', () => {
    assert.equal(BUCKETS, 4563);
    for (let i = 0; i < OVER_BUCKET; i++) {
      const lo = bucketLow(i);
      const hi = bucketHigh(i);
      assert.equal(bucketIndex(lo), i);
      assert.equal(bucketIndex(hi - 1), i);
      if (i > 0) assert.equal(bucketHigh(i - 1), lo, `bucket ${i} follows bucket ${i - 1}`);
      if (lo >= 256) assert.ok((hi - lo) / lo <= 1 / 128);
      const v = bucketValue(i);
      assert.ok(v >= lo && v < hi && Number.isInteger(v));
      assert.ok((v - lo) / Math.max(lo, 1) <= RELATIVE_ERROR && (hi - 1 - v) / Math.max(lo, 1) <= RELATIVE_ERROR);
    }
  });

  test('edge values: 0, fractions, powers of two, 1 h, above 1 h', () => {
    assert.equal(bucketIndex(0), 0);
    assert.equal(bucketIndex(0.999), 0);
    assert.equal(bucketIndex(1), 1);
    assert.equal(bucketIndex(255), 255);
    assert.equal(bucketIndex(256), 256);
    for (let k = 0; k <= 41; k++) {
      const v = 2 ** k;
      const i = bucketIndex(v);
      assert.equal(bucketLow(i), v, `2^${k} starts a bucket`);
      assert.equal(bucketIndex(v - 1), i - 1, `2^${k} - 1 is in the previous bucket`);
    }
    assert.equal(bucketIndex(HIGHEST_NS), HOUR_BUCKET);
    assert.ok(bucketLow(HOUR_BUCKET) <= HIGHEST_NS && HIGHEST_NS < bucketHigh(HOUR_BUCKET));
    assert.equal(bucketIndex(OVER_NS - 1), HOUR_BUCKET);
    assert.equal(bucketIndex(OVER_NS), OVER_BUCKET);
    assert.equal(bucketIndex(2 * HIGHEST_NS), OVER_BUCKET);
    assert.equal(bucketIndex(1e300), OVER_BUCKET);
    // The 2^32 boundary, where the index switches from 32-bit to float arithmetic.
    assert.equal(bucketIndex(2 ** 32 - 1) + 1, bucketIndex(2 ** 32));
  });

  test('nearest rank: ceil(q/100 * n), at least 1, free of float noise', () => {
    assert.equal(nearestRank(0, 10), 1);
    assert.equal(nearestRank(100, 10), 10);
    assert.equal(nearestRank(50, 10), 5);
    assert.equal(nearestRank(50, 11), 6);
    assert.equal(nearestRank(99.9, 1000), 999);
    assert.equal(nearestRank(99.9, 1001), 1000);
    assert.equal(nearestRank(99, 100), 99);
    assert.equal(nearestRank(0.1, 1), 1);
  });
});

describe('percentiles within 1/256 (< 1 %) of the exact nearest-rank value', () => {
  const cases: [string, Dist][] = [
    ['uniform 1 ns..1 ms', uniform(1, 1_000_000)],
    ['log-normal, median 20 us', logNormal(20_000, 1.5)],
    ['bimodal 2 us / 3 ms', mixture(0.7, logNormal(2_000, 0.3), logNormal(3_000_000, 0.5))],
    ['Pareto tail, alpha 1.1', pareto(5_000, 1.1)],
    ['log-uniform over the whole range 1 ns..1 h', logUniform(1, HIGHEST_NS)],
  ];
  for (const [name, dist] of cases) {
    test(name, () => {
      const worst = checkPercentiles(sample(dist, 200_000, 42));
      assert.ok(worst > 0 || name.startsWith('uniform'), 'the check compares something');
    });
  }

  test('small values are exact (1-ns buckets below 256 ns)', () => {
    const v = sample(uniform(0, 255), 10_000, 7);
    const h = histOf(v);
    const sorted = Float64Array.from(v).sort();
    for (const q of QS) assert.equal(h.percentile(q), exactPercentile(sorted, q));
  });

  test('edge values inside a histogram read back within 1/256', () => {
    const edges = [0, 1, 2, 3, 127, 128, 255, 256, 257, 1000, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40, HIGHEST_NS];
    for (let k = 0; k <= 41; k++) edges.push(2 ** k);
    for (const v of edges) {
      // v as the median of a histogram whose min and max are elsewhere, so the bucket (not min/max) answers.
      const h = new Histogram();
      h.record(0);
      h.recordN(v, 3);
      h.record(2 * OVER_NS);
      assert.ok(relErr(h.percentile(50), v) <= RELATIVE_ERROR, `median of ${v}: ${h.percentile(50)}`);
    }
  });

  test('values above 1 h: counted in the overflow bucket, exact max and sum', () => {
    const h = new Histogram();
    h.record(1000);
    h.record(2 * HIGHEST_NS);
    h.record(10 * HIGHEST_NS);
    assert.equal(h.count, 3);
    assert.equal(h.max, 10 * HIGHEST_NS);
    assert.equal(h.counts[OVER_BUCKET], 2);
    assert.equal(h.sumBigInt(), BigInt(1000 + 12 * HIGHEST_NS));
    assert.equal(h.percentile(100), 10 * HIGHEST_NS);
    // The middle one reads as the overflow bucket's value: at least 1 h, not its true 2 h.
    const p50 = h.percentile(50);
    assert.ok(p50 >= HIGHEST_NS && p50 < 1.01 * HIGHEST_NS, String(p50));
  });

  test('empty histogram: NaN statistics, zero count', () => {
    const h = new Histogram();
    assert.equal(h.count, 0);
    assert.ok(Number.isNaN(h.min) && Number.isNaN(h.max) && Number.isNaN(h.mean));
    assert.ok(Number.isNaN(h.percentile(50)));
    assert.deepEqual(h.percentiles([50, 99]).map(Number.isNaN), [true, true]);
    assert.equal(h.sum, 0);
  });

  test('bad percentile arguments throw HistogramError', () => {
    const h = new Histogram();
    assert.throws(() => h.percentile(-1), HistogramError);
    assert.throws(() => h.percentile(100.5), HistogramError);
    assert.throws(() => h.percentile(Number.NaN), HistogramError);
    assert.throws(() => h.percentiles([50, '99' as unknown as number]), HistogramError);
  });
});

describe('recording', () => {
  test('NaN, negative and infinite values are counted as dropped and never throw', () => {
    const h = new Histogram();
    for (const v of [Number.NaN, -1, -0.5, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) h.record(v);
    h.recordN(5, 0);
    h.recordN(5, 1.5);
    h.recordN(Number.NaN, 3);
    assert.equal(h.dropped, 8);
    assert.equal(h.count, 0);
    h.record(-0); // -0 >= 0: a zero latency
    assert.equal(h.count, 1);
    assert.equal(h.counts[0], 1);
  });

  test('fractions: counted in the bucket of their integer part, min/max/sum exact as given', () => {
    const h = new Histogram();
    h.record(0.25);
    h.record(1.5);
    h.record(1000.75);
    assert.equal(h.counts[0], 1);
    assert.equal(h.counts[1], 1);
    assert.equal(h.min, 0.25);
    assert.equal(h.max, 1000.75);
    assert.equal(h.sum, 1002.5);
  });

  test('sum stays exact beyond 2^53', () => {
    const h = new Histogram();
    const n = 3000;
    for (let i = 0; i < n; i++) h.record(HIGHEST_NS + 1);
    for (let i = 0; i < n; i++) h.record(4_294_967_295);
    const exact = BigInt(n) * BigInt(HIGHEST_NS + 1) + BigInt(n) * 4_294_967_295n;
    assert.ok(exact > 2n ** 53n);
    assert.equal(h.sumBigInt(), exact);
    assert.equal(h.sum, Number(exact));
    // Many small values crossing the carry boundary of the low accumulator.
    const g = new Histogram();
    const m = 1_100_000;
    for (let i = 0; i < m; i++) g.record(4_294_967_295);
    assert.equal(g.sumBigInt(), BigInt(m) * 4_294_967_295n);
  });
});

describe('merge, reset, equality', () => {
  test('merging N histograms equals the histogram of the concatenated input', () => {
    const parts = [
      sample(logNormal(5_000, 1), 50_000, 1),
      sample(pareto(100_000, 1.3), 20_000, 2),
      sample(uniform(0, 300), 5_000, 3),
      new Float64Array([2 * HIGHEST_NS, 0, 2 ** 32]),
      new Float64Array(0),
    ];
    const merged = new Histogram();
    for (const p of parts) merged.merge(histOf(p));
    const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    const direct = histOf(all);
    for (let i = 0; i < BUCKETS; i++) assert.equal(merged.counts[i], direct.counts[i], `bucket ${i}`);
    assert.equal(merged.count, direct.count);
    assert.equal(merged.min, direct.min);
    assert.equal(merged.max, direct.max);
    assert.equal(merged.sumBigInt(), direct.sumBigInt());
    assert.ok(merged.equals(direct));
    // Dropped counts merge too.
    const bad = new Histogram();
    bad.record(Number.NaN);
    merged.merge(bad);
    assert.equal(merged.dropped, 1);
    assert.ok(!merged.equals(direct));
  });

  test('reset empties; clone copies; equals notices a single count', () => {
    const h = histOf(sample(logNormal(1_000, 2), 10_000, 5));
    const c = h.clone();
    assert.ok(c.equals(h));
    c.record(123);
    assert.ok(!c.equals(h));
    h.reset();
    assert.ok(h.equals(new Histogram()));
    assert.equal(
      h.counts.reduce((a, b) => a + b, 0),
      0,
    );
  });

  test('bucketAtRank walks the CDF', () => {
    const h = new Histogram();
    h.recordN(10, 3);
    h.recordN(1000, 2);
    assert.equal(h.bucketAtRank(1), 10);
    assert.equal(h.bucketAtRank(3), 10);
    assert.equal(h.bucketAtRank(4), bucketIndex(1000));
    assert.equal(h.bucketAtRank(6), -1);
    assert.equal(h.bucketAtRank(0), -1);
  });
});

describe('no allocation on the recording path', () => {
  /** Garbage collections while `fn` runs: an allocation per call would cause dozens over millions of calls. */
  async function gcsDuring(fn: () => void): Promise<number> {
    let n = 0;
    const obs = new PerformanceObserver((list) => {
      n += list.getEntries().length;
    });
    obs.observe({ entryTypes: ['gc'] });
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 20));
    n = 0;
    fn();
    await new Promise((r) => setTimeout(r, 20));
    obs.disconnect();
    return n;
  }

  test('5 M records (small, large, out-of-range and invalid values) trigger no garbage collection', async () => {
    const h = new Histogram();
    const values = new Float64Array(4096);
    for (let i = 0; i < values.length; i++) values[i] = i % 97 === 0 ? 2 * HIGHEST_NS : ((i * 7919) % 1e7) + i * 1e6;
    values[5] = Number.NaN;
    values[6] = -1;
    const control = await gcsDuring(() => {
      const keep: unknown[] = [];
      for (let i = 0; i < 5_000_000; i++) {
        const o = { v: values[i & 4095] };
        if ((i & 0xfffff) === 0) keep.push(o);
      }
    });
    const n = await gcsDuring(() => {
      for (let i = 0; i < 5_000_000; i++) h.record(values[i & 4095]);
    });
    assert.ok(control > 20, `the probe sees allocation (${control} collections for an object per call)`);
    assert.ok(n <= 3, `${n} garbage collections while recording`);
    assert.equal(h.count + h.dropped, 5_000_000);
  });
});
