/**
 * Latency statistics on the shared LTTng traces (issue 9): `analyze DIR --json --summary --group-by ...` must give,
 * for syscall (per syscall name and per thread), wakeup (per thread), irq (per irq) and softirq (per vector), the
 * same count, min, max and mean as an independent computation written here from babeltrace's decoding of the same
 * trace, straight from the DESIGN §5 definitions. babeltrace (Debian package) is a separate CTF reader: nothing of
 * our decoder is used for the reference.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { X86_64_SYSCALLS } from '../../ftrace/syscall-names.ts';

const TRACES = fileURLToPath(new URL('../../../../shared/traces/', import.meta.url));
const BIN = fileURLToPath(new URL('../../../bin/latency-tracker.js', import.meta.url));
const haveBabeltrace = spawnSync('babeltrace', ['--help'], { stdio: 'ignore' }).status === 0;

interface Ev {
  ts: bigint;
  name: string;
  cpu: number;
  f: Map<string, string>;
}

/** babeltrace's events in its (time-merged) order. */
function babeltrace(dir: string): Ev[] {
  const text = execFileSync('babeltrace', ['--clock-seconds', '--no-delta', dir], { maxBuffer: 1 << 30 }).toString();
  const out: Ev[] = [];
  for (const line of text.split('\n')) {
    const m = /^\[(\d+)\.(\d{9})\] \S+ (\S+): \{ cpu_id = (\d+) \}(?:, \{ ?(.*?) ?\})?$/.exec(line);
    if (m === null) continue;
    const f = new Map<string, string>();
    for (const kv of (m[5] ?? '').matchAll(/(\w+) = ("(?:[^"\\]|\\.)*"|[^,]+)/g)) f.set(kv[1], kv[2].trim());
    out.push({ ts: BigInt(m[1]) * 1_000_000_000n + BigInt(m[2]), name: m[3], cpu: Number(m[4]), f });
  }
  return out;
}

interface Acc {
  count: number;
  min: bigint;
  max: bigint;
  sum: bigint;
}

/** The DESIGN §5 pairs of syscall, wakeup, irq and softirq, grouped, from babeltrace's events. */
function reference(events: Ev[], x86: boolean) {
  const groups = new Map<string, Map<string, Acc>>(); // "analysis/by" -> group -> stats
  const add = (key: string, group: string, lat: bigint) => {
    if (lat < 0n) return;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = new Map()));
    const a = g.get(group);
    if (!a) g.set(group, { count: 1, min: lat, max: lat, sum: lat });
    else {
      a.count++;
      if (lat < a.min) a.min = lat;
      if (lat > a.max) a.max = lat;
      a.sum += lat;
    }
  };
  const num = (e: Ev, k: string) => Number(e.f.get(k));
  // The thread on each CPU: from sched_switch; before a CPU's first switch, that switch's prev_tid.
  const current = new Map<number, number>();
  for (const e of events) {
    if (e.name === 'sched_switch' && !current.has(e.cpu)) current.set(e.cpu, num(e, 'prev_tid'));
  }
  const hasWaking = events.some((e) => e.name === 'sched_waking');
  const sys = new Map<number, { ts: bigint; name: string }>();
  const wake = new Map<number, bigint>();
  const irq = new Map<string, bigint>();
  const soft = new Map<string, bigint>();
  for (const e of events) {
    const tid = current.get(e.cpu) ?? -1;
    const n = e.name;
    let m: RegExpExecArray | null;
    if ((m = /^(?:syscall_entry_|sys_)(\w+)$/.exec(n)) !== null && !n.startsWith('syscall_exit')) {
      // LTTng's `syscall_entry_unknown`/`sys_unknown` carry the raw number: named from the x86_64 table on an
      // x86_64 trace, sys_<id> elsewhere.
      const id = Number(e.f.get('id'));
      const name = m[1] !== 'unknown' ? m[1] : (x86 && X86_64_SYSCALLS[id]) || `sys_${id}`;
      if (tid > 0) sys.set(tid, { ts: e.ts, name });
    } else if (/^syscall_exit_\w+$/.test(n) || n === 'exit_syscall') {
      const b = sys.get(tid);
      if (tid > 0 && b !== undefined) {
        sys.delete(tid);
        add('syscall/syscall', b.name, e.ts - b.ts);
        add('syscall/tid', String(tid), e.ts - b.ts);
      }
    } else if (n === 'sched_switch') {
      const prev = num(e, 'prev_tid');
      const next = num(e, 'next_tid');
      if (prev > 0) wake.delete(prev);
      if (next > 0 && wake.has(next)) {
        add('wakeup/tid', String(next), e.ts - (wake.get(next) as bigint));
        wake.delete(next);
      }
      current.set(e.cpu, next);
    } else if (n === 'sched_waking' || (n === 'sched_wakeup' && !hasWaking) || n === 'sched_wakeup_new') {
      const t = num(e, 'tid');
      if (t > 0 && !wake.has(t)) wake.set(t, e.ts);
    } else if (n === 'irq_handler_entry') {
      irq.set(`${e.cpu}/${num(e, 'irq')}`, e.ts);
    } else if (n === 'irq_handler_exit') {
      const k = `${e.cpu}/${num(e, 'irq')}`;
      const b = irq.get(k);
      if (b !== undefined) {
        irq.delete(k);
        add('irq/irq', String(num(e, 'irq')), e.ts - b);
      }
    } else if (n === 'softirq_entry' || n === 'irq_softirq_entry') {
      soft.set(`${e.cpu}/${num(e, 'vec')}`, e.ts);
    } else if (n === 'softirq_exit' || n === 'irq_softirq_exit') {
      const k = `${e.cpu}/${num(e, 'vec')}`;
      const b = soft.get(k);
      if (b !== undefined) {
        soft.delete(k);
        add('softirq/vec', String(num(e, 'vec')), e.ts - b);
      }
    }
  }
  return groups;
}

