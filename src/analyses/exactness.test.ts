/**
 * Offline exactness (issue 4): `latency-tracker analyze --json --summary` on the shared trace.dat must give, for
 * every analysis, count/min/max/sum equal to an independent computation straight from DESIGN §5 over trace-cmd's
 * own decoding (report-raw.txt.xz). The reference below is deliberately naive: text lines, regexes, Maps, BigInt.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../../shared/traces/tracecmd-x86-vm/', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/latency-tracker.js', import.meta.url));

interface Stat {
  count: number;
  min: bigint;
  max: bigint;
  sum: bigint;
}

class Ref {
  stats = new Map<string, Stat>();
  open = new Map<string, Map<string, bigint>>();
  begin(a: string, key: string, ts: bigint, keepFirst: boolean) {
    let m = this.open.get(a);
    if (!m) this.open.set(a, (m = new Map()));
    if (keepFirst && m.has(key)) return;
    m.set(key, ts);
  }
  drop(a: string, key: string) {
    this.open.get(a)?.delete(key);
  }
  end(a: string, key: string, ts: bigint) {
    const m = this.open.get(a);
    const start = m?.get(key);
    if (start === undefined) return;
    m?.delete(key);
    const lat = ts - start;
    if (lat < 0n) return;
    let s = this.stats.get(a);
    if (!s) this.stats.set(a, (s = { count: 0, min: lat, max: lat, sum: 0n }));
    s.count++;
    if (lat < s.min) s.min = lat;
    if (lat > s.max) s.max = lat;
    s.sum += lat;
  }
}

function reference(text: string): Map<string, Stat> {
  const ref = new Ref();
  const hasWaking = / sched_waking: /.test(text);
  const line = /^\S+: +.*-(\d+) +\[(\d+)\] +(\d+)\.(\d{9}): (\w+): +(.*)$/;
  const num = (fields: string, name: string) => {
    const m = new RegExp(`(?:^| )${name}=(\\S+)`).exec(fields);
    if (!m) throw new Error(`no ${name} in ${fields}`);
    return m[1];
  };
  for (const l of text.split('\n')) {
    const m = line.exec(l);
    if (!m) continue;
    const tid = m[1];
    const cpu = m[2];
    const ts = BigInt(m[3]) * 1_000_000_000n + BigInt(m[4]);
    const ev = m[5];
    const f = m[6];
    switch (ev) {
      case 'sys_enter':
        if (tid !== '0') ref.begin('syscall', tid, ts, false);
        break;
      case 'sys_exit':
        if (tid !== '0') ref.end('syscall', tid, ts);
        break;
      case 'sched_waking':
        ref.begin('wakeup', num(f, 'pid'), ts, true);
        break;
      case 'sched_wakeup':
        if (!hasWaking) ref.begin('wakeup', num(f, 'pid'), ts, true);
        break;
      case 'sched_wakeup_new':
        ref.begin('wakeup', num(f, 'pid'), ts, true);
        break;
      case 'sched_switch': {
        const prev = num(f, 'prev_pid');
        const next = num(f, 'next_pid');
        if (prev !== '0') {
          ref.drop('wakeup', prev);
          ref.begin('offcpu', prev, ts, false);
        }
        if (next !== '0') {
          ref.end('wakeup', next, ts);
          ref.end('offcpu', next, ts);
        }
        break;
      }
      case 'block_rq_issue':
        ref.begin('block', `${num(f, 'dev')}/${num(f, 'sector')}`, ts, false);
        break;
      case 'block_rq_complete':
        ref.end('block', `${num(f, 'dev')}/${num(f, 'sector')}`, ts);
        break;
      case 'irq_handler_entry':
        ref.begin('irq', `${cpu}/${num(f, 'irq')}`, ts, false);
        break;
      case 'irq_handler_exit':
        ref.end('irq', `${cpu}/${num(f, 'irq')}`, ts);
        break;
      case 'softirq_entry':
        ref.begin('softirq', `${cpu}/${num(f, 'vec')}`, ts, false);
        ref.end('softirq-delay', `${cpu}/${num(f, 'vec')}`, ts);
        break;
      case 'softirq_exit':
        ref.end('softirq', `${cpu}/${num(f, 'vec')}`, ts);
        break;
      case 'softirq_raise':
        ref.begin('softirq-delay', `${cpu}/${num(f, 'vec')}`, ts, true);
        break;
      case 'net_dev_queue':
        ref.begin('net-tx', num(f, 'skbaddr'), ts, false);
        break;
      case 'net_dev_xmit':
        ref.end('net-tx', num(f, 'skbaddr'), ts);
        break;
      case 'netif_rx':
        ref.begin('net-rx', num(f, 'skbaddr'), ts, false);
        break;
      case 'netif_receive_skb':
        ref.end('net-rx', num(f, 'skbaddr'), ts);
        break;
    }
  }
  return ref.stats;
}

/** Parses JSON Lines keeping big integers exact (as bigint) where they exceed 2^53. */
function parseLine(s: string): Record<string, unknown> {
  return JSON.parse(s.replace(/:(\d{16,})/g, ':"$1n"'), (_k, v) =>
    typeof v === 'string' && /^\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
  );
}

describe('analyze on tracecmd-x86-vm/trace.dat equals the DESIGN §5 reference', () => {
  const text = execFileSync('xz', ['-dc', `${DIR}report-raw.txt.xz`], { maxBuffer: 1 << 30 }).toString('utf8');
  const ref = reference(text);

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
      assert.deepEqual([...summaries.keys()].sort(), [...ref.keys()].sort());
      for (const [name, want] of ref) {
        const got = summaries.get(name) as Record<string, unknown>;
        assert.ok(want.count > 0, `${name}: reference found pairs`);
        assert.equal(got.count, want.count, `${name} count`);
        assert.equal(BigInt(got.min_ns as number), want.min, `${name} min`);
        assert.equal(BigInt(got.max_ns as number), want.max, `${name} max`);
        assert.equal(BigInt(got.sum_ns as number | bigint), want.sum, `${name} sum`);
      }
    });
  }
});
