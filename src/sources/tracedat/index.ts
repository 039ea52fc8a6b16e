/**
 * trace-cmd `trace.dat` files (versions 6 and 7) as a `TraceSource` (DESIGN §1, §3).
 *
 *   const src = await openTraceDat('trace.dat', { onProgress: (done, total) => ... });
 *   src.buffers;                 // every buffer in the file, with its CPUs
 *   const stats = await src.run({ record(r) { ... }, lost(cpu, n, ts) { ... } });
 *
 * Opening reads the structure and metadata (formats, kallsyms, cmdlines; bounded by the file's own metadata size)
 * and the first page of each CPU (for the time origin). `run` streams the chosen buffer's CPU data in bounded blocks,
 * page by page into a `CpuMerger`, keeping every CPU one page ahead of the merge point, so memory stays bounded
 * whatever the file size.
 */
import { open } from 'node:fs/promises';
import { FormatError, parseEventFormat, parseHeaderEvent, parseHeaderPage } from '../../ftrace/format.ts';
import { Kallsyms } from '../../ftrace/kallsyms.ts';
import { CpuMerger, commonFieldsProblem } from '../../ftrace/merge.ts';
import { PageResult, readPageHeader } from '../../ftrace/page.ts';
import { EventSchema } from '../../ftrace/schema.ts';
import type { EventFormat, PageLayout } from '../../ftrace/types.ts';
import type { RecordSink, SourceStats, TraceSource } from '../types.ts';
import { CpuPages } from './cpu.ts';
import { TraceDatError } from './errors.ts';
import { TraceFile } from './file.ts';
import { type BufferInfo, readTraceDatInfo, type TraceDatInfo } from './header.ts';

export { TraceDatError } from './errors.ts';
export type { BufferInfo, CpuData, TraceDatInfo } from './header.ts';

export interface OpenTraceDatOptions {
  /** Buffer (instance) to read: '' = the top-level buffer. Default: the only buffer with data, else the top one. */
  buffer?: string;
  /** Called as CPU data is read (file bytes), e.g. for a progress line on a TTY. */
  onProgress?(bytesDone: number, bytesTotal: number): void;
  /** Merger page slots per CPU (default 32). */
  maxPagesPerCpu?: number;
}

export interface TraceDatBuffer {
  name: string;
  clock: string;
  pageSize: number;
  /** CPUs that have data. */
  cpus: number[];
  /** Bytes of CPU data on disk. */
  bytes: number;
}

export interface TraceDatSource extends TraceSource {
  readonly kind: 'tracedat';
  readonly path: string;
  readonly version: 6 | 7;
  readonly compression: string;
  readonly uname: string | undefined;
  readonly tracecmdVersion: string | undefined;
  readonly buffers: readonly TraceDatBuffer[];
  /** Name of the buffer `run` reads. */
  readonly buffer: string;
  readonly layout: PageLayout;
  /** Event formats that did not parse (their records count as UNKNOWN_EVENT_ID). */
  readonly formatErrors: readonly FormatError[];
  /** Parsed file structure (texts of the embedded metadata). */
  readonly info: TraceDatInfo;
}

/** `pid comm` lines (`saved_cmdlines`); the first comm of a pid wins, as in libtraceevent. */
export function parseCmdlines(text: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const pidText = line.slice(0, sp);
    if (!/^-?\d+$/.test(pidText)) continue;
    const pid = Number(pidText);
    if (!m.has(pid)) m.set(pid, line.slice(sp + 1));
  }
  return m;
}

function chooseBuffer(path: string, info: TraceDatInfo, want: string | undefined): BufferInfo {
  const bufs = info.buffers.filter((b) => !b.text);
  if (want !== undefined) {
    const b = bufs.find((x) => x.name === want);
    if (b === undefined) {
      const names = bufs.map((x) => (x.name === '' ? '(top)' : x.name)).join(', ');
      throw new TraceDatError(path, 0, `no buffer named "${want}" (buffers: ${names || 'none'})`);
    }
    return b;
  }
  const withData = bufs.filter((b) => b.cpus.length > 0);
  if (withData.length === 1) return withData[0];
  const top = bufs.find((b) => b.name === '');
  if (top !== undefined) return top;
  if (bufs.length > 0) return bufs[0];
  throw new TraceDatError(path, 0, 'the file has no ring-buffer data (latency-format text only)');
}

export async function openTraceDat(path: string, opts: OpenTraceDatOptions = {}): Promise<TraceDatSource> {
  const fh = await open(path, 'r');
  let info: TraceDatInfo;
  let file: TraceFile;
  try {
    const st = await fh.stat();
    file = new TraceFile(fh, path, st.size);
    info = await readTraceDatInfo(file);
    file.le = info.littleEndian;
  } catch (e) {
    await fh.close();
    throw e;
  }
  try {
    return await buildSource(path, file, info, opts);
  } finally {
    await fh.close();
  }
}