const SOFTIRQ = ['HI', 'TIMER', 'NET_TX', 'NET_RX', 'BLOCK', 'IRQ_POLL', 'TASKLET', 'SCHED', 'HRTIMER', 'RCU'];

function ours(dir: string, analysis: string, by: string): Map<string, Record<string, unknown>> {
  const r = spawnSync(
    process.execPath,
    [BIN, 'analyze', dir, analysis, '--json', '--summary', '--group-by', by, '--group-limit', '65536', '-t', '1h'],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<string, Record<string, unknown>>();
  for (const line of r.stdout.trim().split('\n')) {
    const o = JSON.parse(line);
    if (o.type !== 'summary' || o.group === null) continue;
    // softirq groups are labelled with the vector name; the reference uses the number
    const g = by === 'vec' ? String(SOFTIRQ.indexOf(o.group)) : o.group;
    out.set(g, o);
  }
  return out;
}

describe('CTF latency statistics equal a babeltrace-based reference', {
  skip: !haveBabeltrace && 'needs babeltrace',
}, () => {
  for (const trace of ['lttng-many-threads', 'lttng-arm-bug446190', 'lttng-scp-src', 'lttng-scp-dest']) {
    test(trace, () => {
      const dir = `${TRACES}${trace}`;
      const ref = reference(babeltrace(dir), trace === 'lttng-many-threads');
      let compared = 0;
      for (const [key, groups] of ref) {
        const [analysis, by] = key.split('/');
        const got = ours(dir, analysis, by);
        const onlyOurs = [...got.keys()].filter((g) => !groups.has(g));
        const onlyRef = [...groups.keys()].filter((g) => !got.has(g));
        assert.deepEqual({ onlyOurs, onlyRef }, { onlyOurs: [], onlyRef: [] }, `${trace} ${key}: the same groups`);
        for (const [group, want] of groups) {
          const o = got.get(group) as Record<string, unknown>;
          const what = `${trace} ${analysis} ${by}=${group}`;
          assert.equal(o.count, want.count, `${what} count`);
          assert.equal(BigInt(o.min_ns as number), want.min, `${what} min`);
          assert.equal(BigInt(o.max_ns as number), want.max, `${what} max`);
          assert.equal(BigInt(o.sum_ns as number), want.sum, `${what} sum`);
          const mean = Number(want.sum) / want.count;
          assert.ok(Math.abs((o.mean_ns as number) - mean) <= 0.05 + mean * 1e-12, `${what} mean`);
          compared++;
        }
      }
      assert.ok(compared > 5, `${trace}: ${compared} groups compared`);
    });
  }
});
