import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Dist, logNormal, mixture, pareto, sample } from '../../test/synthetic.ts';
import { compareHistograms, compareProfiles, type Verdict } from './compare.ts';
import { HistogramGroups, OVERFLOW_GROUP } from './groups.ts';
import { Histogram, HistogramError } from './histogram.ts';
import { createProfile } from './profile.ts';
import { compareRowToJSON, formatNs, formatRelative, renderCompareTable } from './render.ts';

/** A latency-like distribution: log-normal body (97 %), Pareto tail (3 %): skewed, bimodal-ish, heavy-tailed. */
const LATENCY: Dist = mixture(0.97, logNormal(20_000, 0.7), pareto(100_000, 1.5));

function histOf(values: Iterable<number>): Histogram {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return h;
}

function verdicts(a: Histogram, b: Histogram): Record<string, Verdict> {
  const out: Record<string, Verdict> = {};
  for (const p of compareHistograms(a, b).percentiles) out[p.label] = p.verdict;
  return out;
}

const NO_CHANGE: Record<string, Verdict> = {
  p50: 'no significant change',
  p90: 'no significant change',
  p99: 'no significant change',
  'p99.9': 'no significant change',
};

describe('compare: verdicts', () => {
  test('the two halves of one steady distribution: no significant change on every percentile', () => {
    const all = sample(LATENCY, 400_000, 1);
    const a = histOf(all.subarray(0, 200_000));
    const b = histOf(all.subarray(200_000));
    const r = compareHistograms(a, b);
    assert.deepEqual(verdicts(a, b), NO_CHANGE);
    assert.ok(
      r.percentiles.every((p) => !p.insufficient),
      'every percentile, p99.9 included, was actually tested',
    );
  });

  test('latencies shifted +20 % in the tail only: regressed at p99, unchanged at p50 and p90', () => {
    const base = sample(LATENCY, 200_000, 2);
    const a = histOf(base);
    const p98 = a.percentile(98);
    // The same input with every latency above the 98th percentile 20 % slower.
    const same = histOf(base.map((v) => (v > p98 ? Math.round(v * 1.2) : v)));
    const v1 = verdicts(a, same);
    assert.equal(v1.p99, 'regressed');
    assert.equal(v1.p50, 'no significant change');
    assert.equal(v1.p90, 'no significant change');
    // And an independent sample of the same workload, tail-shifted: still caught at p99.
    const other = histOf(sample(LATENCY, 200_000, 3).map((v) => (v > p98 ? Math.round(v * 1.2) : v)));
    const v2 = verdicts(a, other);
    assert.equal(v2.p99, 'regressed');
    assert.equal(v2.p50, 'no significant change');
    // The reverse direction is an improvement.
    assert.equal(verdicts(other, a).p99, 'improved');
    const r = compareHistograms(a, same).percentiles[2];
    assert.ok(r.relative !== null && Math.abs(r.relative - 0.2) < 0.01, `relative change ${r.relative}`);
    assert.ok(r.aInterval !== null && r.bInterval !== null && r.bInterval[0] > r.aInterval[1]);
  });

  test('pure noise: no false alarm in at least 95 of 100 seeded resamples', () => {
    let alarms = 0;
    for (let t = 0; t < 100; t++) {
      const a = histOf(sample(LATENCY, 20_000, 1000 + 2 * t));
      const b = histOf(sample(LATENCY, 20_000, 1001 + 2 * t));
      if (compareHistograms(a, b).percentiles.some((p) => p.verdict !== 'no significant change')) alarms++;
    }
    assert.ok(alarms <= 5, `${alarms} false alarms in 100 trials`);
  });

  test('a whole-distribution shift below the practical floor is not a regression, though KS sees it', () => {
    const base = sample(LATENCY, 1_000_000, 4);
    const a = histOf(base);
    const b = histOf(base.map((v) => Math.round(v * 1.03)));
    assert.deepEqual(verdicts(a, b), NO_CHANGE);
    const ks = compareHistograms(a, b).ks!;
    assert.ok(ks.pValue < 1e-6, 'statistically significant, practically not');
    // 10 % everywhere is a regression from p50 to p99; at p99.9 of a Pareto(1.5) tail, 1000 samples beyond it
    // leave an interval too wide to confirm 10 % (the test is honest about the far tail, not blind to it).
    const c = histOf(base.map((v) => Math.round(v * 1.1)));
    assert.deepEqual(Object.values(verdicts(a, c)), ['regressed', 'regressed', 'regressed', 'no significant change']);
    const d = histOf(base.map((v) => Math.round(v * 1.3)));
    assert.equal(verdicts(a, d)['p99.9'], 'regressed');
  });

  test('too few samples beyond a percentile: insufficient, never a verdict', () => {
    const a = histOf(sample(LATENCY, 5_000, 5));
    const b = histOf(sample(LATENCY, 5_000, 6).map((v) => v * 3));
    const r = compareHistograms(a, b);
    const p999 = r.percentiles[3];
    assert.equal(p999.insufficient, true, 'p99.9 of 5000 has 5 samples beyond it (< 10)');
    assert.equal(p999.verdict, 'no significant change');
    assert.equal(p999.aInterval, null);
    assert.equal(r.percentiles[0].verdict, 'regressed', 'p50 of 5000 is tested, and x3 is caught');
  });

  test('an empty side: values null, nothing tested', () => {
    const a = histOf([1, 2, 3]);
    const r = compareHistograms(a, new Histogram());
    assert.deepEqual(r.count, { a: 3, b: 0, change: -3, relative: -1 });
    assert.equal(r.percentiles[0].b, null);
    assert.equal(r.percentiles[0].change, null);
    assert.equal(r.max.b, null);
    assert.equal(r.ks, null);
    assert.ok(r.percentiles.every((p) => p.insufficient && p.verdict === 'no significant change'));
  });

  test('options are validated', () => {
    const h = histOf([1]);
    assert.throws(() => compareHistograms(h, h, { alpha: 0 }), HistogramError);
    assert.throws(() => compareHistograms(h, h, { minChange: -1 }), HistogramError);
    assert.throws(() => compareHistograms(h, h, { percentiles: [100] }), HistogramError);
    assert.throws(() => compareHistograms(h, h, { designEffect: 0.5 }), HistogramError);
    assert.throws(() => compareHistograms(h, h, { minTail: 0 }), HistogramError);
  });

  test('designEffect widens the intervals (autocorrelated samples)', () => {
    const a = histOf(sample(LATENCY, 50_000, 7));
    const b = histOf(sample(LATENCY, 50_000, 8));
    const w = (d: number) => {
      const p = compareHistograms(a, b, { designEffect: d }).percentiles[1];
      return p.aInterval![1] - p.aInterval![0];
    };
    assert.ok(w(4) > 1.5 * w(1), `${w(4)} vs ${w(1)}`);
  });
});

