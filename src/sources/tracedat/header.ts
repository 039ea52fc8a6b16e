/**
 * The structure of a trace-cmd `trace.dat`, versions 6 and 7 (shared/notes/trace-dat-format.md; trace-cmd
 * lib/trace-cmd/trace-input.c): everything but the CPU data, which `cpu.ts` streams.
 *
 * v6: a fixed sequence (header_page/header_event, ftrace formats, event formats, kallsyms, printk, cmdlines, CPU
 * count), then `options` (u16 id, u32 size, payload; ends with a bare u16 0) and `flyrecord` (per-CPU offset/size,
 * then the clock blob). Instances hang off BUFFER options pointing at further `flyrecord` tables.
 * v7: a header naming the compression and the first OPTIONS section; sections (u16 id, u16 flags, u32 description,
 * u64 size) hold the same metadata, maybe compressed as one block; OPTIONS sections chain through DONE; BUFFER
 * options give each buffer's clock, page size and a sparse CPU list.
 */
import { type Decompressor, decompressorFor } from './decompress.ts';
import { Cursor, type TraceFile } from './file.ts';

export const OPT = {
  DONE: 0,
  DATE: 1,
  CPUSTAT: 2,
  BUFFER: 3,
  TRACECLOCK: 4,
  UNAME: 5,
  HOOK: 6,
  OFFSET: 7,
  CPUCOUNT: 8,
  VERSION: 9,
  PROCMAPS: 10,
  TRACEID: 11,
  TIME_SHIFT: 12,
  GUEST: 13,
  TSC2NSEC: 14,
  STRINGS: 15,
  HEADER_INFO: 16,
  FTRACE_EVENTS: 17,
  EVENT_FORMATS: 18,
  KALLSYMS: 19,
  PRINTK: 20,
  CMDLINES: 21,
  BUFFER_TEXT: 22,
} as const;

/** One CPU's data in a buffer: where it starts and its recorded size (off by 4 when compressed, see cpu.ts). */
export interface CpuData {
  cpu: number;
  offset: number;
  size: number;
}

export interface BufferInfo {
  /** '' for the top-level buffer, else the instance name. */
  name: string;
  clock: string;
  /** Sub-buffer size of this buffer. */
  pageSize: number;
  /** CPUs with data (sparse: only those listed), sorted by cpu. */
  cpus: CpuData[];
  /** v7: the data is chunked and compressed. */
  compressed: boolean;
  /** End of the buffer's data region (section end for v7, end of file for v6), bounds chunk walks. */
  end: number;
  /** File offset of the BUFFER section header (v7) or flyrecord tag (v6). */
  at: number;
  /** A latency-format text buffer (not decodable as pages). */
  text: boolean;
}

export interface EventFormatText {
  system: string;
  text: string;
  /** File offset where the text (or its section) starts, for error messages. */
  at: number;
}

export interface TraceDatInfo {
  version: 6 | 7;
  littleEndian: boolean;
  /** `long` size of the recording user space (header byte; the kernel's comes from header_page). */
  userLongSize: number;
  /** Host page size from the header. */
  hostPageSize: number;
  compression: string;
  headerPage: string;
  headerEvent: string;
  /** File offset of the header info (v6 text, or the v7 section), for error messages. */
  headerAt: number;
  formats: EventFormatText[];
  kallsyms: string;
  printk: string;
  cmdlines: string;
  /** CPU count (CPUCOUNT option, else the v6 header count, else the largest CPU id + 1). */
  cpus: number;
  clock: string;
  traceClockOption: string | undefined;
  uname: string | undefined;
  tracecmdVersion: string | undefined;
  /** Options that shift report timestamps (not applied by this reader; see docs/decoding.md). */
  dateOption: string | undefined;
  offsetOption: string | undefined;
  tsc2nsec: { mult: number; shift: number; offset: bigint } | undefined;
  buffers: BufferInfo[];
  cpuStats: string[];
  /** Decompressor of a v7 compressed file (also for its CPU chunks). */
  decompressor: Decompressor | undefined;
}

const MAGIC = [0x17, 0x08, 0x44, 0x74, 0x72, 0x61, 0x63, 0x69, 0x6e, 0x67]; // 23 8 68 "tracing"
const SEC_FL_COMPRESS = 1;

