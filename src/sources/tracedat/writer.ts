/**
 * Writes trace-cmd `trace.dat` files, version 6 or version 7 (uncompressed or zlib), from metadata texts and raw
 * ring-buffer pages, in the layout trace-cmd itself writes (shared/notes/trace-dat-format.md §3, §4, §5, §10;
 * trace-cmd lib/trace-cmd/trace-output.c). `trace-cmd report` and KernelShark read what this writes.
 *
 * - v6: header, the fixed metadata sequence, the CPU count, `options` (TRACECLOCK, UNAME, VERSION, CPUSTAT..., a
 *   bare u16 0), `flyrecord` with the per-CPU (offset, size) table and the clock blob, then each CPU's pages, page
 *   aligned. Only the first buffer is written (as the top-level one): v6 instances need BUFFER options.
 * - v7: header naming the compression and the first OPTIONS section; sections 16..21 (one block each when
 *   compressed); the first OPTIONS section (section offsets, clock, uname, version, CPU stats, CPU count); per buffer
 *   a BUFFER section (each CPU's pages page aligned, chunked by 10 pages when compressed) followed by an OPTIONS
 *   section with its BUFFER option; a STRINGS section with the section descriptions last.
 *
 * Everything is written through one bounded staging buffer with async file writes (never blocks the event loop for
 * long); page sources may be async. Compression runs on libuv's thread pool (`zlib.deflate`).
 */

