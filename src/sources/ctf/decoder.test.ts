/**
 * Decoding details on a small CTF trace written byte by byte here: what the shared LTTng traces do not contain
 * (stream event context with `_tid`/`_procname`, big-endian fields, bit fields, floats, enums with implicit values,
 * variants in payloads, sequences whose length is in the packet context, 27-bit timestamp wrap, lost events, two
 * CPUs with equal timestamps), checked value by value.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { EventFormat, TraceRecord } from '../../ftrace/types.ts';
import { openCtfTrace } from './index.ts';

const UUID = '2a6422d0-6cee-11e0-8c08-cb07d7b3a564';
const UUID_BYTES = UUID.replace(/-/g, '')
  .match(/../g)!
  .map((h) => Number.parseInt(h, 16));

const METADATA = `/* CTF 1.8 */
typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 16; align = 8; signed = false; } := uint16_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 64; align = 8; signed = false; } := uint64_t;
typealias integer { size = 5; align = 1; signed = false; } := uint5_t;
// a two-word alias, as LTTng writes "unsigned long"
typealias integer { size = 64; align = 8; signed = false; } := unsigned long;
trace {
  major = 1; minor = 8; uuid = "${UUID}"; byte_order = le;
  packet.header := struct { uint32_t magic; uint8_t uuid[16]; uint32_t stream_id; };
};
env { hostname = "test"; domain = "kernel"; sysname = "Linux"; kernel_release = "4.4.0"; arch = "x86_64";
  tracer_name = "lttng-modules"; tracer_major = 2; tracer_minor = 12; tracer_patchlevel = 0; };
clock { name = "monotonic"; freq = 1000000000; offset = 1000000000000; };
typealias integer { size = 27; align = 1; signed = false; map = clock.monotonic.value; } := uint27_clock_monotonic_t;
typealias integer { size = 64; align = 8; signed = false; map = clock.monotonic.value; } := uint64_clock_monotonic_t;
struct packet_context {
  uint64_clock_monotonic_t timestamp_begin; uint64_clock_monotonic_t timestamp_end;
  uint64_t content_size; uint64_t packet_size; unsigned long events_discarded; uint32_t cpu_id; uint16_t nseq;
};
struct event_header_compact {
  enum : uint5_t { compact = 0 ... 30, extended = 31 } id;
  variant <id> {
    struct { uint27_clock_monotonic_t timestamp; } compact;
    struct { uint32_t id; uint64_clock_monotonic_t timestamp; } extended;
  } v;
} align(8);
stream {
  id = 0; event.header := struct event_header_compact; packet.context := struct packet_context;
  event.context := struct {
    integer { size = 32; align = 8; signed = 1; } _tid;
    integer { size = 8; align = 8; signed = 0; encoding = UTF8; } _procname[16];
  };
};
event { name = "sched_switch"; id = 0; stream_id = 0; fields := struct {
  integer { size = 8; align = 8; signed = 0; encoding = UTF8; } _prev_comm[16];
  integer { size = 32; align = 8; signed = 1; } _prev_tid;
  integer { size = 32; align = 8; signed = 1; } _prev_prio;
  integer { size = 64; align = 8; signed = 1; } _prev_state;
  integer { size = 8; align = 8; signed = 0; encoding = UTF8; } _next_comm[16];
  integer { size = 32; align = 8; signed = 1; } _next_tid;
  integer { size = 32; align = 8; signed = 1; } _next_prio;
}; };
event { name = "syscall_entry_read"; id = 1; stream_id = 0; fields := struct { uint32_t _fd; uint64_t _count; }; };
event { name = "syscall_exit_read"; id = 2; stream_id = 0; fields := struct {
  integer { size = 64; align = 8; signed = 1; } _ret; uint64_t _buf; }; };
