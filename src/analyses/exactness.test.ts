/**
 * Offline exactness (issue 4): `latency-tracker analyze --json --summary` on the shared trace.dat must give, for
 * every analysis, count/min/max/sum equal to an independent computation straight from DESIGN §5 over trace-cmd's
 * own decoding (report-raw.txt.xz; the naive reference is in test/reference.ts). Issue 5: its percentiles are within
 * 1 % of the exact nearest-rank percentiles of the same pairs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { reference, reportText, TRACECMD_DIR } from '../../test/reference.ts';

const DIR = TRACECMD_DIR;
const BIN = fileURLToPath(new URL('../../bin/latency-tracker.js', import.meta.url));

/** Nearest-rank percentile of sorted values: the value at rank max(1, ceil(q/100 * n)). */
function nearestRank(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil((q / 100) * sorted.length)) - 1];
}

/** Parses JSON Lines keeping big integers exact (as bigint) where they exceed 2^53. */
function parseLine(s: string): Record<string, unknown> {
  return JSON.parse(s.replace(/:(\d{16,})/g, ':"$1n"'), (_k, v) =>
    typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
  );
}

describe('analyze on tracecmd-x86-vm/trace.dat equals the DESIGN §5 reference', () => {
  const ref = reference(reportText());

  for (const file of ['trace.dat', 'trace-v6.dat']) {
    test(file, () => {
      const r = spawnSync(process.execPath, [BIN, 'analyze', `${DIR}${file}`, '--json', '--summary', '-t', '1h'], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map(parseLine);
      const summaries = new Map<string, Record<string, unknown>>();
      for (const l of lines) if (l.type === 'summary' && l.group === null) summaries.set(l.analysis as string, l);
      // Every analysis this trace has events for ran, and every one agrees exactly.
      assert.deepEqual([...summaries.keys()].sort(), [...ref.stats.keys()].sort());
      for (const [name, want] of ref.stats) {
        const got = summaries.get(name) as Record<string, unknown>;
        assert.ok(want.count > 0, `${name}: reference found pairs`);
        assert.equal(got.count, want.count, `${name} count`);
        assert.equal(BigInt(got.min_ns as number), want.min, `${name} min`);
        assert.equal(BigInt(got.max_ns as number), want.max, `${name} max`);
        assert.equal(BigInt(got.sum_ns as number | bigint), want.sum, `${name} sum`);
        // Percentiles from the histograms: within 1 % of the exact nearest-rank value.
        const sorted = [...(ref.latencies.get(name) as number[])].sort((x, y) => x - y);
        for (const [field, q] of [
          ['p50_ns', 50],
          ['p90_ns', 90],
          ['p99_ns', 99],
          ['p999_ns', 99.9],
        ] as const) {
          const exact = nearestRank(sorted, q);
          const p = got[field] as number;
          assert.ok(Math.abs(p - exact) <= exact * 0.01, `${name} ${field}: ${p} vs exact ${exact}`);
        }
      }
    });
  }
});

test('block timeouts name the request that timed out (its issue in trace-cmd text: same time, device and sector)', () => {
  // A timeout fires while another record is at hand: its detail must come from the timed-out request itself.
  const issues = new Set<string>();
  const line = / block_rq_issue: +dev=(\d+) sector=(\d+) /;
  const time = / (\d+)\.(\d{9}): block_rq_issue:/;
  for (const l of reportText().split('\n')) {
    const m = line.exec(l);
    const t = time.exec(l);
    if (!m || !t) continue;
    const dev = Number(m[1]);
    issues.add(`${BigInt(t[1]) * 1_000_000_000n + BigInt(t[2])} ${dev >>> 20},${dev & 0xfffff} ${m[2]}`);
  }
  const r = spawnSync(
    process.execPath,
    [BIN, 'analyze', `${DIR}trace.dat`, 'block', '--json', '-t', '1h'].concat(['--timeout', 'block=20us']),
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  assert.equal(r.status, 0, r.stderr);
  const timeouts = r.stdout
    .trim()
    .split('\n')
    .map(parseLine)
    .filter((l) => l.reason === 'timeout');
  assert.ok(timeouts.length >= 5, `block requests still in flight after 20 µs time out (saw ${timeouts.length})`);
  for (const o of timeouts) {
    const d = o.detail as { dev: string; sector: number | bigint };
    const k = `${o.start_ns} ${d.dev} ${d.sector}`;
    assert.ok(issues.has(k), `timeout ${k} is an issued request`);
  }
});