import { type FileHandle, open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';

const deflateAsync = promisify(deflate);
const enc = new TextEncoder();

/** Option and section ids (trace-cmd-private.h). */
const OPT_DONE = 0;
const OPT_CPUSTAT = 2;
const OPT_BUFFER = 3;
const OPT_TRACECLOCK = 4;
const OPT_UNAME = 5;
const OPT_CPUCOUNT = 8;
const OPT_VERSION = 9;
const OPT_STRINGS = 15;
const SEC_HEADER_INFO = 16;
const SEC_FL_COMPRESS = 1;
/** Pages per compressed chunk, as trace-cmd writes them (`PAGES_IN_CHUNK`). */
export const PAGES_IN_CHUNK = 10;

export type Text = string | Uint8Array;

export interface TraceDatMeta {
  /** `events/header_page` and `events/header_event` of the traced kernel (or instance). */
  headerPage: Text;
  headerEvent: Text;
  /** `format` texts; those of system `ftrace` go to the ftrace section, the others by system. */
  formats: readonly { system: string; text: Text }[];
  /** `/proc/kallsyms` text (may be empty). */
  kallsyms: Text;
  /** `printk_formats` text (may be empty). */
  printk: Text;
  /** `saved_cmdlines` text: `pid comm` lines. */
  cmdlines: Text;
}

/** The six metadata bodies as they go into the file (v6 sequence items 1-6, v7 sections 16-21). */
export interface EncodedMeta {
  header: Uint8Array;
  ftrace: Uint8Array;
  events: Uint8Array;
  kallsyms: Uint8Array;
  printk: Uint8Array;
  cmdlines: Uint8Array;
}

export interface WriterCpu {
  cpu: number;
  /** Whole pages of the buffer's page size, in time order (produced lazily: files larger than memory). */
  pages(): Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

export interface WriterBuffer {
  /** '' for the top-level buffer, else an instance name. */
  name: string;
  clock: string;
  /** Sub-buffer size. */
  pageSize: number;
  cpus: WriterCpu[];
}

export interface WriteOptions {
  version: 6 | 7;
  /** v7 only (v6 is never compressed). */
  compression: 'none' | 'zlib';
  meta: TraceDatMeta | EncodedMeta;
  /** CPU count of the traced machine. */
  cpus: number;
  /** v6: only the first buffer is written, as the top-level one. */
  buffers: WriterBuffer[];
  /** TRACECLOCK option: the `trace_clock` file's text (the bracketed word is the clock); default `[CLOCK]`. */
  traceClock?: string;
  uname?: string;
  /** VERSION option (the writing tool). */
  tool?: string;
  /** CPUSTAT options, one text per CPU (`CPU: N\n` then `per_cpu/cpuN/stats`). */
  cpuStats?: readonly string[];
  /** Host page size for the header (default: the first buffer's page size; v6 readers take pages of this size). */
  hostPageSize?: number;
  /** v7 compressed: record each CPU's size 4 bytes short, as trace-cmd before mid-2023 did (tests only). */
  offBy4?: boolean;
}

function bytesOf(t: Text): Uint8Array {
  return typeof t === 'string' ? enc.encode(t) : t;
}

/** Builds a byte string from parts (metadata bodies, option payloads). */
class Parts {
  private readonly parts: Uint8Array[] = [];
  size = 0;
  constructor(private readonly le: boolean) {}
  bytes(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  text(t: Text): this {
    return this.bytes(bytesOf(t));
  }
  cstr(s: string): this {
    return this.bytes(enc.encode(`${s}\0`));
  }
  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, this.le);
    return this.bytes(b);
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, this.le);
    return this.bytes(b);
  }
  u64(v: number | bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), this.le);
    return this.bytes(b);
  }
  done(): Uint8Array {
    if (this.parts.length === 1) return this.parts[0];
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export function isEncoded(m: TraceDatMeta | EncodedMeta): m is EncodedMeta {
  return (m as EncodedMeta).header instanceof Uint8Array && (m as TraceDatMeta).headerPage === undefined;
}

/** The metadata bodies (the kallsyms text is the big one: encode it once when writing many files). */
export function encodeMeta(meta: TraceDatMeta, le = endianness() === 'LE'): EncodedMeta {
  const header = new Parts(le);
  const hp = bytesOf(meta.headerPage);
  const he = bytesOf(meta.headerEvent);
  header.cstr('header_page').u64(hp.length).bytes(hp).cstr('header_event').u64(he.length).bytes(he);
  const ftrace = new Parts(le);
  const ft = meta.formats.filter((f) => f.system === 'ftrace').map((f) => bytesOf(f.text));
  ftrace.u32(ft.length);
  for (const t of ft) ftrace.u64(t.length).bytes(t);
  const systems = new Map<string, Uint8Array[]>();
  for (const f of meta.formats) {
    if (f.system === 'ftrace') continue;
    let list = systems.get(f.system);
    if (list === undefined) {
      list = [];
      systems.set(f.system, list);
    }
    list.push(bytesOf(f.text));
  }
  const events = new Parts(le);
  events.u32(systems.size);
  for (const [sys, texts] of systems) {
    events.cstr(sys).u32(texts.length);
    for (const t of texts) events.u64(t.length).bytes(t);
  }
  const ks = bytesOf(meta.kallsyms);
  const pk = bytesOf(meta.printk);
  return {
    header: header.done(),
    ftrace: ftrace.done(),
    events: events.done(),
    kallsyms: new Parts(le).u32(ks.length).bytes(ks).done(),
    printk: new Parts(le).u32(pk.length).bytes(pk).done(),
    cmdlines: encodeCmdlines(meta.cmdlines, le),
  };
}

/** The cmdlines body alone (it changes between files written from one encoded metadata). */
export function encodeCmdlines(cmdlines: Text, le = endianness() === 'LE'): Uint8Array {
  const b = bytesOf(cmdlines);
  return new Parts(le).u64(b.length).bytes(b).done();
}

/** `cpu c` data of a CPUSTAT option, as trace-cmd writes it: `CPU: c\n` and the stats file. */
export function cpuStatText(cpu: number, stats: string): string {
  return `CPU: ${cpu}\n${stats.endsWith('\n') ? stats : `${stats}\n`}`;
}

const STAGE = 1 << 20;

/** Sequential file output through a staging buffer; patches go to already written positions. */
class Out {
  pos = 0;
  private readonly stage = new Uint8Array(STAGE);
  private readonly view = new DataView(this.stage.buffer);
  private used = 0;
  /** File offset of stage[0]. */
  private stageAt = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly le: boolean,
  ) {}

  async flush(): Promise<void> {
    let done = 0;
    while (done < this.used) {
      const { bytesWritten } = await this.fh.write(this.stage, done, this.used - done, this.stageAt + done);
      done += bytesWritten;
    }
    this.stageAt += this.used;
    this.used = 0;
  }

  private async room(n: number): Promise<void> {
    if (this.used + n > STAGE) await this.flush();
  }

  async bytes(b: Uint8Array): Promise<void> {
    if (b.length > STAGE / 4) {
      await this.flush();
      let done = 0;
      while (done < b.length) {
        const { bytesWritten } = await this.fh.write(b, done, b.length - done, this.pos + done);
        done += bytesWritten;
      }
      this.pos += b.length;
      this.stageAt = this.pos;
      return;
    }
    await this.room(b.length);
    this.stage.set(b, this.used);
    this.used += b.length;
    this.pos += b.length;
  }

  async u16(v: number): Promise<void> {
    await this.room(2);
    this.view.setUint16(this.used, v, this.le);
    this.used += 2;
    this.pos += 2;
  }

  async u32(v: number): Promise<void> {
    await this.room(4);
    this.view.setUint32(this.used, v, this.le);
    this.used += 4;
    this.pos += 4;
  }

  async u64(v: number | bigint): Promise<void> {
    await this.room(8);
    this.view.setBigUint64(this.used, BigInt(v), this.le);
    this.used += 8;
    this.pos += 8;
  }

  async cstr(s: string): Promise<void> {
    await this.bytes(enc.encode(`${s}\0`));
  }

  async zeros(n: number): Promise<void> {
    while (n > 0) {
      const k = Math.min(n, STAGE);
      await this.room(k);
      this.stage.fill(0, this.used, this.used + k);
      this.used += k;
      this.pos += k;
      n -= k;
    }
  }

  async align(n: number): Promise<void> {
    await this.zeros((n - (this.pos % n)) % n);
  }

  /** Overwrites `b` at an earlier offset (flushes first). */
  async patch(at: number, b: Uint8Array): Promise<void> {
    await this.flush();
    let done = 0;
    while (done < b.length) {
      const { bytesWritten } = await this.fh.write(b, done, b.length - done, at + done);
      done += bytesWritten;
    }
  }

  async patchU64(at: number, v: number): Promise<void> {
    await this.patch(at, new Parts(this.le).u64(v).done());
  }

  async patchU32(at: number, v: number): Promise<void> {
    await this.patch(at, new Parts(this.le).u32(v).done());
  }
}