event { name = "my_event"; id = 3; stream_id = 0; fields := struct {
  integer { size = 16; align = 8; signed = 0; byte_order = be; } _port;
  integer { size = 3; align = 1; signed = 1; } _small;
  integer { size = 13; align = 1; signed = 0; } _rest;
  floating_point { exp_dig = 11; mant_dig = 53; align = 8; } _ratio;
  enum : uint8_t { A = 0, B, "C" = 5 ... 7 } _kind;
  variant <_kind> { uint32_t A; string B; uint16_t C; } _v;
  uint8_t _n;
  integer { size = 16; align = 8; signed = 1; } _vals[_n];
  integer { size = 8; align = 8; signed = 0; encoding = UTF8; } _text[stream.packet.context.nseq];
  string _name;
  uint32_t _arr[3];
}; };
event { name = "irq_softirq_entry"; id = 4; stream_id = 0; fields := struct { uint32_t _vec; }; };
`;

/** Little byte writer: byte-packed little-endian, as lttng-modules writes on x86. */
class Bytes {
  b: number[] = [];
  u8(v: number) {
    this.b.push(v & 255);
    return this;
  }
  u16(v: number, be = false) {
    if (be) this.b.push((v >> 8) & 255, v & 255);
    else this.b.push(v & 255, (v >> 8) & 255);
    return this;
  }
  u32(v: number) {
    for (let k = 0; k < 4; k++) this.b.push(Math.floor(v / 256 ** k) & 255);
    return this;
  }
  u64(v: bigint) {
    for (let k = 0n; k < 8n; k++) this.b.push(Number((v >> (8n * k)) & 255n));
    return this;
  }
  f64(v: number) {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, v, true);
    for (let k = 0; k < 8; k++) this.b.push(dv.getUint8(k));
    return this;
  }
  text(s: string, size?: number) {
    const e = new TextEncoder().encode(s);
    for (let k = 0; k < (size ?? e.length + 1); k++) this.b.push(k < e.length ? e[k] : 0);
    return this;
  }
  put(o: Bytes) {
    this.b.push(...o.b);
    return this;
  }
}

const T0 = 3n * 2n ** 27n + 2n ** 27n - 10n; // low 27 bits: 2^27 - 10, so a small compact timestamp wraps

/** A compact (id < 31, 27-bit time) or extended (id, 64-bit time) header, then the `_tid`/`_procname` context. */
function header(id: number, ts: bigint, tid: number, comm: string, extended = false): Bytes {
  const h = new Bytes();
  if (!extended) h.u32(id | Number((ts & (2n ** 27n - 1n)) << 5n));
  else h.u8(31).u32(id).u64(ts);
  return h.u32(tid).text(comm, 16);
}

function packet(cpu: number, begin: bigint, end: bigint, discarded: number, nseq: number, events: Bytes[]): Bytes {
  const body = new Bytes();
  for (const e of events) body.put(e);
  const headerBytes = 4 + 16 + 4 + 8 * 5 + 4 + 2;
  const content = headerBytes + body.b.length;
  const size = Math.ceil(content / 64) * 64;
  const p = new Bytes().u32(0xc1fc1fc1);
  for (const x of UUID_BYTES) p.u8(x);
  p.u32(0)
    .u64(begin)
    .u64(end)
    .u64(BigInt(content * 8))
    .u64(BigInt(size * 8))
    .u64(BigInt(discarded))
    .u32(cpu)
    .u16(nseq);
  p.put(body);
  while (p.b.length < size) p.u8(0);
  return p;
}

function switchEvent(ts: bigint, prev: [string, number], next: [string, number], state: bigint, ext = false): Bytes {
  return header(0, ts, prev[1], prev[0], ext)
    .put(new Bytes().text(prev[0], 16).u32(prev[1]).u32(20).u64(state))
    .put(
      new Bytes()
        .text(next[0], 16)
        .u32(next[1])
        .u32(-5 >>> 0),
    );
}

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ctf-test-'));
  await writeFile(join(dir, 'metadata'), METADATA);
  // CPU 0: a switch at T0+5, a read entry whose 27-bit time wraps (T0+13), an extended-header my_event, the exit.
  const myEvent = header(3, T0 + 1000n, 42, 'worker', true)
    .put(new Bytes().u16(0x1f90, true)) // port 8080, big-endian
    .put(new Bytes().u16((0b101 & 7) | (4321 << 3))) // small = -3 (3-bit signed), rest = 4321
    .put(new Bytes().f64(0.375).u8(6)) // kind 6 is in "C" = 5 ... 7
    .put(new Bytes().u16(0xbeef)) // variant option C: uint16
    .put(
      new Bytes()
        .u8(3)
        .u16(1)
        .u16(-2 >>> 0)
        .u16(300),
    ) // n = 3, vals
    .put(new Bytes().text('abc', 3)) // text[nseq = 3]
    .put(new Bytes().text('hello'))
    .put(new Bytes().u32(7).u32(8).u32(0xffffffff));
  const cpu0 = packet(0, T0, T0 + 2000n, 0, 3, [
    switchEvent(T0 + 5n, ['swapper/0', 0], ['worker', 42], 0n),
    header(1, T0 + 13n, 42, 'worker').put(new Bytes().u32(3).u64(4096n)),
    myEvent,
    header(2, T0 + 1500n, 42, 'worker', true).put(new Bytes().u64(BigInt.asUintN(64, -11n)).u64(0x7fff0000n)),
  ]);
  // CPU 1: the same time as CPU 0's first event (ties go to the lower CPU), then a packet reporting 2 lost events.
  const cpu1a = packet(1, T0, T0 + 100n, 0, 0, [
    switchEvent(T0 + 5n, ['sh', 7], ['swapper/1', 0], 1n),
    header(4, T0 + 20n, 0, 'swapper/1').put(new Bytes().u32(3)),
  ]);
  const cpu1b = packet(1, T0 + 200n, T0 + 300n, 2, 0, [
    header(4, T0 + 250n, 0, 'swapper/1', true).put(new Bytes().u32(9)),
  ]);
  await writeFile(join(dir, 'chan_0'), new Uint8Array(cpu0.b));
  // Then a packet whose 64-bit counter went back (2 -> 1: the stream was reused): 1 lost, counted from the new value.
  const cpu1c = packet(1, T0 + 3000n, T0 + 3100n, 1, 0, [
    header(4, T0 + 3050n, 0, 'swapper/1', true).put(new Bytes().u32(1)),
  ]);
  await writeFile(join(dir, 'chan_1'), new Uint8Array([...cpu1a.b, ...cpu1b.b, ...cpu1c.b]));
  await writeFile(join(dir, 'notes.txt'), 'not a stream');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Seen {
  name: string;
  format: EventFormat;
  cpu: number;
  ts: number;
  pid: number;
  bytes: Uint8Array;
}

async function readAll(): Promise<{
  seen: Seen[];
  lost: [number, number, number][];
  src: Awaited<ReturnType<typeof openCtfTrace>>;
}> {
  const src = await openCtfTrace(dir);
  const seen: Seen[] = [];
  const lost: [number, number, number][] = [];
  await src.run({
    record(r: TraceRecord) {
      seen.push({
        name: src.eventName,
        format: src.schema.byId(r.id)!,
        cpu: r.cpu,
        ts: r.ts,
        pid: r.pid,
        bytes: r.bytes.slice(r.off, r.off + r.len),
      });
    },
    lost(cpu, count, ts) {
      lost.push([cpu, count, ts]);
    },
  });
  return { seen, lost, src };
}

function field(s: Seen, name: string): { off: number; size: number; dv: DataView } {
  const f = s.format.byName.get(name);
  assert.ok(f, `${s.format.name} has ${name}`);
  return { off: f.offset, size: f.size, dv: new DataView(s.bytes.buffer, s.bytes.byteOffset) };
}
const i32 = (s: Seen, n: string) => {
  const f = field(s, n);
  return f.size === 8
    ? Number(f.dv.getBigInt64(f.off, true))
    : f.size === 2
      ? f.dv.getInt16(f.off, true)
      : f.dv.getInt32(f.off, true);
};
const u = (s: Seen, n: string) => {
  const f = field(s, n);
  if (f.size === 1) return f.dv.getUint8(f.off);
  if (f.size === 2) return f.dv.getUint16(f.off, true);
  if (f.size === 4) return f.dv.getUint32(f.off, true);
  return Number(f.dv.getBigUint64(f.off, true));
};
const str = (s: Seen, n: string) => {
  const f = s.format.byName.get(n)!;
  let start = f.offset;
  let max = f.size;
  if (f.kind === 'dynamic') {
    const loc = new DataView(s.bytes.buffer, s.bytes.byteOffset).getUint32(f.offset, true);
    start = loc & 0xffff;
    max = loc >>> 16;
  }
  let e = start;
  while (e < start + max && s.bytes[e] !== 0) e++;
  return new TextDecoder().decode(s.bytes.subarray(start, e));
};

test('merge order, timestamps (27-bit wrap, extended), CPUs, tids from the _tid context', async () => {
  const { seen, src } = await readAll();
  assert.deepEqual(
    seen.map((s) => [s.name, s.cpu, s.ts, s.pid]),
    [
      ['sched_switch', 0, 0, 0], // tie at T0+5 with CPU 1: CPU 0 first
      ['sched_switch', 1, 0, 7],
      ['syscall_entry_read', 0, 8, 42], // 27-bit value 3 < 2^27-10: one wrap
      ['irq_softirq_entry', 1, 15, 0],
      ['irq_softirq_entry', 1, 245, 0],
      ['my_event', 0, 995, 42],
      ['syscall_exit_read', 0, 1495, 42],
      ['irq_softirq_entry', 1, 3045, 0],
    ],
  );
  assert.equal(src.originNs, 1000000000000n + T0 + 5n);
  assert.equal(src.cpus, 2);
  assert.equal(src.arch, 'x86_64');
  assert.deepEqual(
    src.streamPaths.map((p) => p.slice(dir.length + 1)),
    ['chan_0', 'chan_1'],
  );
  assert.equal(src.comm(42), 'worker', 'from the _procname context');
  assert.equal(src.comm(7), 'sh');
});

test('events_discarded becomes a lost-events report before the packet’s first event', async () => {
  const { lost } = await readAll();
  assert.deepEqual(lost, [
    [1, 2, 245],
    [1, 1, 3045],
  ]);
});

test('mapped events: ftrace names, fields and syscall numbers', async () => {
  const { seen } = await readAll();
  const sw = seen[0];
  assert.equal(`${sw.format.system}:${sw.format.name}`, 'sched:sched_switch');
  assert.equal(str(sw, 'prev_comm'), 'swapper/0');
  assert.equal(i32(sw, 'prev_pid'), 0);
  assert.equal(i32(sw, 'next_pid'), 42);
  assert.equal(str(sw, 'next_comm'), 'worker');
  assert.equal(i32(sw, 'next_prio'), -5);
  assert.equal(i32(seen[1], 'prev_state'), 1);
  const enter = seen[2];
  assert.equal(`${enter.format.system}:${enter.format.name}`, 'raw_syscalls:sys_enter');
  assert.equal(i32(enter, 'id'), 0, 'x86_64 read');
  const exit = seen[6];
  assert.equal(`${exit.format.system}:${exit.format.name}`, 'raw_syscalls:sys_exit');
  assert.equal(i32(exit, 'id'), 0);
  assert.equal(i32(exit, 'ret'), -11);
  assert.equal(`${seen[3].format.system}:${seen[3].format.name}`, 'irq:softirq_entry');
  assert.equal(u(seen[3], 'vec'), 3);
  assert.equal(u(seen[4], 'vec'), 9);
  // the common header
  const dv = new DataView(enter.bytes.buffer, enter.bytes.byteOffset);
  assert.equal(dv.getUint16(0, true), enter.format.id);
  assert.equal(dv.getInt32(4, true), 42);
});

test('generic lttng: format — BE, bit fields, float, enum, variant, sequences, string, array', async () => {
  const { seen } = await readAll();
  const e = seen[5];
  assert.equal(`${e.format.system}:${e.format.name}`, 'lttng:my_event');
  assert.equal(u(e, 'port'), 8080);
  assert.equal(field(e, 'small').dv.getInt8(field(e, 'small').off), -3);
  assert.equal(u(e, 'rest'), 4321);
  const r = field(e, 'ratio');
  assert.equal(r.dv.getFloat64(r.off, true), 0.375);
  assert.equal(e.format.byName.get('ratio')!.type, 'double');
  assert.equal(u(e, 'kind'), 6);
  assert.equal(u(e, 'v.C'), 0xbeef);
  assert.equal(u(e, 'v.A'), 0, 'options not selected read as zero');
  assert.equal(str(e, 'v.B'), '');
  assert.equal(u(e, 'n'), 3);
  const vals = e.format.byName.get('vals')!;
  assert.equal(vals.kind, 'dynamic');
  const loc = new DataView(e.bytes.buffer, e.bytes.byteOffset).getUint32(vals.offset, true);
  const dv = new DataView(e.bytes.buffer, e.bytes.byteOffset + (loc & 0xffff));
  assert.deepEqual([dv.getInt16(0, true), dv.getInt16(2, true), dv.getInt16(4, true)], [1, -2, 300]);
  assert.equal(loc >>> 16, 6);
  assert.equal(str(e, 'text'), 'abc', 'length from stream.packet.context.nseq');
  assert.equal(str(e, 'name'), 'hello');
  const arr = field(e, 'arr');
  assert.deepEqual(
    [0, 1, 2].map((k) => arr.dv.getUint32(arr.off + 4 * k, true)),
    [7, 8, 0xffffffff],
  );
});

test('strict mode throws a one-line CtfStreamError at a damaged packet', async () => {
  const bad = await mkdtemp(join(tmpdir(), 'ctf-bad-'));
  try {
    await writeFile(join(bad, 'metadata'), METADATA);
    const p = packet(0, T0, T0 + 10n, 0, 0, [header(9, T0 + 1n, 1, 'x')]); // id 9 is not declared
    await writeFile(join(bad, 'chan_0'), new Uint8Array(p.b));
    const lenient = await openCtfTrace(bad);
    const stats = await lenient.run({ record() {} });
    assert.equal(stats.records, 0);
    assert.equal(stats.errors.ctf_unknown_event_id, 1);
    assert.match(lenient.warnings[0], /chan_0: offset 70 \(0x46\): unknown event id 9; rest of the packet skipped/);
    await assert.rejects(openCtfTrace(bad, { strict: true }), (e: Error) => {
      assert.equal(e.name, 'CtfStreamError');
      assert.match(e.message, /chan_0: offset 70 .*unknown event id 9/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  } finally {
    await rm(bad, { recursive: true, force: true });
  }
});
