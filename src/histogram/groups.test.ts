import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HistogramGroups, OVERFLOW_GROUP } from './groups.ts';
import { HistogramError } from './histogram.ts';

describe('HistogramGroups', () => {
  test('bad options throw HistogramError', () => {
    assert.throws(() => new HistogramGroups({ limit: 0 }), HistogramError);
    assert.throws(() => new HistogramGroups({ limit: 1.5 }), HistogramError);
    assert.throws(() => new HistogramGroups({ limit: 70000 }), HistogramError);
    assert.throws(() => new HistogramGroups({ limit: 4, overflowTrackLimit: -1 }), HistogramError);
    assert.throws(() => new HistogramGroups(null as never), HistogramError);
  });

  test('the first `limit` values get their own histogram; later ones share the counted overflow', () => {
    const g = new HistogramGroups<string>({ limit: 3 });
    for (const [k, v] of [
      ['read', 100],
      ['write', 200],
      ['read', 110],
      ['openat', 300],
      ['futex', 1000], // over the limit
      ['ioctl', 2000], // over the limit
      ['futex', 1100], // same overflowed value again
      ['read', 120], // existing group: still its own
    ] as [string, number][]) {
      g.record(k, v);
    }
    assert.deepEqual(
      [...g.entries()].map(([k, h]) => [k, h.count]),
      [
        ['read', 3],
        ['write', 1],
        ['openat', 1],
      ],
    );
    assert.equal(g.overflow.count, 3);
    assert.deepEqual(g.stats, {
      groups: 3,
      limit: 3,
      overflowDistinct: 2,
      overflowDistinctExact: true,
      overflowRecords: 3,
    });
    assert.equal(g.histogram('futex'), g.overflow);
    assert.equal(g.get('futex'), undefined);
    assert.equal(OVERFLOW_GROUP, '__overflow__');
  });

  test('memory is bounded: distinct overflowed values counted exactly up to the track limit, then a lower bound', () => {
    const g = new HistogramGroups<number>({ limit: 10, overflowTrackLimit: 100 });
    for (let tid = 0; tid < 100_000; tid++) g.record(tid, tid);
    assert.equal(g.size, 10);
    const s = g.stats;
    assert.equal(s.overflowRecords, 99_990);
    assert.equal(s.overflowDistinctExact, false);
    assert.equal(s.overflowDistinct, 101, 'counted up to the track limit, plus the one that saturated it');
    // Exact while under the track limit.
    const e = new HistogramGroups<number>({ limit: 2, overflowTrackLimit: 100 });
    for (let r = 0; r < 3; r++) for (let tid = 0; tid < 50; tid++) e.record(tid, 1);
    assert.equal(e.stats.overflowDistinct, 48);
    assert.equal(e.stats.overflowDistinctExact, true);
    assert.equal(e.stats.overflowRecords, 144);
  });

  test('dropped values in the overflow count as overflow records', () => {
    const g = new HistogramGroups<string>({ limit: 1 });
    g.record('a', 1);
    g.record('b', Number.NaN);
    assert.equal(g.stats.overflowRecords, 1);
    assert.equal(g.overflow.dropped, 1);
  });

  test('merge by key within the limit; overflow distinct becomes a lower bound', () => {
    const a = new HistogramGroups<string>({ limit: 2 });
    a.record('x', 1);
    a.record('y', 2);
    a.record('z', 3); // overflow
    const b = new HistogramGroups<string>({ limit: 3 });
    b.record('x', 10);
    b.record('w', 20);
    b.record('v', 30);
    a.merge(b);
    assert.equal(a.get('x')?.count, 2);
    assert.equal(a.overflow.count, 3, 'z, then w and v from b');
    assert.equal(a.stats.overflowDistinct, 3);
    a.reset();
    assert.equal(a.size, 0);
    assert.deepEqual(a.stats, {
      groups: 0,
      limit: 2,
      overflowDistinct: 0,
      overflowDistinctExact: true,
      overflowRecords: 0,
    });
  });
});
