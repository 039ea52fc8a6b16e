import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { logNormal, pareto, sample } from '../../test/synthetic.ts';
import { Histogram, HistogramError } from './histogram.ts';
import { HIGHEST_NS } from './layout.ts';
import {
  formatLe,
  formatPrometheusHistogram,
  nsToSecondsString,
  PROMETHEUS_LE_SECONDS,
  prometheusBuckets,
} from './prometheus.ts';

describe('Prometheus buckets', () => {
  test('the ladder: 1-2-5 from 1 us to 1000 s, then 2000 s and 1 h', () => {
    assert.equal(PROMETHEUS_LE_SECONDS.length, 30);
    assert.equal(PROMETHEUS_LE_SECONDS[0], 1e-6);
    assert.equal(PROMETHEUS_LE_SECONDS.at(-1), 3600);
    assert.deepEqual(PROMETHEUS_LE_SECONDS.map(formatLe).slice(0, 4), ['0.000001', '0.000002', '0.000005', '0.00001']);
  });

  test('cumulative, monotone, +Inf = _count, exact _sum; close to the exact share below each bound', () => {
    const h = new Histogram();
    const v = [...sample(logNormal(50_000, 2.5), 100_000, 31), ...sample(pareto(1e8, 0.8), 1000, 32)];
    for (const x of v) h.record(x);
    h.record(2 * HIGHEST_NS);
    v.push(2 * HIGHEST_NS);
    const p = prometheusBuckets(h);
    assert.equal(p.le.length, 31);
    assert.equal(p.le.at(-1), Number.POSITIVE_INFINITY);
    for (let i = 1; i < p.cumulative.length; i++) assert.ok(p.cumulative[i] >= p.cumulative[i - 1]);
    assert.equal(p.cumulative.at(-1), h.count);
    assert.equal(p.count, v.length);
    let sum = 0n;
    for (const x of v) sum += BigInt(x);
    assert.equal(p.sum, nsToSecondsString(sum));
    // Each cumulative count is the exact count of values <= le, give or take values within 0.4 % of le.
    for (let k = 0; k < p.le.length - 1; k++) {
      const le = p.le[k] * 1e9;
      const below = v.filter((x) => x <= le * (1 - 1 / 256)).length;
      const upTo = v.filter((x) => x <= le * (1 + 1 / 256)).length;
      assert.ok(p.cumulative[k] >= below && p.cumulative[k] <= upTo, `le=${p.le[k]}: ${p.cumulative[k]}`);
    }
    // Values beyond 1 h count only in +Inf.
    assert.equal(p.cumulative.at(-1)! - p.cumulative.at(-2)!, v.filter((x) => x > 3600e9).length);
  });

  test('text lines: labels escaped, exact _sum, golden output', () => {
    const h = new Histogram();
    h.record(1500); // 1.5 us
    h.record(1500);
    h.record(3_000_000_000); // 3 s
    const text = formatPrometheusHistogram(
      'latency_seconds',
      { analysis: 'syscall', comm: 'a"b\\c' },
      prometheusBuckets(h),
    );
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 33);
    assert.equal(lines[0], 'latency_seconds_bucket{analysis="syscall",comm="a\\"b\\\\c",le="0.000001"} 0');
    assert.equal(lines[1], 'latency_seconds_bucket{analysis="syscall",comm="a\\"b\\\\c",le="0.000002"} 2');
    assert.equal(lines[19], 'latency_seconds_bucket{analysis="syscall",comm="a\\"b\\\\c",le="2"} 2');
    assert.equal(lines[20], 'latency_seconds_bucket{analysis="syscall",comm="a\\"b\\\\c",le="5"} 3');
    assert.equal(lines[30], 'latency_seconds_bucket{analysis="syscall",comm="a\\"b\\\\c",le="+Inf"} 3');
    assert.equal(lines[31], 'latency_seconds_sum{analysis="syscall",comm="a\\"b\\\\c"} 3.000003');
    assert.equal(lines[32], 'latency_seconds_count{analysis="syscall",comm="a\\"b\\\\c"} 3');
    assert.equal(formatPrometheusHistogram('x', {}, prometheusBuckets(new Histogram())).split('\n').at(-3), 'x_sum 0');
  });

  test('custom ladders are validated; bad names throw', () => {
    const h = new Histogram();
    h.record(5e6);
    assert.deepEqual(prometheusBuckets(h, [0.001, 0.01]).cumulative, [0, 1, 1]);
    assert.throws(() => prometheusBuckets(h, [0.01, 0.001]), HistogramError);
    assert.throws(() => prometheusBuckets(h, []), HistogramError);
    assert.throws(() => formatPrometheusHistogram('bad-name', {}, prometheusBuckets(h)), HistogramError);
    assert.throws(() => formatPrometheusHistogram('ok', { le: 'x' }, prometheusBuckets(h)), HistogramError);
  });

  test('nsToSecondsString is exact', () => {
    assert.equal(nsToSecondsString(0n), '0');
    assert.equal(nsToSecondsString(1n), '0.000000001');
    assert.equal(nsToSecondsString(54759492482n), '54.759492482');
    assert.equal(nsToSecondsString(123456789012345678901n), '123456789012.345678901');
  });
});