/** The bracketed clock of a `trace_clock` listing (`"[local] global ..."`), or the text itself. */
export function bracketedClock(text: string): string {
  const m = /\[([^\]]+)\]/.exec(text);
  return m ? m[1] : text.trim().split(/\s+/)[0] || 'local';
}

/** Reads the whole structure. Throws TraceDatError for anything that keeps the file from being decoded. */
export async function readTraceDatInfo(file: TraceFile): Promise<TraceDatInfo> {
  const head = await file.read(0, Math.min(file.size, 32), 'file header');
  for (let i = 0; i < MAGIC.length; i++) {
    if (head[i] !== MAGIC[i]) file.fail(i, 'not a trace-cmd trace.dat file (bad magic)');
  }
  const c = Cursor.onFile(file, 10, true);
  const versionText = await c.cstr('version string', 16);
  if (versionText !== '6' && versionText !== '7') file.fail(10, `unsupported trace.dat version "${versionText}"`);
  const version = Number(versionText) as 6 | 7;
  const endianAt = c.pos;
  const endian = await c.u8('endianness');
  if (endian > 1) file.fail(endianAt, `bad endianness byte ${endian}`);
  const le = endian === 0;
  const cur = Cursor.onFile(file, c.pos, le);
  const longAt = cur.pos;
  const userLongSize = await cur.u8('long size');
  if (userLongSize !== 4 && userLongSize !== 8) file.fail(longAt, `bad long size ${userLongSize}`);
  const pageAt = cur.pos;
  const hostPageSize = await cur.u32('page size');
  if (hostPageSize < 256 || hostPageSize > 1 << 24 || (hostPageSize & (hostPageSize - 1)) !== 0) {
    file.fail(pageAt, `bad page size ${hostPageSize}`);
  }
  const info: TraceDatInfo = {
    version,
    littleEndian: le,
    userLongSize,
    hostPageSize,
    compression: 'none',
    headerPage: '',
    headerEvent: '',
    headerAt: 0,
    formats: [],
    kallsyms: '',
    printk: '',
    cmdlines: '',
    cpus: 0,
    clock: 'local',
    traceClockOption: undefined,
    uname: undefined,
    tracecmdVersion: undefined,
    dateOption: undefined,
    offsetOption: undefined,
    tsc2nsec: undefined,
    buffers: [],
    cpuStats: [],
    decompressor: undefined,
  };
  if (version === 6) await readV6(file, cur, info);
  else await readV7(file, cur, info);
  return info;
}

// ---------------------------------------------------------------------------------------------------------- v6/v7

async function readHeaderInfo(c: Cursor, info: TraceDatInfo): Promise<void> {
  const at1 = c.pos;
  info.headerAt = c.offsetOf(at1);
  if ((await c.cstr('header_page tag', 16)) !== 'header_page') c.fail('expected "header_page"', at1);
  info.headerPage = await c.text(await c.u64('header_page size'), 'header_page');
  const at2 = c.pos;
  if ((await c.cstr('header_event tag', 16)) !== 'header_event') c.fail('expected "header_event"', at2);
  info.headerEvent = await c.text(await c.u64('header_event size'), 'header_event');
}

async function readFtraceFormats(c: Cursor, info: TraceDatInfo): Promise<void> {
  const at = c.pos;
  const n = await c.u32('ftrace format count');
  if (n > 100000) c.fail(`implausible ftrace format count ${n}`, at);
  for (let i = 0; i < n; i++) {
    const fat = c.offsetOf(c.pos);
    info.formats.push({
      system: 'ftrace',
      text: await c.text(await c.u64('ftrace format size'), 'ftrace format'),
      at: fat,
    });
  }
}

async function readEventFormats(c: Cursor, info: TraceDatInfo): Promise<void> {
  const at = c.pos;
  const nsys = await c.u32('event system count');
  if (nsys > 100000) c.fail(`implausible event system count ${nsys}`, at);
  for (let s = 0; s < nsys; s++) {
    const system = await c.cstr('event system name', 256);
    const eat = c.pos;
    const nev = await c.u32('event count');
    if (nev > 100000) c.fail(`implausible event count ${nev}`, eat);
    for (let i = 0; i < nev; i++) {
      const fat = c.offsetOf(c.pos);
      info.formats.push({ system, text: await c.text(await c.u64('event format size'), 'event format'), at: fat });
    }
  }
}

