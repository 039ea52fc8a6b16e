import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { logNormal, sample } from '../../test/synthetic.ts';
import { HistogramGroups } from './groups.ts';
import { Histogram, HistogramFormatError } from './histogram.ts';
import { createProfile, type Profile, ProfileFormatError, profileFromJSON, profileToJSON } from './profile.ts';

function example(): Profile {
  const p = createProfile({ host: 'db1', source: 'trace.dat', window: '5m', startNs: 2n ** 60n + 1n, endNs: 5_000n });
  const all = new Histogram();
  const groups = new HistogramGroups<string | number>({ limit: 2 });
  const v = sample(logNormal(10_000, 1), 10_000, 1);
  v.forEach((x, i) => {
    all.record(x);
    groups.record(i % 3 === 0 ? 'read' : i % 3 === 1 ? 1234 : `other${i % 7}`, x);
  });
  p.analyses.set('syscall', { histogram: all, groupBy: 'syscall', groups });
  const irq = new Histogram();
  irq.record(42);
  p.analyses.set('irq', { histogram: irq, groupBy: null, groups: null });
  return p;
}

describe('profile JSON', () => {
  test('round trip: metadata, histograms, groups (keys keep their type) and overflow counters', () => {
    const p = example();
    const text = profileToJSON(p);
    assert.ok(text.endsWith('\n'));
    const q = profileFromJSON(text);
    assert.deepEqual(q.meta, p.meta);
    assert.deepEqual([...q.analyses.keys()], ['syscall', 'irq']);
    const a = p.analyses.get('syscall')!;
    const b = q.analyses.get('syscall')!;
    assert.ok(b.histogram.equals(a.histogram));
    assert.equal(b.groupBy, 'syscall');
    assert.deepEqual(
      [...b.groups!.entries()].map(([k]) => k),
      ['read', 1234],
    );
    for (const [k, h] of a.groups!.entries()) assert.ok(b.groups!.get(k)!.equals(h), String(k));
    assert.ok(b.groups!.overflow.equals(a.groups!.overflow));
    assert.deepEqual(b.groups!.stats, a.groups!.stats);
    assert.equal(q.analyses.get('irq')!.groups, null);
    // Byte-identical when written again.
    assert.equal(profileToJSON(q), text);
    // Times: a safe integer as a JSON number, beyond 2^53 as a decimal string.
    const o = JSON.parse(text);
    assert.equal(o.start_ns, '1152921504606846977');
    assert.equal(o.end_ns, 5000);
    assert.equal(o.format, 'latency-tracker-profile');
    assert.equal(o.version, 1);
  });

  test('bad files: one clear ProfileFormatError naming the problem', () => {
    const good = JSON.parse(profileToJSON(example()));
    const bad = (o: unknown, re: RegExp) =>
      assert.throws(
        () => profileFromJSON(typeof o === 'string' ? o : JSON.stringify(o)),
        (e: Error) => e instanceof ProfileFormatError && e instanceof HistogramFormatError && re.test(e.message),
      );
    bad('{"format": "latency-', /^not a JSON document/);
    bad({ hello: 1 }, /^not a latency-tracker profile/);
    bad([], /^not a latency-tracker profile/);
    bad({ ...good, version: 7 }, /^profile version 7 is not supported \(this build reads version 1\)/);
    bad({ ...good, host: 5 }, /^host: expected a string or null/);
    bad({ ...good, start_ns: 1.5 }, /^start_ns: expected integer nanoseconds/);
    bad({ ...good, analyses: [] }, /^analyses: expected an object/);
    const clone = () => JSON.parse(JSON.stringify(good));
    let o = clone();
    o.analyses.syscall.histogram.count += 1;
    bad(o, /^analyses\.syscall\.histogram\.count: does not match/);
    o = clone();
    delete o.analyses.syscall.overflow;
    bad(o, /^analyses\.syscall: group_by, group_limit, groups and overflow go together/);
    o = clone();
    o.analyses.syscall.group_limit = 1;
    bad(o, /^analyses\.syscall\.groups: 2 groups exceed group_limit 1/);
    o = clone();
    o.analyses.syscall.groups[1].key = 'read';
    bad(o, /^analyses\.syscall\.groups\[1\]\.key: duplicate group "read"/);
    o = clone();
    o.analyses.syscall.groups[0].histogram.buckets = 'x';
    bad(o, /^analyses\.syscall\.groups\[0\]\.histogram\.buckets: expected an array/);
    o = clone();
    o.analyses.syscall.overflow.distinct = -1;
    bad(o, /^analyses\.syscall\.overflow\.distinct/);
  });

  test('an already parsed object is accepted too', () => {
    const p = example();
    assert.equal(profileFromJSON(JSON.parse(profileToJSON(p))).analyses.size, 2);
  });
});