/** Pages of a CPU as whole pages of `pageSize` (shorter ones are zero padded, longer ones cut). */
async function* wholePages(cpu: WriterCpu, pageSize: number): AsyncIterable<Uint8Array> {
  let pad: Uint8Array | undefined;
  for await (const p of cpu.pages()) {
    if (p.length === pageSize) {
      yield p;
      continue;
    }
    pad ??= new Uint8Array(pageSize);
    pad.fill(0);
    pad.set(p.subarray(0, pageSize));
    yield pad;
  }
}

/**
 * Writes a trace.dat at `path` (created or truncated). Returns the file size. The caller writes to a temporary
 * name and renames when the file must appear complete or not at all.
 */
export async function writeTraceDat(path: string, opts: WriteOptions): Promise<number> {
  if (opts.version !== 6 && opts.version !== 7) throw new RangeError(`trace.dat version ${opts.version}`);
  if (opts.version === 6 && opts.compression !== 'none') throw new RangeError('trace.dat v6 cannot be compressed');
  for (const b of opts.buffers) {
    if (b.pageSize < 4096 || (b.pageSize & (b.pageSize - 1)) !== 0) throw new RangeError(`page size ${b.pageSize}`);
  }
  const le = endianness() === 'LE';
  const meta = isEncoded(opts.meta) ? opts.meta : encodeMeta(opts.meta, le);
  const fh = await open(path, 'w');
  try {
    const o = new Out(fh, le);
    await o.bytes(Uint8Array.of(0x17, 0x08, 0x44));
    await o.bytes(enc.encode('tracing'));
    await o.cstr(String(opts.version));
    await o.bytes(Uint8Array.of(le ? 0 : 1, 8));
    await o.u32(opts.hostPageSize ?? opts.buffers[0]?.pageSize ?? 4096);
    if (opts.version === 6) await writeV6(o, opts, meta);
    else await writeV7(o, opts, meta);
    await o.flush();
    return o.pos;
  } finally {
    await fh.close();
  }
}