async function readOption(c: Cursor, info: TraceDatInfo, id: number, size: number, v7: boolean, file: TraceFile) {
  const start = c.pos;
  const payload = await c.bytes(size, `option ${id}`);
  const p = Cursor.onMemory(file, payload, c.littleEndian, c.offsetOf(start));
  const str = async () => (await p.cstr(`option ${id} string`, size)).replace(/\0+$/, '');
  switch (id) {
    case OPT.DATE:
      info.dateOption = await str();
      break;
    case OPT.CPUSTAT:
      info.cpuStats.push(await str());
      break;
    case OPT.TRACECLOCK:
      info.traceClockOption = await str();
      info.clock = bracketedClock(info.traceClockOption);
      break;
    case OPT.UNAME:
      info.uname = await str();
      break;
    case OPT.VERSION:
      info.tracecmdVersion = await str();
      break;
    case OPT.OFFSET:
      info.offsetOption = await str();
      break;
    case OPT.CPUCOUNT:
      info.cpus = await p.u32('CPUCOUNT');
      if (info.cpus > 8192) c.fail(`implausible CPU count ${info.cpus}`, start);
      break;
    case OPT.TSC2NSEC:
      info.tsc2nsec = {
        mult: await p.u32('TSC2NSEC mult'),
        shift: await p.u32('TSC2NSEC shift'),
        offset: await p.u64Big('TSC2NSEC offset'),
      };
      break;
    case OPT.BUFFER: {
      const offset = await p.u64('BUFFER offset');
      const name = await p.cstr('BUFFER name', 1024);
      if (!v7) {
        // v6: the offset points at another "flyrecord" tag + per-CPU table (read once the CPU count is known).
        info.buffers.push({
          name,
          clock: '',
          pageSize: 0,
          cpus: [],
          compressed: false,
          end: file.size,
          at: offset,
          text: false,
        });
        break;
      }
      const clock = await p.cstr('BUFFER clock', 256);
      const pageSize = await p.u32('BUFFER page size');
      const n = await p.u32('BUFFER CPU count');
      if (n > 8192 || n * 20 > p.remaining) p.fail(`implausible BUFFER CPU count ${n}`);
      const cpus: CpuData[] = [];
      for (let i = 0; i < n; i++) {
        const cpu = await p.u32('BUFFER cpu');
        if (cpu > 8191 || cpus.some((x) => x.cpu === cpu)) p.fail(`bad or duplicate BUFFER cpu ${cpu}`);
        cpus.push({ cpu, offset: await p.u64('BUFFER cpu data offset'), size: await p.u64('BUFFER cpu data size') });
      }
      cpus.sort((a, b) => a.cpu - b.cpu);
      info.buffers.push({ name, clock, pageSize, cpus, compressed: false, end: file.size, at: offset, text: false });
      break;
    }
    case OPT.BUFFER_TEXT: {
      const offset = await p.u64('BUFFER_TEXT offset');
      const name = await p.cstr('BUFFER_TEXT name', 1024);
      const clock = await p.cstr('BUFFER_TEXT clock', 256);
      info.buffers.push({
        name,
        clock,
        pageSize: 0,
        cpus: [],
        compressed: false,
        end: file.size,
        at: offset,
        text: true,
      });
      break;
    }
    default:
      break; // unknown and unused options are skipped by size, as libtracecmd does
  }
}

// ---------------------------------------------------------------------------------------------------------------- v6