describe('compare: profiles and output', () => {
  function profileWith(seed: number, scaleRead: number) {
    const p = createProfile({ host: `h${seed}`, window: '5m' });
    const groups = new HistogramGroups<string>({ limit: 2 });
    const all = new Histogram();
    const rec = (k: string, v: number) => {
      groups.record(k, v);
      all.record(v);
    };
    for (const v of sample(LATENCY, 50_000, seed)) rec('read', Math.round(v * scaleRead));
    for (const v of sample(LATENCY, 50_000, seed + 1)) rec('write', v);
    for (const v of sample(LATENCY, 100, seed + 2)) rec(seed === 10 ? 'futex' : 'openat', v);
    p.analyses.set('syscall', { histogram: all, groupBy: 'syscall', groups });
    return p;
  }

  test('rows per analysis, per group (union of both sides) and for the overflow group', () => {
    const a = profileWith(10, 1);
    const b = profileWith(20, 1.5);
    b.analyses.set('irq', { histogram: histOf([5000, 6000]), groupBy: null, groups: null });
    const rows = compareProfiles(a, b);
    assert.deepEqual(
      rows.map((r) => [r.analysis, r.group]),
      [
        ['syscall', null],
        ['syscall', 'read'],
        ['syscall', 'write'],
        ['syscall', OVERFLOW_GROUP],
        ['irq', null],
      ],
    );
    const read = rows[1];
    assert.equal(read.percentiles[0].verdict, 'regressed');
    assert.equal(rows[2].percentiles[0].verdict, 'no significant change');
    assert.equal(rows[4].count.a, 0);
  });

  test('text table under 80 columns; JSON rows with the contract field names', () => {
    const rows = compareProfiles(profileWith(10, 1), profileWith(20, 1.5));
    const text = renderCompareTable(rows);
    for (const line of text.split('\n')) assert.ok(line.length < 80, `${line.length}: ${line}`);
    assert.match(text, /^syscall\n/);
    assert.match(text, /syscall \[syscall=read\]/);
    assert.match(text, /p50 .* REGRESSED/);
    assert.match(text, /whole distribution: KS D=/);
    const j = compareRowToJSON(rows[1]);
    assert.deepEqual(Object.keys(j), [
      'type',
      'analysis',
      'group_by',
      'group',
      'count',
      'p50_ns',
      'p90_ns',
      'p99_ns',
      'p999_ns',
      'max_ns',
      'ks',
    ]);
    assert.equal((j.p50_ns as { verdict: string }).verdict, 'regressed');
    assert.doesNotThrow(() => JSON.stringify(j));
  });

  test('formatting helpers', () => {
    assert.equal(formatNs(850), '850ns');
    assert.equal(formatNs(1200), '1.20us');
    assert.equal(formatNs(999_700), '1.00ms');
    assert.equal(formatNs(410_000), '410us');
    assert.equal(formatNs(3_010_037_347), '3.01s');
    assert.equal(formatNs(3_600_000_000_000), '3600s');
    assert.equal(formatNs(null), '-');
    assert.equal(formatRelative(0.268), '+26.8%');
    assert.equal(formatRelative(-0.169), '-16.9%');
    assert.equal(formatRelative(null), '-');
  });
});
