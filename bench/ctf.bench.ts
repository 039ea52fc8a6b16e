/**
 * CTF reader throughput (built package, `dist/`): events/s reading + mapping the shared `lttng-many-threads` trace
 * (240 k events) and a 20× larger trace made from its packets, alone and with a syscall latency pairing on top,
 * against `lttng-syscallstats` (Debian python3-lttnganalyses) on the same trace when it is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createTracker } from '../dist/index.js';
import { compileTrace, FormatRegistry } from '../dist/sources/ctf/compile.js';
import { FETCH_NEED_IO, FETCH_OK, StreamDecoder } from '../dist/sources/ctf/decoder.js';
import { openCtfTrace, parseMetadata } from '../dist/sources/ctf/index.js';
import type { BenchResult } from './util.ts';

const SHARED = resolve(import.meta.dirname, '../../shared/traces');
export const MANY_THREADS = join(SHARED, 'lttng-many-threads/kernel');
const DATA = resolve(import.meta.dirname, '../.bench-data');

/**
 * Writes `copies` back-to-back copies of every stream of `src` into `out`, each copy's 64-bit clock fields (packet
 * `timestamp_begin`/`timestamp_end`, extended event timestamps) shifted by a multiple of 2^27 ns longer than the
 * trace, so compact 27-bit timestamps stay valid and every stream stays in order. The metadata is written last: its
 * presence marks a complete copy (an interrupted build is redone, not reused).
 */
export async function buildConcatenatedTrace(src: string, out: string, copies: number): Promise<void> {
  const metaPath = join(src, 'metadata');
  const trace = parseMetadata(new Uint8Array(await readFile(metaPath)), metaPath);
  const compiled = compileTrace(trace, metaPath, () => ({ target: undefined, special: 0 }), new FormatRegistry());
  const names = (await readdir(src, { withFileTypes: true }))
    .filter((e) => e.isFile() && e.name !== 'metadata')
    .map((e) => e.name);
  const streams: { name: string; bytes: Uint8Array; clocks: number[] }[] = [];
  let minTs = 2n ** 64n;
  let maxTs = 0n;
  for (const name of names) {
    const bytes = new Uint8Array(await readFile(join(src, name)));
    const clocks: number[] = [];
    const dec = new StreamDecoder(compiled, name, bytes.length, 0, (st: string, off: number) => {
      throw new Error(`${name}: ${st} at ${off}`);
    });
    dec.onClock64 = (i: number) => clocks.push(i);
    dec.setBuffer(bytes, 0, bytes.length);
    let st = dec.fetch();
    while (st === FETCH_OK || st === FETCH_NEED_IO) {
      if (st === FETCH_NEED_IO) throw new Error(`${name}: unexpected read request`);
      st = dec.fetch();
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (const i of clocks) {
      const v = dv.getBigUint64(i, true);
      if (v < minTs) minTs = v;
      if (v > maxTs) maxTs = v;
    }
    streams.push({ name, bytes, clocks: [...new Set(clocks)] });
  }
  const unit = 1n << 27n;
  const shift = ((maxTs - minTs) / unit + 1n) * unit;
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  for (const s of streams) {
    const all = new Uint8Array(s.bytes.length * copies);
    const dv = new DataView(all.buffer);
    for (let k = 0; k < copies; k++) {
      const base = k * s.bytes.length;
      all.set(s.bytes, base);
      if (k === 0) continue;
      for (const i of s.clocks) dv.setBigUint64(base + i, dv.getBigUint64(base + i, true) + BigInt(k) * shift, true);
    }
    await writeFile(join(out, s.name), all);
  }
  await copyFile(metaPath, join(out, 'metadata'));
}

/** Events/s of one pass, by wall clock and by CPU time (user + system) of this process. */
interface Rate {
  wall: number;
  cpu: number;
  events: number;
  ms: number;
}

async function timed(fn: () => Promise<number>): Promise<Rate> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const events = await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  return { wall: (events / ms) * 1000, cpu: (events / cpuMs) * 1000, events, ms };
}

function best(rs: Rate[]): Rate {
  return {
    wall: Math.max(...rs.map((r) => r.wall)),
    cpu: Math.max(...rs.map((r) => r.cpu)),
    events: rs[0].events,
    ms: Math.min(...rs.map((r) => r.ms)),
  };
}

/** Reads the whole trace once (open included), counting records. */
function readAll(dir: string): Promise<Rate> {
  return timed(async () => {
    const src = await openCtfTrace(dir);
    let n = 0;
    await src.run({
      record() {
        n++;
      },
    });
    return n;
  });
}

const UNIQUE = { unique: true };

/** Reads the trace and pairs sys_enter/sys_exit per tid with the core tracker, as lttng-syscallstats does. */
function readAndPair(dir: string): Promise<Rate> {
  return timed(async () => {
    const src = await openCtfTrace(dir);
    const enter = src.schema.find('raw_syscalls:sys_enter')?.id ?? -1;
    const exit = src.schema.find('raw_syscalls:sys_exit')?.id ?? -1;
    const t = createTracker({ capacity: 65536, threshold: 1e15 });
    const count = new Float64Array(20000);
    const total = new Float64Array(20000);
    let n = 0;
    await src.run({
      record(r) {
        n++;
        if (r.id === enter) t.eventIn(r.pid, r.ts, UNIQUE);
        else if (r.id === exit) {
          const lat = t.eventOut(r.pid, r.ts);
          if (lat >= 0) {
            const id = r.view.getInt32(r.off + 8, true);
            const k = id >= 0 && id < 20000 ? id : 0;
            count[k]++;
            total[k] += lat;
          }
        }
      },
    });
    return n;
  });
}

