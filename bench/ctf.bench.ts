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
 * trace, so compact 27-bit timestamps stay valid and every stream stays in order. Returns the event count.
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
  await copyFile(metaPath, join(out, 'metadata'));
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
}

/** Reads the whole trace once, counting records; returns events/s (open included). */
async function readRate(dir: string): Promise<{ rate: number; events: number; ms: number }> {
  const t0 = performance.now();
  const src = await openCtfTrace(dir);
  let n = 0;
  await src.run({
    record() {
      n++;
    },
  });
  const ms = performance.now() - t0;
  return { rate: (n / ms) * 1000, events: n, ms };
}

/** Reads the trace and pairs sys_enter/sys_exit per tid with the core tracker, as lttng-syscallstats does. */
async function syscallRate(dir: string): Promise<{ rate: number; pairs: number }> {
  const t0 = performance.now();
  const src = await openCtfTrace(dir);
  const enter = src.schema.find('raw_syscalls:sys_enter')?.id ?? -1;
  const exit = src.schema.find('raw_syscalls:sys_exit')?.id ?? -1;
  const t = createTracker({ capacity: 65536, threshold: 1e15 });
  const count = new Float64Array(20000);
  const total = new Float64Array(20000);
  let n = 0;
  let pairs = 0;
  await src.run({
    record(r) {
      n++;
      if (r.id === enter) t.eventIn(r.pid, r.ts, { unique: true });
      else if (r.id === exit) {
        const lat = t.eventOut(r.pid, r.ts);
        if (lat >= 0) {
          const id = r.view.getInt32(r.off + 8, true);
          const k = id >= 0 && id < 20000 ? id : 0;
          count[k]++;
          total[k] += lat;
          pairs++;
        }
      }
    },
  });
  const ms = performance.now() - t0;
  return { rate: (n / ms) * 1000, pairs };
}

/** Wall time of a fresh `node` process reading the trace once (what a one-shot CLI run costs). */
function coldNodeMs(dir: string): number {
  const script = `import('${resolve(import.meta.dirname, '../dist/sources/ctf/index.js')}').then(async (m) => {
    const s = await m.openCtfTrace(${JSON.stringify(dir)}); let n = 0; await s.run({ record() { n++; } });
    if (n === 0) process.exit(1); })`;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['-e', script], { stdio: 'inherit' });
  if (r.status !== 0) return Number.NaN;
  return performance.now() - t0;
}

/** Wall time of `lttng-syscallstats` on `dir`, or undefined when it is not installed. */
function lttngSyscallstatsMs(dir: string): number | undefined {
  const bin = '/usr/bin/lttng-syscallstats';
  if (!existsSync(bin)) return undefined;
  const t0 = performance.now();
  const r = spawnSync(bin, ['--no-progress', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) {
    console.log(`  lttng-syscallstats failed: ${r.stderr.toString().trim().split('\n').pop()}`);
    return undefined;
  }
  return ms;
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

  for (let k = 0; k < 2; k++) await readRate(MANY_THREADS); // warm-up
  let best = { rate: 0, events: 0, ms: 0 };
  for (let k = 0; k < 5; k++) {
    const r = await readRate(MANY_THREADS);
    if (r.rate > best.rate) best = r;
  }
  let bestSys = { rate: 0, pairs: 0 };
  for (let k = 0; k < 5; k++) {
    const r = await syscallRate(MANY_THREADS);
    if (r.rate > bestSys.rate) bestSys = r;
  }
  let bigBest = { rate: 0, events: 0, ms: 0 };
  for (let k = 0; k < 3; k++) {
    const r = await readRate(big);
    if (r.rate > bigBest.rate) bigBest = r;
  }
  let bigSys = { rate: 0, pairs: 0 };
  for (let k = 0; k < 3; k++) {
    const r = await syscallRate(big);
    if (r.rate > bigSys.rate) bigSys = r;
  }
  const cold = coldNodeMs(MANY_THREADS);
  const lttngMs = lttngSyscallstatsMs(MANY_THREADS);
  const lttngRate = lttngMs === undefined ? undefined : (best.events / lttngMs) * 1000;
  rows.push({ name: 'many-threads: read + map, events/s', value: best.rate, baseline: lttngRate, unit: 'ev/s' });
  rows.push({
    name: 'many-threads: + syscall pairing, events/s',
    value: bestSys.rate,
    baseline: lttngRate,
    unit: 'ev/s',
  });
  const coldRate = (best.events / cold) * 1000;
  rows.push({ name: 'many-threads: fresh node process, events/s', value: coldRate, baseline: lttngRate, unit: 'ev/s' });
  let bigLttng: number | undefined;
  if (opts.lttngOnLarge) {
    const ms = lttngSyscallstatsMs(big);
    if (ms !== undefined) bigLttng = (bigBest.events / ms) * 1000;
  }
  rows.push({
    name: `${opts.copies}x many-threads: read + map, events/s`,
    value: bigBest.rate,
    baseline: bigLttng,
    unit: 'ev/s',
  });
  rows.push({
    name: `${opts.copies}x many-threads: + syscall pairing`,
    value: bigSys.rate,
    baseline: bigLttng,
    unit: 'ev/s',
  });
  notes.push(
    `many-threads: ${best.events} events, best read ${best.ms.toFixed(1)} ms; ${bestSys.pairs} syscall pairs; ` +
      `fresh process ${cold.toFixed(0)} ms`,
  );
  notes.push(
    `${opts.copies}x trace: ${bigBest.events} events, ${(bigBytes / 1048576).toFixed(1)} MiB, best read ${bigBest.ms.toFixed(0)} ms`,
  );
  if (lttngMs === undefined) {
    notes.push('lttng-syscallstats not installed (apt-get install python3-lttnganalyses): no baseline');
  } else notes.push(`lttng-syscallstats on many-threads: ${lttngMs.toFixed(0)} ms wall (baseline = events / wall)`);
  return { rows, notes };
}