function traceClockText(opts: WriteOptions): string {
  return opts.traceClock ?? `[${opts.buffers[0]?.clock ?? 'local'}]`;
}

/** The common options (payloads), in the order trace-cmd writes them. */
function commonOptions(opts: WriteOptions, le: boolean): [number, Uint8Array][] {
  const out: [number, Uint8Array][] = [];
  const str = (s: string) => enc.encode(`${s}\0`);
  out.push([OPT_TRACECLOCK, str(traceClockText(opts))]);
  if (opts.uname !== undefined) out.push([OPT_UNAME, str(opts.uname)]);
  if (opts.tool !== undefined) out.push([OPT_VERSION, str(opts.tool)]);
  for (const s of opts.cpuStats ?? []) out.push([OPT_CPUSTAT, str(s)]);
  out.push([OPT_CPUCOUNT, new Parts(le).u32(opts.cpus).done()]);
  return out;
}

async function writeV6(o: Out, opts: WriteOptions, meta: EncodedMeta): Promise<void> {
  for (const b of [meta.header, meta.ftrace, meta.events, meta.kallsyms, meta.printk, meta.cmdlines]) await o.bytes(b);
  await o.u32(opts.cpus);
  await o.bytes(enc.encode('options  \0'));
  for (const [id, payload] of commonOptions(opts, o.le)) {
    await o.u16(id);
    await o.u32(payload.length);
    await o.bytes(payload);
  }
  await o.u16(OPT_DONE);
  await o.bytes(enc.encode('flyrecord\0'));
  const table = o.pos;
  await o.zeros(opts.cpus * 16);
  const clock = enc.encode(traceClockText(opts));
  await o.u64(clock.length);
  await o.bytes(clock);
  const b = opts.buffers[0];
  const pageSize = opts.hostPageSize ?? b?.pageSize ?? 4096;
  for (const cd of b?.cpus ?? []) {
    if (cd.cpu < 0 || cd.cpu >= opts.cpus) throw new RangeError(`cpu ${cd.cpu} of ${opts.cpus}`);
    await o.align(pageSize);
    const start = o.pos;
    for await (const p of wholePages(cd, pageSize)) await o.bytes(p);
    if (o.pos > start) {
      const entry = new Parts(o.le)
        .u64(start)
        .u64(o.pos - start)
        .done();
      await o.patch(table + cd.cpu * 16, entry);
    }
  }
}

