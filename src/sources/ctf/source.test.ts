/**
 * The CTF source on the four shared LTTng traces: event counts per type and time spans exactly as their READMEs give
 * them (babeltrace's counts), merge order, per-CPU tid tracking, comm table, syscall ids, bounded reads.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { absTime } from './dump.ts';
import { countEvents, openCtfTrace } from './index.ts';
import { ASSIGNED_SYSCALL_BASE } from './syscalls.ts';

const TRACES = new URL('../../../../shared/traces/', import.meta.url).pathname;
const dir = (name: string) => `${TRACES}${name}`;

/** ns since the epoch of a UTC date-time with nanoseconds, as READMEs print the scp spans. */
function utcNs(y: number, mo: number, d: number, h: number, mi: number, s: number, ns: number): bigint {
  return BigInt(Date.UTC(y, mo - 1, d, h, mi, s)) * 1_000_000n + BigInt(ns);
}

interface Expect {
  total: number;
  cpus: number;
  first: bigint;
  last: bigint;
  /** Counts the README lists, by LTTng event name. */
  counts: Record<string, number>;
  /** Sums over event names with a prefix. */
  prefixCounts?: Record<string, number>;
  /** Names the README says are absent (prefixes). */
  absent: string[];
  types?: number;
}

// Numbers from each trace's README.md (babeltrace 1.5 / babeltrace2 counts).
const EXPECT: Record<string, Expect> = {
  'lttng-many-threads': {
    total: 240644,
    cpus: 8,
    first: 1457113582794565804n,
    last: 1457113583227228162n,
    counts: {
      sched_switch: 28325,
      sched_waking: 6743,
      sched_wakeup: 6743,
      sched_process_fork: 8003,
      sched_process_exit: 8003,
      sched_process_free: 7639,
      irq_handler_entry: 153,
      irq_handler_exit: 153,
      irq_softirq_entry: 6042,
      irq_softirq_exit: 6042,
      irq_softirq_raise: 6042,
      lttng_statedump_process_state: 581,
    },
    prefixCounts: { syscall_entry_: 78085, syscall_exit_: 78086 },
    absent: ['block_rq_', 'net_', 'netif_'],
  },
  'lttng-arm-bug446190': {
    total: 31556,
    cpus: 4,
    first: 1412670961211260539n,
    last: 1412670967217750839n,
    types: 129,
    counts: {
      sched_switch: 1052,
      sched_wakeup: 566,
      sched_wakeup_new: 2,
      sched_migrate_task: 34,
      sys_ioctl: 340,
      sys_read: 93,
      sys_open: 89,
      sys_unknown: 7,
      exit_syscall: 1811,
      irq_handler_entry: 1357,
      irq_handler_exit: 1357,
      softirq_entry: 893,
      softirq_exit: 893,
      softirq_raise: 893,
      napi_poll: 317,
      netif_receive_skb: 326,
      net_dev_queue: 16,
      net_dev_xmit: 16,
      block_touch_buffer: 2,
    },
    prefixCounts: { sys_: 1817 },
    absent: ['sched_waking', 'block_rq_', 'irq_softirq_'],
  },
  'lttng-scp-src': {
    total: 110771,
    cpus: 1,
    first: utcNs(2013, 2, 18, 19, 1, 16, 525090092),
    last: utcNs(2013, 2, 18, 19, 1, 39, 530082855),
    counts: {
      sched_switch: 594,
      sched_wakeup: 471,
      sched_wakeup_new: 10,
      irq_handler_entry: 151,
      irq_handler_exit: 151,
      softirq_entry: 7216,
      softirq_exit: 7216,
      softirq_raise: 7216,
      block_rq_issue: 69,
      block_rq_insert: 63,
      block_rq_complete: 66,
      block_getrq: 63,
      inet_connect: 1,
      inet_sock_create: 2,
      inet_sock_delete: 1,
      inet_sock_local_in: 25,
      inet_sock_local_out: 26,
    },
    absent: ['syscall_', 'sys_', 'exit_syscall'],
  },
  'lttng-scp-dest': {
    total: 85729,
    cpus: 1,
    first: utcNs(2013, 2, 18, 19, 1, 18, 963711320),
    last: utcNs(2013, 2, 18, 19, 1, 36, 385469974),
    counts: {
      sched_switch: 947,
      sched_wakeup: 666,
      sched_wakeup_new: 21,
      irq_handler_entry: 164,
      irq_handler_exit: 164,
      softirq_entry: 5678,
      softirq_exit: 5678,
      softirq_raise: 5678,
      block_rq_issue: 58,
      block_rq_insert: 54,
      block_rq_complete: 56,
      inet_accept: 1,
      inet_sock_clone: 1,
      inet_sock_create: 3,
      inet_sock_delete: 3,
      inet_sock_local_in: 26,
      inet_sock_local_out: 23,
    },
    absent: ['syscall_', 'sys_', 'exit_syscall'],
  },
};

