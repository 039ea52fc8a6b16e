import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { logNormal, pareto, Rng } from '../../test/synthetic.ts';
import { Histogram, HistogramError } from './histogram.ts';
import { LatencyWindows, WINDOW_NAMES, WINDOWS, type WindowName } from './windows.ts';

const S = 1_000_000_000; // 1 s in ns

function counts(w: LatencyWindows): Record<WindowName, number> {
  return { '1m': w.window('1m').count, '5m': w.window('5m').count, '1h': w.window('1h').count };
}

describe('windows: exact aging with a hand-driven clock', () => {
  test('1m: a record leaves at the start of the 6th 10-s interval after its own, not one ns earlier', () => {
    const w = new LatencyWindows();
    w.record(100, 0); // interval 0, first ns
    w.record(200, 10 * S - 1); // interval 0, last ns
    w.record(300, 10 * S); // interval 1, first ns
    w.advance(60 * S - 1);
    assert.equal(w.window('1m').count, 3, 'all three still in at 59.999999999 s');
    w.advance(60 * S);
    const h = w.window('1m');
    assert.equal(h.count, 1, 'interval 0 is out at exactly 60 s (the record at 9.999999999 s stayed 50.000000001 s)');
    assert.equal(h.min, 300);
    w.advance(70 * S - 1);
    assert.equal(w.window('1m').count, 1);
    w.advance(70 * S);
    assert.equal(w.window('1m').count, 0);
    // Still in the longer windows.
    assert.equal(w.window('5m').count, 3);
    assert.equal(w.window('1h').count, 3);
  });

  test('5m: out at exactly (k + 30) * 10 s', () => {
    const w = new LatencyWindows();
    w.record(1, 5 * S);
    w.advance(300 * S - 1);
    assert.equal(w.window('5m').count, 1);
    w.advance(300 * S);
    assert.equal(w.window('5m').count, 0);
    assert.equal(w.window('1h').count, 1);
  });

  test('1h: out at exactly (m + 60) minutes, including records still in 10-s intervals of the current minute', () => {
    const w = new LatencyWindows();
    w.record(1, 0);
    w.record(2, 60 * S - 1);
    w.record(3, 60 * S);
    w.advance(75 * S); // minute 1 is current: minute 0 closed, minute 1 still in 10-s intervals
    assert.deepEqual(counts(w), { '1m': 2, '5m': 3, '1h': 3 }, '1m holds intervals 2..7 (20 s on)');
    w.advance(3600 * S - 1);
    assert.equal(w.window('1h').count, 3);
    w.advance(3600 * S);
    assert.equal(w.window('1h').count, 1);
    w.advance(3660 * S - 1);
    assert.equal(w.window('1h').count, 1);
    w.advance(3660 * S);
    assert.equal(w.window('1h').count, 0);
  });

  test('windows equal the histogram of exactly the records their definition names (3 h of random traffic)', () => {
    const r = new Rng(99);
    const w = new LatencyWindows();
    const body = logNormal(20_000, 1.2);
    const tail = pareto(1_000_000, 1.5);
    const recs: [number, number][] = [];
    let ts = 123 * S;
    let checks = 0;
    while (ts < 3 * 3600 * S) {
      // Bursty arrivals: mostly close together, sometimes a gap of up to 2 minutes.
      ts += r.next() < 0.01 ? Math.floor(r.next() * 120 * S) : Math.floor(r.next() * 0.5 * S);
      const ns = r.next() < 0.02 ? tail(r) : body(r);
      w.record(ns, ts);
      recs.push([ns, ts]);
      if (r.next() < 0.002) {
        checks++;
        for (const name of WINDOW_NAMES) {
          const spec = WINDOWS[name];
          const c = Math.floor(ts / spec.intervalNs);
          const from = (c - spec.intervals + 1) * spec.intervalNs;
          const expect = new Histogram();
          for (const [v, t] of recs) if (t >= from) expect.record(v);
          assert.ok(w.window(name).equals(expect), `${name} at ${ts}: ${w.window(name).count} vs ${expect.count}`);
        }
      }
    }
    assert.ok(checks > 20, `checked ${checks} times`);
  });
});

describe('windows: time handling', () => {
  test('offline and live give the same windows: advances in between change nothing', () => {
    const a = new LatencyWindows();
    const b = new LatencyWindows();
    const r = new Rng(5);
    let ts = 0;
    for (let i = 0; i < 20_000; i++) {
      ts += Math.floor(r.next() * 0.4 * S);
      const v = Math.floor(r.next() * 1e6);
      a.record(v, ts);
      b.advance(ts - 1); // a live reader polling just before each event
      b.record(v, ts);
    }
    for (const name of WINDOW_NAMES) assert.ok(a.window(name).equals(b.window(name)), name);
  });

  test('late and NaN times go into the current interval and are counted', () => {
    const w = new LatencyWindows();
    w.record(1, 100 * S);
    w.record(2, 50 * S); // late
    w.record(3, Number.NaN);
    w.record(4, Number.POSITIVE_INFINITY);
    w.record(5, Number.NEGATIVE_INFINITY);
    w.record(6, 1e30);
    w.advance(Number.NaN);
    w.advance(Number.POSITIVE_INFINITY);
    w.advance(10 * S); // backwards: ignored
    assert.equal(w.stats.late, 1);
    assert.equal(w.stats.badTime, 6);
    assert.equal(w.window('1m').count, 6);
    assert.equal(w.intervalStart, 100 * S);
    w.advance(160 * S);
    assert.equal(w.window('1m').count, 0, 'they age with the interval they were put in');
  });

  test('a jump of hours empties every window and frees the snapshots', () => {
    const w = new LatencyWindows();
    for (let t = 0; t < 3600; t++) w.record(1000 + t, t * S);
    assert.ok(w.stats.snapshots > 60);
    w.advance(5 * 3600 * S);
    assert.deepEqual(counts(w), { '1m': 0, '5m': 0, '1h': 0 });
    assert.equal(w.stats.snapshots, 0);
  });

  test('negative times work (intervals are floor(ts / I))', () => {
    const w = new LatencyWindows();
    w.record(1, -5 * S); // interval -1: [-10 s, 0)
    w.advance(50 * S - 1);
    assert.equal(w.window('1m').count, 1);
    w.advance(50 * S);
    assert.equal(w.window('1m').count, 0);
  });

  test('window() into a given histogram resets it first; unknown names throw', () => {
    const w = new LatencyWindows();
    w.record(5, 0);
    const into = new Histogram();
    into.record(999);
    assert.equal(w.window('1m', into), into);
    assert.equal(into.count, 1);
    assert.equal(into.max, 5);
    assert.throws(() => w.window('2m' as WindowName), HistogramError);
    w.reset();
    assert.equal(w.window('1h').count, 0);
    assert.ok(Number.isNaN(w.intervalStart));
  });
});
