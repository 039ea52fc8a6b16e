/**
 * trace.dat decoding throughput: records per second, decode only (read + decompress + page walk, per CPU) and decode +
 * merge (the full `TraceSource.run`), against `trace-cmd report -R FILE > /dev/null` on the same file in the same
 * run. The file is a recording of at least 5 M events made on this machine (private instance, raw_syscalls + sched,
 * a busy workload, `trace-cmd extract`), cached under .bench-data/ (git-ignored).
 * Measures the built package (`dist/`; `npm run bench` builds it first).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { maxRecordsPerPage, PageResult, RecordBatch, walkPage } from '../dist/ftrace/page.js';
import { RecordFormatter } from '../dist/ftrace/report.js';
import { forEachPage, openTraceDat } from '../dist/sources/tracedat/index.js';
import { type BenchResult, bestOf } from './util.ts';

const TRACEFS = process.env.TRACEFS ?? '/sys/kernel/tracing';
const DATA = new URL('../.bench-data/', import.meta.url).pathname;
const TARGET = 5_000_000;

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
}

function entries(inst: string): number {
  let n = 0;
  const cpus = Number(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim().split('-').at(-1)) + 1;
  for (let c = 0; c < cpus; c++) {
    const s = readFileSync(join(inst, `per_cpu/cpu${c}/stats`), 'utf8');
    n += Number(/^entries: (\d+)/m.exec(s)?.[1] ?? 0);
  }
  return n;
}

/** Records ≥ 5 M events into `path` (v7, zstd as trace-cmd writes by default). Needs root and tracefs. */
export function recordBenchTrace(path: string): void {
  const name = `lt-test-bench-${process.pid}`;
  const inst = join(TRACEFS, 'instances', name);
  mkdirSync(inst);
  const write = (f: string, v: string) => writeFileSync(join(inst, f), v);
  try {
    write('buffer_size_kb', String(256 * 1024)); // per CPU; ~5 M events need ~300 MB in total
    write('options/overwrite', '0'); // keep the first events rather than overwrite them
    for (const e of ['raw_syscalls', 'sched/sched_switch', 'sched/sched_waking', 'sched/sched_wakeup']) {
      write(`events/${e}/enable`, '1');
    }
    write('tracing_on', '1');
    // A busy mix on both CPUs: dd copying byte by byte (2 syscalls per byte), a file-tree walk and /proc reads
    // (varied syscalls, wake-ups, switches); repeated until the buffer holds enough.
    const load =
      'dd if=/dev/zero of=/dev/null bs=1 count=300000 2>/dev/null & ' +
      'find /usr -xdev > /dev/null 2>&1 & ' +
      'for i in $(seq 200); do cat /proc/[0-9]*/stat > /dev/null 2>&1; done & wait';
    for (let round = 0; round < 40 && entries(inst) < TARGET * 1.05; round++) sh('sh', ['-c', load]);
    write('tracing_on', '0');
    if (entries(inst) < TARGET) throw new Error(`only ${entries(inst)} events recorded`);
    sh('trace-cmd', ['extract', '-B', name, '-o', path]);
  } finally {
    try {
      write('tracing_on', '0');
      for (const e of ['raw_syscalls', 'sched/sched_switch', 'sched/sched_waking', 'sched/sched_wakeup']) {
        write(`events/${e}/enable`, '0');
      }
    } catch {}
    if (existsSync(inst)) rmdirSync(inst); // `trace-cmd extract -B` may already have removed it
  }
}

/** The cached recording (made on first use). */
export function benchTrace(): string {
  mkdirSync(DATA, { recursive: true });
  const path = join(DATA, 'decode-5M.dat');
  if (!existsSync(path)) recordBenchTrace(path);
  return path;
}

async function decodeOnly(path: string): Promise<number> {
  const src = await openTraceDat(path);
  const batch = new RecordBatch(maxRecordsPerPage(src.layout));
  const res = new PageResult();
  let n = 0;
  for (const cpu of src.buffers.find((b) => b.name === src.buffer)?.cpus ?? []) {
    await forEachPage(src, cpu, (bytes, off, len) => {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      walkPage(view, off, len, src.layout, 0, 0, batch, 0, res);
      n += res.records;
    });
  }
  return n;
}

/** Decode + merge of a whole trace.dat into a counting sink (the baseline of the analyze bench too). */
export async function decodeMerge(path: string): Promise<number> {
  const src = await openTraceDat(path);
  let n = 0;
  await src.run({
    record() {
      n++;
    },
  });
  return n;
}

/** Decode + merge + the trace-cmd-style text line of every record (what `report -R` does), for a like-for-like row. */
async function decodeFormat(path: string): Promise<number> {
  const src = await openTraceDat(path);
  const fmt = new RecordFormatter(src.schema, {
    origin: src.originNs,
    clock: src.clock,
    buffer: src.buffer,
    comm: (t) => src.comm(t),
  });
  let n = 0;
  let chars = 0;
  await src.run({
    record(r) {
      n++;
      chars += fmt.formatLine(r).length;
    },
  });
  return chars > 0 ? n : 0;
}

async function rate(runs: number, fn: () => Promise<number>): Promise<{ rate: number; records: number }> {
  let best = 0;
  let records = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    records = await fn();
    best = Math.max(best, (records / (performance.now() - t0)) * 1000);
  }
  return { rate: best, records };
}

function traceCmdRate(path: string, records: number): number {
  return bestOf(2, () => {
    const out = openSync('/dev/null', 'w');
    try {
      const t0 = performance.now();
      const r = spawnSync('trace-cmd', ['report', '-R', path], { stdio: ['ignore', out, 'ignore'] });
      if (r.status !== 0) return Number.NaN;
      return (records / (performance.now() - t0)) * 1000;
    } finally {
      closeSync(out);
    }
  });
}

export interface DecodeBench {
  file: string;
  bytes: number;
  records: number;
  rows: BenchResult[];
}

/** Runs the decode benchmark on `path` (v7 zstd) and on an uncompressed copy of it. */
export async function decodeBench(path = benchTrace()): Promise<DecodeBench[]> {
  const none = path.replace(/\.dat$/, '-none.dat');
  if (!existsSync(none)) sh('trace-cmd', ['convert', '-i', path, '--compression', 'none', '-o', none]);
  const out: DecodeBench[] = [];
  for (const file of [path, none]) {
    await decodeMerge(file); // warm up
    const dec = await rate(3, () => decodeOnly(file));
    const all = await rate(3, () => decodeMerge(file));
    const txt = await rate(1, () => decodeFormat(file));
    const tc = traceCmdRate(file, all.records);
    out.push({
      file,
      bytes: statSync(file).size,
      records: all.records,
      rows: [
        { name: 'records/s, decode only vs trace-cmd report -R', value: dec.rate, baseline: tc },
        { name: 'records/s, decode + merge vs trace-cmd report -R', value: all.rate, baseline: tc },
        { name: 'records/s, + text lines vs trace-cmd report -R', value: txt.rate, baseline: tc },
      ],
    });
  }
  return out;
}