describe('event counts equal the README (babeltrace) counts', () => {
  for (const [name, e] of Object.entries(EXPECT)) {
    for (const interpretOnly of [false, true]) {
      test(`${name}${interpretOnly ? ' (interpreter only)' : ''}`, async () => {
        const c = await countEvents(dir(name), { interpretOnly });
        assert.equal(c.total, e.total);
        assert.equal(c.stats.records, e.total);
        assert.deepEqual(c.stats.errors, {});
        assert.equal(c.stats.lossReports, 0);
        for (const [ev, n] of Object.entries(e.counts)) assert.equal(c.byName.get(ev), n, ev);
        for (const [prefix, n] of Object.entries(e.prefixCounts ?? {})) {
          let sum = 0;
          for (const [ev, k] of c.byName) if (ev.startsWith(prefix)) sum += k;
          assert.equal(sum, n, `${prefix}*`);
        }
        for (const prefix of e.absent) {
          assert.deepEqual(
            [...c.byName.keys()].filter((k) => k.startsWith(prefix)),
            [],
            `no ${prefix}* events`,
          );
        }
        if (e.types !== undefined) assert.equal(c.byName.size, e.types);
      });
    }
  }
});

describe('generated decoders and the interpreter decode the same bytes', () => {
  for (const name of Object.keys(EXPECT)) {
    test(name, async () => {
      const sums: [number, number][] = [];
      for (const interpretOnly of [false, true]) {
        const src = await openCtfTrace(dir(name), { interpretOnly });
        let n = 0;
        let h = 0;
        await src.run({
          record(r) {
            n++;
            h = (h * 31 + r.id + r.len) % 1_000_000_007;
            for (let k = 0; k < r.len; k++) h = (h * 31 + r.bytes[r.off + k]) % 1_000_000_007;
          },
        });
        sums.push([n, h]);
      }
      assert.ok(sums[0][0] > 0);
      assert.deepEqual(sums[0], sums[1]);
    });
  }
});

describe('timestamps, order, CPUs', () => {
  for (const [name, e] of Object.entries(EXPECT)) {
    test(`${name}: first/last event times equal the README span; merged order; tie → lower CPU`, async () => {
      const src = await openCtfTrace(dir(name));
      assert.equal(src.cpus, e.cpus);
      assert.equal(src.clock, 'monotonic');
      let first = -1;
      let last = -1;
      let prevTs = -1;
      let prevCpu = -1;
      let disorder = 0;
      const cpus = new Set<number>();
      await src.run({
        record(r) {
          if (first < 0) first = r.ts;
          last = r.ts;
          if (r.ts < prevTs || (r.ts === prevTs && r.cpu < prevCpu)) disorder++;
          prevTs = r.ts;
          prevCpu = r.cpu;
          cpus.add(r.cpu);
        },
      });
      assert.equal(disorder, 0);
      assert.equal(first, 0, 'the origin is the first event');
      assert.equal(src.originNs + BigInt(first), e.first);
      assert.equal(src.originNs + BigInt(last), e.last);
      assert.equal(
        absTime(src.originNs, last),
        `${e.last / 1_000_000_000n}.${String(e.last % 1_000_000_000n).padStart(9, '0')}`,
      );
      assert.equal(cpus.size, e.cpus);
    });
  }
});

describe('common_pid: the task running on the CPU', () => {
  for (const name of Object.keys(EXPECT)) {
    test(`${name}: every event between two sched_switch on a CPU carries the prev_tid of the next one`, async (t) => {
      // The trace has no _tid context: the source tracks next_tid per CPU (and finds the task running before the
      // first switch by reading ahead). The next switch's prev_tid is independent evidence of who was running.
      const src = await openCtfTrace(dir(name));
      const sw = src.schema.find('sched:sched_switch');
      assert.ok(sw);
      const prevPid = sw.byName.get('prev_pid')!.offset;
      const since = new Map<number, number[]>();
      let checked = 0;
      let wrong = 0;
      await src.run({
        record(r) {
          if (r.id === sw.id) {
            const prev = r.view.getInt32(r.off + prevPid, true);
            for (const pid of since.get(r.cpu) ?? []) {
              checked++;
              if (pid !== prev) wrong++;
            }
            since.set(r.cpu, []);
            if (r.pid !== prev) wrong++;
          } else {
            let l = since.get(r.cpu);
            if (l === undefined) since.set(r.cpu, (l = []));
            l.push(r.pid);
          }
        },
      });
      assert.ok(checked > 10000, `checked ${checked}`);
      t.diagnostic(`${checked} events checked`);
      assert.equal(wrong, 0);
      assert.equal(src.unknownTid, 0);
    });
  }
});

