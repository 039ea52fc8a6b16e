/**
 * `/metrics` as a whole, from a fixed snapshot: a golden file (`UPDATE_GOLDEN=1` rewrites it), and the format
 * rules every family must follow (one HELP/TYPE, `_total` counters, base units, bounded labels).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HistogramGroups } from '../histogram/groups.ts';
import { Histogram } from '../histogram/histogram.ts';
import type { TrackerStats } from '../tracker/tracker.ts';
import { formatMetrics, MAX_CPU_SERIES, type MetricsSnapshot } from './prometheus.ts';

const GOLDEN = fileURLToPath(new URL('../../test/fixtures/metrics.golden.txt', import.meta.url));

function stats(n: number): TrackerStats {
  return {
    tracked: n + 3,
    inFlight: 2,
    full: 1,
    replaced: 4,
    exists: 0,
    completed: n,
    unmatchedOut: 5,
    negative: 0,
    overThreshold: 2,
    timeouts: 1,
    discarded: 6,
    invalid: 0,
    badPut: 0,
  } as TrackerStats;
}

function snapshot(): MetricsSnapshot {
  const h = new Histogram();
  for (const v of [1500, 1500, 80_000, 3_000_000_000]) h.record(v);
  return {
    version: '0.1.0',
    analyses: [
      {
        analysis: 'syscall',
        available: true,
        enabled: true,
        up: true,
        thresholdNs: 50_000_000,
        timeoutNs: 0,
        histogram: h,
        stats: stats(4),
        lastEventUnixSeconds: 1700000000.5,
      },
      {
        analysis: 'net-rx',
        available: false,
        enabled: false,
        up: false,
        thresholdNs: 1_000_000,
        timeoutNs: 0,
        histogram: undefined,
        stats: undefined,
        lastEventUnixSeconds: 0,
      },
    ],
    records: 123456,
    lostPerCpu: [0, 7],
    lostUnknown: 1,
    lastReadUnixSeconds: 1700000001,
    history: { size: 10, capacity: 4096, evicted: 0 },
    store: { queued: 2, dropped: 1 },
    stream: { clients: 1, accepted: 3, rejected: 0, dropped: 1, skipped: 0, sent: 12 },
    http: new Map([
      [404, 2],
      [200, 40],
    ]),
    connections: { timedOut: 3, evicted: 1, refused: 0 },
    process: { cpuSeconds: 1.25, residentBytes: 104857600, heapBytes: 20971520, startUnixSeconds: 1699999000 },
  };
}

describe('formatMetrics', () => {
  test('golden output', () => {
    const text = formatMetrics(snapshot());
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
    assert.equal(text, readFileSync(GOLDEN, 'utf8'));
  });

  test('every sample belongs to a declared family; counters end in _total; one HELP/TYPE each', () => {
    const text = formatMetrics(snapshot());
    const types = new Map<string, string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      assert.ok(!types.has(m[1]), `TYPE ${m[1]} once`);
      types.set(m[1], m[2]);
    }
    for (const [name, type] of types) {
      if (type === 'counter') assert.match(name, /_total$/, name);
      assert.match(name, /^(latency_tracker_|process_)/, name);
    }
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const name = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)?.[1] ?? '';
      const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(types.has(family), `sample ${name} has a family`);
      assert.match(line, / (-?[0-9.e+-]+|NaN|[+-]Inf)$/, line);
    }
    // Unavailable analyses have settings/health series, no histogram or counters.
    assert.doesNotMatch(text, /latency_seconds_bucket\{analysis="net-rx"/);
    assert.match(text, /^latency_tracker_analysis_available\{analysis="net-rx"\} 0$/m);
    assert.match(text, /^latency_tracker_lost_events_total\{cpu="1"\} 7$/m);
  });

  test('CPU series are capped; the rest add up in cpu="other"', () => {
    const s = snapshot();
    s.lostPerCpu = Array.from({ length: MAX_CPU_SERIES + 3 }, () => 2);
    const text = formatMetrics(s);
    assert.equal([...text.matchAll(/^latency_tracker_lost_events_total\{/gm)].length, MAX_CPU_SERIES + 1);
    assert.match(text, /^latency_tracker_lost_events_total\{cpu="other"\} 6$/m);
  });

  test('--metrics-by cgroup: 200 cgroups give at most the cap + other, counted, escaped, promtool clean', () => {
    const limit = 64;
    const g = new HistogramGroups<string>({ limit });
    const hostile = ['/system.slice/a"b.service', '/x\\y', '/new\nline', '/tab\tand\u00e9'];
    for (let i = 0; i < 200; i++) {
      const label = i < hostile.length ? hostile[i] : `/kubepods.slice/pod-${i}.slice`;
      for (let k = 0; k <= i % 3; k++) g.record(label, 1000 * (i + 1));
    }
    g.record('unknown', 5);
    const s = snapshot();
    s.analyses[0].byCgroup = g;
    s.cgroups = {
      resolved: 200,
      resolveFailed: 3,
      deferred: 0,
      moves: 4,
      evicted: 0,
      resets: 0,
      throttleGroups: 1,
      throttleEvicted: 0,
      throttleUncovered: 2,
    };
    const text = formatMetrics(s);
    const series = new Set(
      [
        ...text.matchAll(/^latency_tracker_latency_seconds_count\{analysis="syscall",cgroup="((?:[^"\\]|\\.)*)"\}/gm),
      ].map((m) => m[1]),
    );
    assert.equal(series.size, limit + 1);
    assert.ok(series.has('other'));
    // The series of one analysis add up to every pair it recorded.
    const counts = [...text.matchAll(/^latency_tracker_latency_seconds_count\{analysis="syscall",.*\} (\d+)$/gm)];
    assert.equal(
      counts.reduce((a, m) => a + Number(m[1]), 0),
      [...g.entries()].reduce((a, [, h]) => a + h.count, 0) + g.overflow.count,
    );
    assert.match(text, /^latency_tracker_cgroup_series\{analysis="syscall"\} 64$/m);
    assert.match(text, /^latency_tracker_cgroup_overflow_cgroups\{analysis="syscall"\} 137$/m);
    assert.match(text, /^latency_tracker_cgroup_overflow_pairs_total\{analysis="syscall"\} \d+$/m);
    // Escaped per the text format: backslash, quote and newline; nothing else is touched.
    assert.ok(series.has('/system.slice/a\\"b.service'), [...series].slice(0, 5).join(' '));
    assert.ok(series.has('/x\\\\y'));
    assert.ok(series.has('/new\\nline'));
    assert.equal(text.split('\n').filter((l) => l.startsWith('line')).length, 0);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (r.error !== undefined) throw new Error(`promtool: ${r.error.message} (scripts/prepare.sh installs prometheus)`);
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'promtool has no complaint');
  });
});
