import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseContainer } from '../../analyses/container.ts';
import type { OutlierRecord } from '../../analyses/engine.ts';
import { Histogram } from '../../histogram/histogram.ts';
import { chString, chUInt64, isIdentifier } from './chsql.ts';
import { openErrorMessage } from './duck.ts';
import { clickhouseOutlier, parseDetail, subjectOf, toRecord, toRow } from './schema.ts';
import { delta, ProfileSnapshotter } from './snapshots.ts';

const rec: OutlierRecord = {
  type: 'latency',
  analysis: 'block',
  reason: 'threshold',
  start_ns: 18446744073709551000n,
  end_ns: 18446744073709551615n,
  latency_ns: 615,
  cpu: 1,
  tid: 42,
  pid: 41,
  comm: "o'dd \\ name",
  detail: { dev: '8,0', sector: 2n ** 60n + 1n, bytes: 4096, rwbs: 'W' },
  stack: ['schedule+0x1', 'io_schedule+0x2'],
  cgroup: null,
  container: null,
};

test('a record survives the row form exactly (64-bit times, big detail integers, stack)', () => {
  const row = toRow(rec, 'host-1', 1_700_000_000_123);
  assert.equal(row.subject, '8,0');
  assert.equal(row.detail, `{"dev":"8,0","sector":${2n ** 60n + 1n},"bytes":4096,"rwbs":"W"}`);
  const back = toRecord(row);
  assert.deepEqual(back, rec);
  const noStack = toRecord({ ...row, stack: null });
  assert.equal('stack' in noStack, false);
});

test('a record with a cgroup keeps it, its container, throttling and pressure through the row form', () => {
  const path =
    '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod55c6c714_b240_4dec_9a45_57b61696ab6e.slice/cri-containerd-2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36.scope';
  const withCg: OutlierRecord = {
    ...rec,
    cgroup: path,
    container: parseContainer(path),
    throttle: { cgroup: path, nr_throttled: 3, throttled_ns: 41_000_000, from_ns: 2n ** 62n, to_ns: 2n ** 62n + 1n },
    pressure: { cpu_some_avg10: 12.5, io_some_avg10: 0, memory_some_avg10: null },
  };
  const row = toRow(withCg, 'h', 1);
  assert.equal(row.unit, 'cri-containerd-2032491dcae31e6746f47daa0ac74564f2843a1bd847c5e6c4eb501ca132ac36.scope');
  assert.equal(row.container, 'containerd:2032491dcae3');
  assert.equal(row.pod_uid, '55c6c714-b240-4dec-9a45-57b61696ab6e');
  assert.equal(row.throttled_ns, 41_000_000);
  assert.deepEqual(toRecord(row), withCg);
  const hostile = { ...rec, cgroup: '/x\'"\\\n\u0000y', container: null };
  assert.deepEqual(toRecord(toRow(hostile, 'h', 1)), hostile);
  assert.equal(clickhouseOutlier(toRow(withCg, 'h', 1), 's').throttled_ns, '41000000');
});

test('subjects: syscall name, softirq action, device, irq; none for wakeup', () => {
  assert.equal(subjectOf({ syscall: 'read', id: 0 }), 'read');
  assert.equal(subjectOf({ vec: 3, action: 'NET_RX' }), 'NET_RX');
  assert.equal(subjectOf({ irq: 24, name: null }), '24');
  assert.equal(subjectOf({ waker_tid: 1, waker_comm: 'x' }), null);
});

test('parseDetail keeps safe integers as numbers and bigger ones as bigint', () => {
  assert.deepEqual(parseDetail('{"a":1234567890123456,"b":-12345678901234567890,"c":"9999999999999999"}'), {
    a: 1234567890123456,
    b: -12345678901234567890n,
    c: '9999999999999999',
  });
});