async function buildSource(
  path: string,
  file: TraceFile,
  info: TraceDatInfo,
  opts: OpenTraceDatOptions,
): Promise<TraceDatSource> {
  const le = info.littleEndian;
  let layout: PageLayout;
  try {
    if (info.headerEvent.trim() !== '') parseHeaderEvent(info.headerEvent);
    layout = parseHeaderPage(info.headerPage, { littleEndian: le });
  } catch (e) {
    if (e instanceof FormatError) throw new TraceDatError(path, info.headerAt, e.message);
    throw e;
  }
  const longSize = layout.commitSize as 4 | 8;
  const formatErrors: FormatError[] = [];
  const formats: EventFormat[] = [];
  for (const f of info.formats) {
    const source = `${path}@${f.at} ${f.system}`;
    try {
      const ef = parseEventFormat(f.text, f.system, { longSize, source });
      const problem = commonFieldsProblem(ef);
      if (problem !== undefined) throw new FormatError(problem, 0, ef.name, source);
      formats.push(ef);
    } catch (e) {
      if (e instanceof FormatError) formatErrors.push(e);
      else throw e;
    }
  }
  const schema = new EventSchema(formats, longSize, le);
  const chosen = chooseBuffer(path, info, opts.buffer);
  if (info.version === 7) layout = { ...layout, pageSize: chosen.pageSize };
  else for (const b of info.buffers) b.pageSize = layout.pageSize;
  // Sub-buffers are a power-of-two number of bytes (ring_buffer_subbuf_order_set); 1 MiB bounds the merger's memory.
  if (layout.pageSize > 1 << 20 || (layout.pageSize & (layout.pageSize - 1)) !== 0) {
    throw new TraceDatError(
      path,
      info.version === 7 ? chosen.at : info.headerAt,
      `implausible sub-buffer size ${layout.pageSize}`,
    );
  }
  const cpus = Math.max(info.cpus, ...chosen.cpus.map((c) => c.cpu + 1), 1);

  // The time origin: the earliest first-page time stamp over the chosen buffer's CPUs.
  let origin: bigint | undefined;
  const res = new PageResult();
  for (const cd of chosen.cpus) {
    const s = new CpuPages(
      file,
      cd,
      layout.pageSize,
      chosen.compressed ? info.decompressor : undefined,
      chosen.end,
      {},
    );
    while (!s.done && s.pageBytes() === 0) await s.fill();
    const n = s.pageBytes();
    if (n === 0) continue;
    if (readPageHeader(new DataView(s.buf.buffer, s.buf.byteOffset, s.buf.byteLength), s.pos, n, layout, res) !== 0)
      continue;
    const t = (BigInt(res.baseHi) << 32n) | BigInt(res.baseLo);
    if (origin === undefined || t < origin) origin = t;
  }

  const comms = parseCmdlines(info.cmdlines);
  let symbols: Kallsyms | undefined | null = null;
  const arch = info.uname?.trim().split(/\s+/).at(-1);
  let stopped = false;
  const maxPages = opts.maxPagesPerCpu ?? 32;

  const source: TraceDatSource = {
    kind: 'tracedat',
    path,
    version: info.version,
    compression: info.compression,
    uname: info.uname,
    tracecmdVersion: info.tracecmdVersion,
    buffers: info.buffers
      .filter((b) => !b.text)
      .map((b) => ({
        name: b.name,
        clock: b.clock || info.clock,
        pageSize: b.pageSize,
        cpus: b.cpus.map((c) => c.cpu),
        bytes: b.cpus.reduce((a, c) => a + c.size, 0),
      })),
    buffer: chosen.name,
    layout,
    formatErrors,
    info,
    schema,
    cpus,
    originNs: origin ?? 0n,
    clock: chosen.clock || info.clock,
    arch: arch !== undefined && /^[A-Za-z0-9_]+$/.test(arch) ? arch : undefined,
    comm: (tid: number) => comms.get(tid),
    get symbols() {
      if (symbols === null) symbols = info.kallsyms.trim() === '' ? undefined : Kallsyms.parse(info.kallsyms);
      return symbols;
    },
    stop() {
      stopped = true;
    },
    async run(sink: RecordSink): Promise<SourceStats> {
      stopped = false;
      const fh = await open(path, 'r');
      try {
        const f = new TraceFile(fh, path, file.size);
        f.le = le;
        const merger = new CpuMerger({ cpus, layout, schema, origin: origin ?? 0n, maxPagesPerCpu: maxPages });
        const errors = merger.stats.errors;
        if (formatErrors.length > 0) errors.BAD_FORMAT = formatErrors.length;
        const dec = chosen.compressed ? info.decompressor : undefined;
        const live = chosen.cpus.map((cd) => new CpuPages(f, cd, layout.pageSize, dec, chosen.end, errors));
        const total = file.size;
        let reported = -1;
        const progress = () => {
          if (opts.onProgress === undefined) return;
          const done = live.length === 0 ? total : f.bytesRead;
          if (done - reported >= 1 << 20 || done === total) {
            reported = done;
            opts.onProgress(done, total);
          }
        };
        /** Adds the next page of `s` when it is already read; false when `s` must read (or has no more). */
        const feedNow = (s: CpuPages): boolean => {
          const n = s.pageBytes();
          if (n === 0) return false;
          merger.addPage(s.data.cpu, s.buf, s.pos, n);
          s.skipPage();
          return true;
        };
        /** Adds the next page of `s`, reading as needed; false when `s` has no more. */
        const feed = async (s: CpuPages): Promise<boolean> => {
          for (;;) {
            if (feedNow(s)) return true;
            if (s.done) return false;
            await s.fill();
            progress();
          }
        };
        for (;;) {
          if (stopped) break;
          // Every CPU that still has data keeps at least one record queued: the merge point is known.
          for (let i = 0; i < live.length; i++) {
            const s = live[i];
            while (merger.headTs(s.data.cpu) === Number.POSITIVE_INFINITY) {
              // Most pages are already read: await (one promise per call) only when a read is due.
              if (!feedNow(s) && !(await feed(s))) {
                live.splice(i--, 1);
                break;
              }
            }
          }
          if (live.length === 0) break;
          // Records before the smallest "last queued" time of the live CPUs cannot be preceded by unread ones.
          let limit = Number.POSITIVE_INFINITY;
          let bottleneck = live[0];
          for (const s of live) {
            const t = merger.lastTs(s.data.cpu);
            if (t < limit) {
              limit = t;
              bottleneck = s;
            }
          }
          merger.drain(sink, limit - 1);
          if (merger.freePages(bottleneck.data.cpu) === 0) merger.drain(sink, limit);
          if (!feedNow(bottleneck) && !(await feed(bottleneck))) live.splice(live.indexOf(bottleneck), 1);
        }
        merger.drain(sink);
        live.length = 0;
        progress();
        const lostPerCpu = [...merger.stats.lostPerCpu];
        let lossReports = merger.stats.lossReports;
        // Losses the pages do not carry (dropped events, commit overruns), from the CPU statistics of the end.
        if (!stopped) {
          let end = 0;
          for (let c = 0; c < cpus; c++) end = Math.max(end, merger.lastTs(c));
          for (const [cpu, n] of statLosses(info.cpuStats, chosen.name)) {
            if (n <= 0 || cpu >= cpus) continue;
            while (lostPerCpu.length <= cpu) lostPerCpu.push(0);
            lostPerCpu[cpu] += n;
            lossReports++;
            sink.lost?.(cpu, n, end);
          }
        }
        return { records: merger.stats.records, lostPerCpu, lossReports, errors };
      } finally {
        await fh.close();
      }
    },
  };
  return source;
}