async function readV6(file: TraceFile, c: Cursor, info: TraceDatInfo): Promise<void> {
  await readHeaderInfo(c, info);
  await readFtraceFormats(c, info);
  await readEventFormats(c, info);
  info.kallsyms = await c.text(await c.u32('kallsyms size'), 'kallsyms');
  info.printk = await c.text(await c.u32('printk size'), 'printk formats');
  info.cmdlines = await c.text(await c.u64('cmdlines size'), 'cmdlines');
  const cpusAt = c.pos;
  const headerCpus = await c.u32('CPU count');
  if (headerCpus > 8192) c.fail(`implausible CPU count ${headerCpus}`, cpusAt);
  let tagAt = c.pos;
  let tag = await tag10(c);
  if (tag === 'options') {
    for (let n = 0; ; n++) {
      const idAt = c.pos;
      const id = await c.u16('option id');
      if (id === OPT.DONE) break;
      if (n > 1_000_000) c.fail('too many options', idAt);
      const size = await c.u32('option size');
      await readOption(c, info, id, size, false, file);
    }
    tagAt = c.pos;
    tag = await tag10(c);
  }
  if (tag === 'latency') file.fail(tagAt, 'latency-format (text) trace.dat files are not supported');
  if (tag !== 'flyrecord') file.fail(tagAt, `expected "flyrecord", found "${tag}"`);
  const cpus = info.cpus > 0 ? info.cpus : headerCpus;
  info.cpus = cpus;
  const instances = info.buffers.splice(0);
  const top: BufferInfo = {
    name: '',
    clock: info.clock,
    pageSize: 0,
    cpus: await cpuTable(c, cpus),
    compressed: false,
    end: file.size,
    at: tagAt,
    text: false,
  };
  info.buffers.push(top);
  for (const b of instances) {
    const ic = Cursor.onFile(file, b.at, info.littleEndian);
    const t = await tag10(ic);
    if (t !== 'flyrecord') file.fail(b.at, `BUFFER "${b.name}" does not point at a flyrecord table`);
    b.cpus = await cpuTable(ic, cpus);
    b.clock = info.clock;
    info.buffers.push(b);
  }
}

async function tag10(c: Cursor): Promise<string> {
  const b = await c.bytes(10, 'section tag');
  let s = '';
  for (const x of b) if (x !== 0) s += String.fromCharCode(x);
  return s.trim();
}