test('ClickHouse literals: quotes, backslashes and control characters cannot end the literal', () => {
  assert.equal(chString("a'b"), "'a\\'b'");
  assert.equal(chString('a\\b'), "'a\\\\b'");
  assert.equal(chString("\\'; DROP TABLE x; --"), "'\\\\\\'; DROP TABLE x; --'");
  assert.equal(chString('a\nb\u0000'), "'a\\x0ab\\x00'");
  assert.equal(chUInt64(18446744073709551615n), '18446744073709551615');
  assert.throws(() => chUInt64(-1n));
  assert.ok(isIdentifier('latency_tracker'));
  assert.ok(!isIdentifier('x; DROP'));
  assert.ok(!isIdentifier('1abc'));
});

test('delta: the pairs recorded between two snapshots, counts and sum exact', () => {
  const h = new Histogram();
  for (const v of [100, 2000, 30000]) h.record(v);
  const prev = h.clone();
  for (const v of [150, 2500, 2500, 9_000_000]) h.record(v);
  const d = delta(h, prev);
  assert.equal(d.count, 4);
  assert.equal(d.sumBigInt(), 150n + 2500n + 2500n + 9_000_000n);
  assert.equal(d.max, 9_000_000); // a new maximum: exact
  assert.ok(Math.abs(d.min - 150) / 150 < 0.01, `min ${d.min}`); // not a new minimum: its bucket
  const check = new Histogram();
  for (const v of [150, 2500, 2500, 9_000_000]) check.record(v);
  assert.deepEqual([...d.counts], [...check.counts]);
  assert.equal(delta(h, h.clone()).count, 0);
});

test('snapshotter: one row per analysis with pairs or outliers, counters as differences', () => {
  const h = new Histogram();
  const counters = { outliers: 0, overThreshold: 0, timeouts: 0 };
  const snap = new ProfileSnapshotter(
    [{ name: 'syscall', total: () => h, counters: () => ({ ...counters }) }],
    'h1',
    1000,
  );
  assert.deepEqual(snap.take(2000), []);
  h.record(1000);
  h.record(5_000_000);
  counters.outliers = 1;
  counters.overThreshold = 1;
  const [a] = snap.take(3000);
  assert.equal(a.count, 2);
  assert.equal(a.startMs, 2000);
  assert.equal(a.timeMs, 3000);
  assert.equal(a.outliers, 1);
  assert.equal(a.sum_ns, 5_001_000n);
  assert.deepEqual(a.bucket_counts, [1, 1]);
  assert.equal(a.bucket_ns.length, 2);
  assert.ok(a.hdr.length > 10);
  h.record(7);
  const [b] = snap.take(4000);
  assert.equal(b.count, 1);
  assert.equal(b.outliers, 0);
  assert.equal(b.min_ns, 7);
});

test('DuckDB open errors become one sentence', () => {
  const p = '/s.duckdb';
  const m = (text: string) => openErrorMessage(p, new Error(text));
  assert.equal(
    m(
      'IO Error: Failure while replaying WAL file "/s.duckdb.wal": Corrupt WAL file: entry at byte position 24 computed checksum 1 does not match stored checksum 2',
    ),
    'store /s.duckdb: its write-ahead log /s.duckdb.wal cannot be replayed (Failure while replaying WAL file "/s.duckdb.wal": Corrupt WAL file: entry at byte position 24 computed checksum 1 does not match stored checksum 2); move /s.duckdb.wal away to open the store without its last writes',
  );
  assert.match(
    m('IO Error: The file "/s.duckdb" exists, but it is not a valid DuckDB database file!'),
    /is not a readable DuckDB database/,
  );
  assert.equal(
    m(
      'IO Error: Could not set lock on file "/s.duckdb": Conflicting lock is held in /usr/bin/node (PID 12). See also https://duckdb.org/docs',
    ),
    'store /s.duckdb is in use by another process (pid 12, /usr/bin/node): one process at a time can open it',
  );
  assert.equal(m('IO Error: something\nmore'), 'cannot open store /s.duckdb: something');
});