test('many-threads: x86_64 syscall numbers, comm table from the statedump', async () => {
  const src = await openCtfTrace(dir('lttng-many-threads'));
  assert.equal(src.arch, 'x86_64');
  const enter = src.schema.find('raw_syscalls:sys_enter')!;
  const exit = src.schema.find('raw_syscalls:sys_exit')!;
  const byName = new Map<string, Set<number>>();
  const open = new Map<number, number>();
  let matchedExits = 0;
  let mismatched = 0;
  let sigreturns = 0;
  await src.run({
    record(r) {
      if (r.id === enter.id || r.id === exit.id) {
        const id = Number(r.view.getBigInt64(r.off + 8, true));
        const n = src.eventName.replace(/^syscall_(entry|exit)_/, '');
        let s = byName.get(n);
        if (s === undefined) byName.set(n, (s = new Set()));
        s.add(id);
        if (r.id === enter.id) open.set(r.pid, id);
        else if (open.has(r.pid)) {
          matchedExits++;
          // rt_sigreturn (15) has no event of its own; its exit_unknown reads the restored registers: id -1
          if (open.get(r.pid) === 15 && id === -1 && src.eventName === 'syscall_exit_unknown') sigreturns++;
          else if (open.get(r.pid) !== id) mismatched++;
          open.delete(r.pid);
        }
      }
    },
  });
  // arch/x86/entry/syscalls/syscall_64.tbl
  const x86 = { read: 0, write: 1, open: 2, close: 3, newfstat: 5, mmap: 9, clone: 56, futex: 202, execve: 59 };
  for (const [n, id] of Object.entries(x86)) assert.deepEqual([...(byName.get(n) ?? [])], [id], n);
  for (const [n, ids] of byName) {
    // syscall_{entry,exit}_unknown carry the number in their `id` field: several syscalls LTTng has no event for
    if (n === 'unknown') continue;
    assert.equal(ids.size, 1, `one id for ${n}`);
    assert.equal(src.syscallName([...ids][0]), n);
  }
  assert.ok((byName.get('unknown')?.size ?? 0) > 1);
  assert.ok(matchedExits > 60000);
  assert.equal(mismatched, 0, 'an exit carries the id of its entry');
  assert.equal(sigreturns, 3);
  // lttng-syscallstats on this trace: "genKernelTraces (2673, TID: 2673)", from lttng_statedump_process_state.
  assert.equal(src.comm(2673), 'genKernelTraces');
  assert.match(src.comm(0) ?? '', /^swapper\//); // one tid 0 per CPU: whichever was seen first
});

test('arm (lttng-modules 2.5): assigned syscall ids, exit_syscall gets the id of the pending entry', async () => {
  const src = await openCtfTrace(dir('lttng-arm-bug446190'));
  assert.equal(src.arch, 'arm');
  const enter = src.schema.find('raw_syscalls:sys_enter')!;
  const exit = src.schema.find('raw_syscalls:sys_exit')!;
  const pending = new Map<number, number>();
  let exits = 0;
  let resolved = 0;
  let agree = 0;
  const ids = new Map<string, number>();
  await src.run({
    record(r) {
      const id = Number(r.view.getBigInt64(r.off + 8, true));
      if (r.id === enter.id) {
        const name = src.eventName.slice(4);
        if (name !== 'unknown') {
          assert.ok(id >= ASSIGNED_SYSCALL_BASE);
          assert.equal(src.syscallName(id), name);
          ids.set(name, id);
        }
        pending.set(r.pid, id);
      } else if (r.id === exit.id) {
        exits++;
        if (id !== -1) resolved++;
        if ((pending.get(r.pid) ?? -1) === id) agree++;
        pending.delete(r.pid);
      }
    },
  });
  assert.equal(exits, 1811);
  assert.equal(agree, exits, 'each exit has the id of the last entry of its tid, or -1 when there was none');
  assert.ok(resolved > 1700, `resolved ${resolved}`);
  assert.equal(src.syscallName(ids.get('ioctl')!), 'ioctl');
});

test('small read chunks give the same records (packets larger than a chunk are read whole)', async () => {
  const sums = [];
  for (const chunkSize of [4096, 1 << 20]) {
    const src = await openCtfTrace(dir('lttng-arm-bug446190'), { chunkSize });
    let n = 0;
    let h = 0;
    await src.run({
      record(r) {
        n++;
        for (let k = 0; k < r.len; k++) h = (h * 31 + r.bytes[r.off + k] + r.cpu + r.ts) % 1_000_000_007;
      },
    });
    sums.push([n, h]);
  }
  assert.deepEqual(sums[0], sums[1]);
});

test('stop() ends a run early', async () => {
  const src = await openCtfTrace(dir('lttng-many-threads'));
  let n = 0;
  const stats = await src.run({
    record() {
      if (++n === 1000) src.stop();
    },
  });
  assert.equal(n, 1000);
  assert.equal(stats.records, 1000);
  await assert.rejects(src.run({ record() {} }), /already run/);
});

test('a path without metadata is a one-line CtfError', async () => {
  await assert.rejects(openCtfTrace(TRACES), (e: Error) => {
    assert.equal(e.name, 'CtfError');
    assert.match(e.message, /no CTF trace here/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
});