/** v6 per-CPU table: `cpus` × (u64 offset, u64 size); entries with size 0 are CPUs without data. */
async function cpuTable(c: Cursor, cpus: number): Promise<CpuData[]> {
  const out: CpuData[] = [];
  for (let cpu = 0; cpu < cpus; cpu++) {
    const offset = await c.u64('CPU data offset');
    const size = await c.u64('CPU data size');
    if (size > 0) out.push({ cpu, offset, size });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------- v7

interface Section {
  id: number;
  flags: number;
  size: number;
  /** Offset of the 16-byte header. */
  at: number;
  /** Offset of the body. */
  body: number;
}

async function sectionHeader(file: TraceFile, at: number, le: boolean): Promise<Section> {
  const c = Cursor.onFile(file, at, le);
  const id = await c.u16('section id');
  const flags = await c.u16('section flags');
  await c.u32('section description');
  const size = await c.u64('section size');
  if (at + 16 + size > file.size && !(id === OPT.BUFFER && size === 0)) {
    file.fail(at, `section ${id} of ${size} bytes runs past the end of the file (${file.size})`);
  }
  return { id, flags, size, at, body: at + 16 };
}

/** The decompressed body of a metadata section (one block `u32 csize, u32 usize, data` when compressed). */
async function sectionBody(file: TraceFile, s: Section, info: TraceDatInfo, what: string): Promise<Cursor> {
  const le = info.littleEndian;
  if ((s.flags & SEC_FL_COMPRESS) === 0) {
    return Cursor.onMemory(file, await file.read(s.body, s.size, what), le, s.body);
  }
  const d = info.decompressor;
  if (d === undefined) file.fail(s.at, `${what} is compressed but the file names no compression`);
  if (s.size < 8) file.fail(s.body, `compressed ${what} too short (${s.size} bytes)`);
  const hdr = Cursor.onMemory(file, await file.read(s.body, 8, `${what} block header`), le, s.body);
  const csize = await hdr.u32('csize');
  const usize = await hdr.u32('usize');
  if (csize > s.size - 8) file.fail(s.body, `${what}: compressed size ${csize} exceeds the section (${s.size - 8})`);
  const comp = await file.read(s.body + 8, csize, what);
  const out = d.decompress(comp, usize);
  if (out === undefined) file.fail(s.body + 8, `${what}: ${d.name} data does not decompress to ${usize} bytes`);
  return Cursor.onMemory(file, out, le, s.at, `${what}`);
}

async function readV7(file: TraceFile, c: Cursor, info: TraceDatInfo): Promise<void> {
  const compAt = c.pos;
  info.compression = await c.cstr('compression name', 64);
  await c.cstr('compression version', 256);
  const d = await decompressorFor(info.compression);
  if (d === undefined) file.fail(compAt, `unsupported compression "${info.compression}"`);
  info.decompressor = info.compression === 'none' ? undefined : d;
  let next = await c.u64('first options offset');
  const sections = new Map<number, number>();
  const seen = new Set<number>();
  while (next !== 0) {
    if (seen.has(next) || seen.size > 4096) file.fail(next, 'options sections loop');
    seen.add(next);
    const s = await sectionHeader(file, next, info.littleEndian);
    if (s.id !== OPT.DONE) file.fail(s.at, `expected an OPTIONS section, found section id ${s.id}`);
    const body = await sectionBody(file, s, info, 'options');
    next = 0;
    let done = false;
    while (body.remaining > 0) {
      const id = await body.u16('option id');
      const size = await body.u32('option size');
      if (id === OPT.DONE) {
        if (size !== 8) body.fail(`DONE option of size ${size}`);
        next = await body.u64('next options offset');
        done = true;
        break;
      }
      if (id >= OPT.HEADER_INFO && id <= OPT.CMDLINES) {
        if (size !== 8) body.fail(`section option ${id} of size ${size}`);
        sections.set(id, await body.u64('section offset'));
        continue;
      }
      await readOption(body, info, id, size, true, file);
    }
    if (!done) file.fail(s.at, 'OPTIONS section without DONE');
  }
  const meta = async (id: number, what: string): Promise<Cursor | undefined> => {
    const at = sections.get(id);
    if (at === undefined) return undefined;
    const s = await sectionHeader(file, at, info.littleEndian);
    if (s.id !== id) file.fail(at, `expected section ${id} (${what}), found ${s.id}`);
    return sectionBody(file, s, info, what);
  };
  const hi = await meta(OPT.HEADER_INFO, 'header info');
  if (hi === undefined) file.fail(0, 'no HEADER_INFO section');
  await readHeaderInfo(hi, info);
  const fe = await meta(OPT.FTRACE_EVENTS, 'ftrace formats');
  if (fe) await readFtraceFormats(fe, info);
  const ev = await meta(OPT.EVENT_FORMATS, 'event formats');
  if (ev) await readEventFormats(ev, info);
  const ks = await meta(OPT.KALLSYMS, 'kallsyms');
  if (ks) info.kallsyms = await ks.text(await ks.u32('kallsyms size'), 'kallsyms');
  const pk = await meta(OPT.PRINTK, 'printk formats');
  if (pk) info.printk = await pk.text(await pk.u32('printk size'), 'printk formats');
  const cl = await meta(OPT.CMDLINES, 'cmdlines');
  if (cl) info.cmdlines = await cl.text(await cl.u64('cmdlines size'), 'cmdlines');
  // Buffers: the BUFFER option points at the section header; flag 1 = chunked compressed CPU data.
  for (const b of info.buffers) {
    if (b.text) continue;
    const s = await sectionHeader(file, b.at, info.littleEndian);
    if (s.id !== OPT.BUFFER) file.fail(b.at, `BUFFER "${b.name}" points at section id ${s.id}`);
    b.compressed = (s.flags & SEC_FL_COMPRESS) !== 0;
    b.end = Math.min(file.size, s.body + s.size);
    if (b.pageSize < 256 || b.pageSize > 1 << 24 || (b.pageSize & (b.pageSize - 1)) !== 0) {
      file.fail(b.at, `BUFFER "${b.name}" has bad page size ${b.pageSize}`);
    }
    for (const cd of b.cpus) {
      if (cd.offset < s.body || cd.offset > b.end) {
        file.fail(cd.offset, `CPU ${cd.cpu} data of buffer "${b.name}" lies outside its section`);
      }
    }
    if (b.clock === '') b.clock = info.clock;
  }
  if (info.cpus === 0) {
    for (const b of info.buffers) for (const cd of b.cpus) info.cpus = Math.max(info.cpus, cd.cpu + 1);
  }
}