async function writeV7(o: Out, opts: WriteOptions, meta: EncodedMeta): Promise<void> {
  const z = opts.compression === 'zlib';
  await o.cstr(opts.compression);
  await o.cstr(z ? '1.2.13' : '');
  const firstOptions = o.pos;
  await o.u64(0);
  const strings = new Parts(o.le);
  const desc = (s: string) => {
    const at = strings.size;
    strings.cstr(s);
    return at;
  };
  const section = async (id: number, flags: number, description: string, body: () => Promise<void>) => {
    const at = o.pos;
    await o.u16(id);
    await o.u16(flags);
    await o.u32(desc(description));
    await o.u64(0);
    await body();
    await o.patchU64(at + 8, o.pos - at - 16);
    return at;
  };
  const block = async (raw: Uint8Array) => {
    if (!z) return o.bytes(raw);
    const c = await deflateAsync(raw);
    await o.u32(c.length);
    await o.u32(raw.length);
    await o.bytes(c);
  };
  const metaAt: [number, number][] = [];
  const kinds: [Uint8Array, string][] = [
    [meta.header, 'headers'],
    [meta.ftrace, 'ftrace events'],
    [meta.events, 'events format'],
    [meta.kallsyms, 'kallsyms'],
    [meta.printk, 'printk'],
    [meta.cmdlines, 'command lines'],
  ];
  for (let i = 0; i < kinds.length; i++) {
    const [body, d] = kinds[i];
    metaAt.push([
      SEC_HEADER_INFO + i,
      await section(SEC_HEADER_INFO + i, z ? SEC_FL_COMPRESS : 0, d, () => block(body)),
    ]);
  }
  // The first OPTIONS section: where the metadata is, the clock, uname, version, CPU stats, CPU count.
  await o.patchU64(firstOptions, o.pos);
  let doneAt = 0;
  const writeOption = async (id: number, payload: Uint8Array) => {
    await o.u16(id);
    await o.u32(payload.length);
    await o.bytes(payload);
  };
  await section(OPT_DONE, 0, 'options', async () => {
    for (const [id, at] of metaAt) await writeOption(id, new Parts(o.le).u64(at).done());
    for (const [id, payload] of commonOptions(opts, o.le)) await writeOption(id, payload);
    await o.u16(OPT_DONE);
    await o.u32(8);
    doneAt = o.pos;
    await o.u64(0);
  });
  for (const b of opts.buffers) {
    const entries: [number, number, number][] = [];
    const secAt = await section(OPT_BUFFER, z ? SEC_FL_COMPRESS : 0, `buffer flyrecord ${b.name}`, async () => {
      for (const cd of b.cpus) {
        await o.align(b.pageSize);
        const start = o.pos;
        if (!z) {
          for await (const p of wholePages(cd, b.pageSize)) await o.bytes(p);
          if (o.pos > start) entries.push([cd.cpu, start, o.pos - start]);
          continue;
        }
        await o.u32(0);
        let chunks = 0;
        const pending = new Uint8Array(PAGES_IN_CHUNK * b.pageSize);
        let n = 0;
        const flush = async () => {
          if (n === 0) return;
          const raw = pending.subarray(0, n * b.pageSize);
          const c = await deflateAsync(raw);
          await o.u32(c.length);
          await o.u32(raw.length);
          await o.bytes(c);
          chunks++;
          n = 0;
        };
        for await (const p of wholePages(cd, b.pageSize)) {
          pending.set(p, n * b.pageSize);
          if (++n === PAGES_IN_CHUNK) await flush();
        }
        await flush();
        if (chunks === 0) {
          // A CPU without pages is not listed (trace-cmd lists only CPUs with data).
          continue;
        }
        await o.patchU32(start, chunks);
        entries.push([cd.cpu, start, o.pos - start - (opts.offBy4 === true ? 4 : 0)]);
      }
    });
    // The buffer's OPTIONS section, chained from the previous DONE.
    await o.patchU64(doneAt, o.pos);
    await section(OPT_DONE, 0, 'options', async () => {
      const p = new Parts(o.le).u64(secAt).cstr(b.name).cstr(b.clock).u32(b.pageSize).u32(entries.length);
      for (const [cpu, off, size] of entries) p.u32(cpu).u64(off).u64(size);
      await writeOption(OPT_BUFFER, p.done());
      await o.u16(OPT_DONE);
      await o.u32(8);
      doneAt = o.pos;
      await o.u64(0);
    });
  }
  // STRINGS last: the descriptions of every section, its own included.
  const own = desc('strings');
  const body = strings.done();
  const at = o.pos;
  await o.u16(OPT_STRINGS);
  await o.u16(z ? SEC_FL_COMPRESS : 0);
  await o.u32(own);
  await o.u64(0);
  await block(body);
  await o.patchU64(at + 8, o.pos - at - 16);
}