/**
 * Events lost per CPU that the pages' missed-events flags do not carry — `dropped events` and `commit overrun` of
 * the CPUSTAT options (`per_cpu/cpuN/stats` when the file was written) of buffer `buffer`. trace-cmd writes the top
 * buffer's CPUs first, then for each instance a `Buffer: NAME` separator and its CPUs.
 */
export function statLosses(cpuStats: readonly string[], buffer: string): Map<number, number> {
  const out = new Map<number, number>();
  let current = '';
  for (const text of cpuStats) {
    const sep = /^\s*Buffer: (.*)$/m.exec(text);
    if (sep !== null && !/^CPU: /m.test(text)) {
      current = sep[1].trim();
      continue;
    }
    if (current !== buffer) continue;
    const cpu = /^CPU: (\d+)/m.exec(text);
    if (cpu === null) continue;
    const num = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    out.set(Number(cpu[1]), num('dropped events') + num('commit overrun'));
  }
  return out;
}

/**
 * Streams the raw sub-buffers of one CPU of `src`'s chosen buffer, in file order, without decoding or merging
 * (for benchmarks and tools). `cb` gets a view valid during the call. Returns the data errors met (by name).
 */
export async function forEachPage(
  src: TraceDatSource,
  cpu: number,
  cb: (bytes: Uint8Array, offset: number, length: number) => void,
): Promise<Record<string, number>> {
  const b = src.info.buffers.find((x) => !x.text && x.name === src.buffer);
  const cd = b?.cpus.find((c) => c.cpu === cpu);
  const errors: Record<string, number> = {};
  if (b === undefined || cd === undefined) return errors;
  const fh = await open(src.path, 'r');
  try {
    const st = await fh.stat();
    const f = new TraceFile(fh, src.path, st.size);
    f.le = src.info.littleEndian;
    const s = new CpuPages(f, cd, src.layout.pageSize, b.compressed ? src.info.decompressor : undefined, b.end, errors);
    for (;;) {
      const n = s.pageBytes();
      if (n > 0) {
        cb(s.buf, s.pos, n);
        s.skipPage();
        continue;
      }
      if (s.done) break;
      await s.fill();
    }
  } finally {
    await fh.close();
  }
  return errors;
}
