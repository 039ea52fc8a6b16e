import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { logNormal, pareto, sample } from '../../test/synthetic.ts';
import { Histogram, HistogramFormatError } from './histogram.ts';
import { histogramFromJSON, histogramToJSON, summaryFields } from './json.ts';
import { HIGHEST_NS } from './layout.ts';

function roundTrip(h: Histogram): Histogram {
  return histogramFromJSON(JSON.parse(JSON.stringify(histogramToJSON(h))));
}

describe('JSON form', () => {
  test('round trip is exact: buckets, count, min, max, sum, dropped', () => {
    const h = new Histogram();
    for (const v of sample(logNormal(30_000, 2), 100_000, 11)) h.record(v);
    for (const v of sample(pareto(1e6, 1.2), 1_000, 12)) h.record(v);
    h.record(0);
    h.record(7 * HIGHEST_NS);
    h.record(Number.NaN);
    const back = roundTrip(h);
    assert.ok(back.equals(h));
    assert.equal(back.sumBigInt(), h.sumBigInt());
    assert.equal(back.percentile(99.9), h.percentile(99.9));
  });

  test('empty, dropped-only, fractional and > 2^53 sums survive', () => {
    assert.ok(roundTrip(new Histogram()).equals(new Histogram()));
    const d = new Histogram();
    d.record(-5);
    assert.ok(roundTrip(d).equals(d));
    const f = new Histogram();
    f.record(1.25);
    f.record(1e6 + 0.5);
    assert.ok(roundTrip(f).equals(f));
    const big = new Histogram();
    for (let i = 0; i < 5000; i++) big.record(HIGHEST_NS - i);
    const j = histogramToJSON(big);
    assert.equal(typeof j.sum_ns, 'string', 'a sum beyond 2^53 is written as an exact decimal string');
    assert.equal(j.sum_ns, big.sumBigInt().toString());
    assert.ok(roundTrip(big).equals(big));
  });

  test('compact: runs of non-empty buckets, a single zero joins two runs', () => {
    const h = new Histogram();
    h.record(10);
    h.record(12);
    h.record(13);
    h.record(100);
    const j = histogramToJSON(h);
    assert.deepEqual(j.buckets, [
      [10, 1, 0, 1, 1],
      [100, 1],
    ]);
    assert.deepEqual(
      { version: j.version, count: j.count, min_ns: j.min_ns, max_ns: j.max_ns, sum_ns: j.sum_ns },
      { version: 1, count: 4, min_ns: 10, max_ns: 100, sum_ns: 135 },
    );
  });

  test('bad input: a HistogramFormatError naming the field', () => {
    const h = new Histogram();
    h.record(10);
    h.record(100);
    const good = histogramToJSON(h);
    const bad = (patch: Record<string, unknown>, re: RegExp) =>
      assert.throws(
        () => histogramFromJSON({ ...good, ...patch }, 'h'),
        (e: Error) => {
          assert.ok(e instanceof HistogramFormatError, e.message);
          assert.match(e.message, re);
          return true;
        },
      );
    bad({ version: 2 }, /h\.version: unsupported histogram version/);
    bad({ digits: 3 }, /layout differs/);
    bad({ count: 3 }, /h\.count: does not match the buckets' total 2/);
    bad({ count: -1 }, /h\.count: expected a non-negative integer/);
    bad({ min_ns: 50 }, /min_ns\/max_ns do not fall/);
    bad({ sum_ns: 'x' }, /h\.sum_ns/);
    bad(
      {
        buckets: [
          [100, 1],
          [10, 1],
        ],
      },
      /increasing order/,
    );
    bad({ buckets: [[10, 0, 1]] }, /cannot begin or end with 0/);
    bad({ buckets: [[5000, 1]] }, /end by bucket/);
    bad({ buckets: 'x' }, /h\.buckets: expected an array/);
    assert.throws(() => histogramFromJSON(null), /expected an object/);
    assert.throws(() => histogramFromJSON([1, 2]), /expected an object/);
  });
});

describe('summary fields (JSON Lines contract)', () => {
  test('contract names and order, exact count/min/max/sum, percentiles within 1/256', () => {
    const h = new Histogram();
    for (const v of [170, 1200, 1200, 9000, 410_000, 3_010_037_347]) h.record(v);
    const s = summaryFields(h);
    assert.deepEqual(Object.keys(s), [
      'count',
      'min_ns',
      'max_ns',
      'sum_ns',
      'mean_ns',
      'p50_ns',
      'p90_ns',
      'p99_ns',
      'p999_ns',
    ]);
    assert.equal(s.count, 6);
    assert.equal(s.min_ns, 170);
    assert.equal(s.max_ns, 3_010_037_347);
    assert.equal(s.sum_ns, 3_010_458_917);
    assert.ok(Math.abs(s.p50_ns! - 1200) <= 1200 / 256, `p50 ${s.p50_ns}`);
    assert.equal(s.p99_ns, 3_010_037_347);
    const e = summaryFields(new Histogram());
    assert.deepEqual([e.count, e.min_ns, e.sum_ns, e.p50_ns, e.mean_ns], [0, null, 0, null, null]);
    const big = new Histogram();
    for (let i = 0; i < 3000; i++) big.record(HIGHEST_NS);
    assert.equal(summaryFields(big).sum_ns, 3000n * BigInt(HIGHEST_NS));
  });
});