/** Wall and CPU (user + system) milliseconds of a command, from bash's `time`. */
function timeCommand(argv: string[]): { wall: number; cpu: number } | undefined {
  const quoted = argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%3U %3S'; time ${quoted} > /dev/null 2>/tmp/ctf-bench-stderr`], {
    encoding: 'utf8',
  });
  const wall = performance.now() - t0;
  if (r.status !== 0) return undefined;
  const [u, sy] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { wall, cpu: (u + sy) * 1000 };
}

/** A fresh `node` process reading the trace once (what a one-shot CLI run costs). */
function coldNode(dir: string): { wall: number; cpu: number } | undefined {
  const script = `import('${resolve(import.meta.dirname, '../dist/sources/ctf/index.js')}').then(async (m) => {
    const s = await m.openCtfTrace(${JSON.stringify(dir)}); let n = 0; await s.run({ record() { n++; } });
    if (n === 0) process.exit(1); })`;
  return timeCommand([process.execPath, '-e', script]);
}

/** `lttng-syscallstats` on `dir`, or undefined when it is not installed. */
function lttngSyscallstats(dir: string): { wall: number; cpu: number } | undefined {
  const bin = '/usr/bin/lttng-syscallstats';
  if (!existsSync(bin)) return undefined;
  return timeCommand([bin, '--no-progress', dir]);
}

export interface CtfBenchOptions {
  copies: number;
  /** Also run lttng-syscallstats on the large trace (minutes). */
  lttngOnLarge: boolean;
}

export async function ctfBench(opts: CtfBenchOptions): Promise<{ rows: BenchResult[]; notes: string[] }> {
  const rows: BenchResult[] = [];
  const notes: string[] = [];
  const big = join(DATA, `ctf-many-threads-x${opts.copies}`, 'kernel');
  if (!existsSync(join(big, 'metadata'))) await buildConcatenatedTrace(MANY_THREADS, big, opts.copies);
  let bigBytes = 0;
  for (const n of await readdir(big)) bigBytes += (await stat(join(big, n))).size;

  const runs = async (fn: () => Promise<Rate>, n: number) => {
    const rs: Rate[] = [];
    for (let k = 0; k < n; k++) rs.push(await fn());
    return best(rs);
  };
  await runs(() => readAll(MANY_THREADS), 2); // warm-up
  const small = await runs(() => readAll(MANY_THREADS), 7);
  const smallPair = await runs(() => readAndPair(MANY_THREADS), 7);
  const large = await runs(() => readAll(big), 3);
  const largePair = await runs(() => readAndPair(big), 3);
  const cold = coldNode(MANY_THREADS);
  const lt = lttngSyscallstats(MANY_THREADS);
  const ev = small.events;
  const lw = lt ? (ev / lt.wall) * 1000 : undefined;
  const lc = lt ? (ev / lt.cpu) * 1000 : undefined;
  rows.push({ name: 'many-threads read+map, wall', value: small.wall, baseline: lw, unit: 'ev/s' });
  rows.push({ name: 'many-threads read+map, CPU time', value: small.cpu, baseline: lc, unit: 'ev/s' });
  rows.push({ name: 'many-threads read+map+syscall pairs, CPU', value: smallPair.cpu, baseline: lc, unit: 'ev/s' });
  if (cold) {
    rows.push({
      name: 'many-threads fresh node process, wall',
      value: (ev / cold.wall) * 1000,
      baseline: lw,
      unit: 'ev/s',
    });
    rows.push({
      name: 'many-threads fresh node process, CPU',
      value: (ev / cold.cpu) * 1000,
      baseline: lc,
      unit: 'ev/s',
    });
  }
  let blw: number | undefined;
  let blc: number | undefined;
  if (opts.lttngOnLarge) {
    const b = lttngSyscallstats(big);
    if (b) {
      blw = (large.events / b.wall) * 1000;
      blc = (large.events / b.cpu) * 1000;
    }
  }
  rows.push({ name: `${opts.copies}x read+map, wall`, value: large.wall, baseline: blw, unit: 'ev/s' });
  rows.push({ name: `${opts.copies}x read+map, CPU time`, value: large.cpu, baseline: blc ?? lc, unit: 'ev/s' });
  rows.push({
    name: `${opts.copies}x read+map+syscall pairs, CPU`,
    value: largePair.cpu,
    baseline: blc ?? lc,
    unit: 'ev/s',
  });
  notes.push(`many-threads: ${ev} events; best pass ${small.ms.toFixed(1)} ms (open + run)`);
  if (cold) notes.push(`fresh node process: ${cold.wall.toFixed(0)} ms wall, ${cold.cpu.toFixed(0)} ms CPU`);
  notes.push(
    `${opts.copies}x trace: ${large.events} events, ${(bigBytes / 1048576).toFixed(1)} MiB, best pass ${large.ms.toFixed(0)} ms`,
  );
  if (lt === undefined) {
    notes.push('lttng-syscallstats not installed (apt-get install python3-lttnganalyses): no baseline');
  } else {
    notes.push(`lttng-syscallstats on many-threads: ${lt.wall.toFixed(0)} ms wall, ${lt.cpu.toFixed(0)} ms CPU`);
    if (!opts.lttngOnLarge)
      notes.push(
        `${opts.copies}x rows compare with lttng-syscallstats' many-threads rate (CTF_BENCH_LTTNG_LARGE=1 runs it on the large trace)`,
      );
  }
  return { rows, notes };
}
