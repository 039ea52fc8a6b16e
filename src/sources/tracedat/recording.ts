/**
 * A trace.dat written while recording, readable at every moment — also after SIGKILL — by trace-cmd and by our
 * reader, up to the last read cycle; compacted into a plain trace.dat at a normal end (docs/evidence.md).
 *
 * trace-cmd keeps each CPU's pages in one contiguous range named by a per-CPU (offset, size) table that precedes the
 * data, and refuses a file whose table points past its end ("File possibly truncated"). So the working file is laid
 * out as:
 *
 *   v6: header | metadata | options | flyrecord | table (8-aligned) | clock | region cpu0 | region cpu1 | ...
 *   v7: header | sections 16-21 | OPTIONS (-> next) | OPTIONS with the BUFFER option | BUFFER section | regions
 *
 * Each CPU owns a region (initially `initialPages` pages, sparse until written). Pages are written into their CPU's
 * region as they are read; once per read cycle the table's size field of each CPU that grew is rewritten (after the
 * data, so the table never names bytes not yet written; v7 first extends the BUFFER section's size). A region that
 * fills is moved to the end of the file with twice the room (its pages copied, then the table's offset field
 * rewritten: the old size still holds there), so moves cost O(total) like a growing array. Table fields are 8 bytes
 * written by one `pwrite` that never crosses a 4 KiB page (a fatal signal can end a write between pages, never within
 * one). The file as SIGKILL leaves it therefore always names only complete, written pages.
 *
 * `finish()` writes the final file (compact, v6 or v7, zlib if asked, the comm table and CPU statistics of the end)
 * to a temporary name beside it and renames it over the working file.
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { encodeMeta, type TraceDatMeta, writeTraceDat } from './writer.ts';

const enc = new TextEncoder();

export interface RecordingOptions {
  path: string;
  version: 6 | 7;
  /** Compression of the final file (v7 only); the working file is never compressed. */
  compression: 'none' | 'zlib';
  /** Metadata known at the start (its cmdlines go into the working file). */
  meta: TraceDatMeta;
  cpus: number;
  /** Sub-buffer size. */
  pageSize: number;
  clock: string;
  traceClock: string;
  uname: string;
  tool: string;
  /** Initial region per CPU, in pages (default 256). */
  initialPages?: number;
}

export interface RecordingStats {
  /** Pages written per CPU. */
  pages: number[];
  bytes: number;
  /** Regions moved to make room. */
  moves: number;
}

interface Region {
  /** File offset of the region and its room, bytes. */
  start: number;
  cap: number;
  /** Bytes written into the region; bytes the table names. */
  written: number;
  committed: number;
}

/** A field of the on-disk table. */
interface Field {
  /** File offset of the u64 offset and u64 size fields of a CPU. */
  off: number;
  size: number;
}

const PAGE = 4096;

/** True when an 8-byte field at `at` does not cross a 4 KiB page. */
function fieldOk(at: number): boolean {
  return at % PAGE <= PAGE - 8;
}

class Bytes {
  private readonly parts: Uint8Array[] = [];
  size = 0;
  constructor(private readonly le: boolean) {}
  raw(b: Uint8Array): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
  str(s: string): this {
    return this.raw(enc.encode(s));
  }
  cstr(s: string): this {
    return this.raw(enc.encode(`${s}\0`));
  }
  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, this.le);
    return this.raw(b);
  }
  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, this.le);
    return this.raw(b);
  }
  u64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), this.le);
    return this.raw(b);
  }
  zeros(n: number): this {
    return this.raw(new Uint8Array(n));
  }
  done(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export class RecordingFile {
  readonly stats: RecordingStats;
  /** The first write error (the recording stops being extended; the file stays valid up to before it). */
  error: Error | undefined;
  private fd: number;
  private readonly le = endianness() === 'LE';
  private readonly regions: Region[] = [];
  private readonly fields: Field[] = [];
  /** v7: offset of the BUFFER section's size field and of its body. */
  private sectionSize = -1;
  private sectionBody = 0;
  /** End of the last region allocated (where the next one goes) and the highest byte written. */
  private nextFree = 0;
  private fileEnd = 0;
  private readonly num = new Uint8Array(8);
  private readonly numView = new DataView(this.num.buffer);
  private readonly zeros: Uint8Array;
  private cpuStats: string[] = [];

  private constructor(
    readonly opts: RecordingOptions,
    fd: number,
  ) {
    this.fd = fd;
    this.stats = { pages: new Array(opts.cpus).fill(0), bytes: 0, moves: 0 };
    this.zeros = new Uint8Array(opts.pageSize);
  }

  /** Creates (or truncates) the file and writes its header, metadata and empty table. Throws on I/O errors. */
  static create(opts: RecordingOptions): RecordingFile {
    if (opts.pageSize < PAGE || (opts.pageSize & (opts.pageSize - 1)) !== 0) {
      throw new RangeError(`page size ${opts.pageSize}`);
    }
    const fd = openSync(opts.path, 'w+');
    const r = new RecordingFile(opts, fd);
    try {
      const head = opts.version === 6 ? r.layoutV6() : r.layoutV7();
      r.writeAt(head, 0);
      const room = (opts.initialPages ?? 256) * opts.pageSize;
      let at = Math.ceil(head.length / opts.pageSize) * opts.pageSize;
      for (let c = 0; c < opts.cpus; c++) {
        r.regions.push({ start: at, cap: room, written: 0, committed: 0 });
        at += room;
      }
      r.nextFree = at;
      r.fileEnd = head.length;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return r;
  }

  /** The first part of the file: header, metadata, options and the table. Fills `fields` (and the v7 section). */
  private header(version: 6 | 7): Bytes {
    const o = this.opts;
    return new Bytes(this.le)
      .raw(Uint8Array.of(0x17, 0x08, 0x44))
      .str('tracing')
      .cstr(String(version))
      .raw(Uint8Array.of(this.le ? 0 : 1, 8))
      .u32(o.pageSize);
  }

  private layoutV6(): Uint8Array {
    const o = this.opts;
    const meta = encodeMeta(o.meta, this.le);
    const build = (pad: number) => {
      const b = this.header(6);
      for (const m of [meta.header, meta.ftrace, meta.events, meta.kallsyms, meta.printk, meta.cmdlines]) b.raw(m);
      b.u32(o.cpus).str('options  \0');
      const clock = enc.encode(`${o.traceClock}\0`);
      b.u16(4).u32(clock.length).raw(clock);
      const uname = enc.encode(`${o.uname}\0`);
      b.u16(5).u32(uname.length).raw(uname);
      // VERSION, padded with NULs (a C string ends at the first) so that the table lands 8-aligned.
      const version = enc.encode(`${o.tool}\0`);
      b.u16(9)
        .u32(version.length + pad)
        .raw(version)
        .zeros(pad);
      b.u16(0).str('flyrecord\0');
      return b;
    };
    const pad = (8 - (build(0).size % 8)) % 8;
    const b = build(pad);
    const table = b.size;
    for (let c = 0; c < o.cpus; c++) this.fields.push({ off: table + 16 * c, size: table + 16 * c + 8 });
    b.zeros(16 * o.cpus);
    b.u64(enc.encode(o.traceClock).length).str(o.traceClock);
    return b.done();
  }

  private layoutV7(): Uint8Array {
    const o = this.opts;
    const meta = encodeMeta(o.meta, this.le);
    const build = (pad: number) => {
      const b = this.header(7).cstr('none').cstr('');
      const firstOptionsAt = b.size;
      b.u64(0);
      const secAt: number[] = [];
      for (const body of [meta.header, meta.ftrace, meta.events, meta.kallsyms, meta.printk, meta.cmdlines]) {
        secAt.push(b.size);
        b.u16(16 + secAt.length - 1)
          .u16(0)
          .u32(0xffffffff)
          .u64(body.length)
          .raw(body);
      }
      const opts1 = b.size;
      const o1 = new Bytes(this.le);
      secAt.forEach((at, i) => {
        o1.u16(16 + i)
          .u32(8)
          .u64(at);
      });
      const clock = enc.encode(`${o.traceClock}\0`);
      o1.u16(4).u32(clock.length).raw(clock);
      const uname = enc.encode(`${o.uname}\0`);
      o1.u16(5).u32(uname.length).raw(uname);
      const version = enc.encode(`${o.tool}\0`);
      o1.u16(9)
        .u32(version.length + pad)
        .raw(version)
        .zeros(pad);
      o1.u16(8).u32(4).u32(o.cpus);
      const opts2 = opts1 + 16 + o1.size + 6 + 8;
      o1.u16(0).u32(8).u64(opts2);
      b.u16(0).u16(0).u32(0xffffffff).u64(o1.size).raw(o1.done());
      // The BUFFER option: every CPU listed, its data (empty for now) at the start of the BUFFER section.
      const o2 = new Bytes(this.le);
      const nameClock = enc.encode(`\0${o.clock}\0`);
      const optLen = 8 + nameClock.length + 4 + 4 + 20 * o.cpus;
      const o2Size = 6 + optLen + 6 + 8;
      const bufferAt = opts2 + 16 + o2Size;
      const body = bufferAt + 16;
      o2.u16(3).u32(optLen).u64(bufferAt).raw(nameClock).u32(o.pageSize).u32(o.cpus);
      const entriesAt = opts2 + 16 + 6 + 8 + nameClock.length + 8;
      const fields: Field[] = [];
      for (let c = 0; c < o.cpus; c++) {
        o2.u32(c).u64(body).u64(0);
        fields.push({ off: entriesAt + 20 * c + 4, size: entriesAt + 20 * c + 12 });
      }
      o2.u16(0).u32(8).u64(0);
      b.u16(0).u16(0).u32(0xffffffff).u64(o2.size).raw(o2.done());
      const sizeField = b.size + 8;
      b.u16(3).u16(0).u32(0xffffffff).u64(0);
      const bytes = b.done();
      new DataView(bytes.buffer).setBigUint64(firstOptionsAt, BigInt(opts1), this.le);
      return { bytes, fields, sizeField, body };
    };
    // Pad the VERSION option until no table field (and not the section size) crosses a 4 KiB page.
    let pick = build(0);
    for (let pad = 0; pad < PAGE; pad++) {
      const t = build(pad);
      if (t.fields.every((f) => fieldOk(f.off) && fieldOk(f.size)) && fieldOk(t.sizeField)) {
        pick = t;
        break;
      }
    }
    this.fields.push(...pick.fields);
    this.sectionSize = pick.sizeField;
    this.sectionBody = pick.body;
    return pick.bytes;
  }

  private writeAt(b: Uint8Array, at: number, off = 0, len = b.length - off): void {
    let done = 0;
    while (done < len) done += writeSync(this.fd, b, off + done, len - done, at + done);
    if (at + len > this.fileEnd) this.fileEnd = at + len;
  }

  private writeU64(at: number, v: number): void {
    this.numView.setBigUint64(0, BigInt(v), this.le);
    writeSync(this.fd, this.num, 0, 8, at);
  }

  /**
   * One sub-buffer of `cpu` (a `PageObserver` callback: never throws; the first error is kept in `error` and the
   * recording stops growing).
   */
  page(cpu: number, bytes: Uint8Array, offset: number, length: number): void {
    if (this.error !== undefined || cpu < 0 || cpu >= this.regions.length) return;
    const ps = this.opts.pageSize;
    try {
      const r = this.regions[cpu];
      if (r.written + ps > r.cap) this.move(cpu, r);
      const at = r.start + r.written;
      const n = Math.min(length, ps);
      this.writeAt(bytes, at, offset, n);
      if (n < ps) this.writeAt(this.zeros, at + n, 0, ps - n);
      r.written += ps;
      this.stats.pages[cpu]++;
      this.stats.bytes += ps;
    } catch (e) {
      this.error = e as Error;
    }
  }

  /** Moves a full region to the end of the file with twice the room; the table then names the new place. */
  private move(cpu: number, r: Region): void {
    const cap = r.cap * 2;
    const start = this.nextFree;
    this.nextFree += cap;
    const buf = new Uint8Array(Math.min(1 << 20, Math.max(r.written, this.opts.pageSize)));
    for (let done = 0; done < r.written; ) {
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, r.written - done), r.start + done);
      if (n <= 0) throw new Error(`short read moving the cpu${cpu} region`);
      this.writeAt(buf, start + done, 0, n);
      done += n;
    }
    // The copy is complete and covered by the section before the table's offset moves to it (size unchanged).
    if (this.sectionSize >= 0) this.writeU64(this.sectionSize, this.fileEnd - this.sectionBody);
    if (r.committed > 0) this.writeU64(this.fields[cpu].off, start);
    r.start = start;
    r.cap = cap;
    this.stats.moves++;
  }

  /**
   * End of a read cycle (`PageObserver.cycle`): the table names every page written so far. On the `final` cycle the
   * instance still exists: `cpuStats` reads its per-CPU statistics for the final file.
   */
  commit(): void {
    if (this.error !== undefined) return;
    try {
      let grew = false;
      for (const r of this.regions) if (r.written > r.committed) grew = true;
      if (!grew) return;
      if (this.sectionSize >= 0) this.writeU64(this.sectionSize, this.fileEnd - this.sectionBody);
      for (let c = 0; c < this.regions.length; c++) {
        const r = this.regions[c];
        if (r.written === r.committed) continue;
        if (r.committed === 0) this.writeU64(this.fields[c].off, r.start);
        this.writeU64(this.fields[c].size, r.written);
        r.committed = r.written;
      }
    } catch (e) {
      this.error = e as Error;
    }
  }

  /** CPU statistics for the final file (read by the caller while the instance exists). */
  setCpuStats(stats: string[]): void {
    this.cpuStats = stats;
  }

  /**
   * Writes the final file (compact; the comm table `cmdlines` of the end; `compression` of the options) over the
   * working file. Returns its size. On failure the working file stays as it is (valid) and the error is thrown.
   */
  async finish(cmdlines: string): Promise<number> {
    this.commit();
    const o = this.opts;
    const tmp = `${o.path}.tmp-${process.pid}`;
    const fd = this.fd;
    const regions = this.regions;
    const pageSize = o.pageSize;
    async function* pages(r: Region): AsyncIterable<Uint8Array> {
      const block = new Uint8Array(Math.max(pageSize, Math.floor((1 << 20) / pageSize) * pageSize));
      for (let done = 0; done < r.committed; ) {
        const n = readSync(fd, block, 0, Math.min(block.length, r.committed - done), r.start + done);
        if (n < pageSize) throw new Error(`short read of ${o.path} at ${r.start + done}`);
        const whole = n - (n % pageSize);
        for (let p = 0; p < whole; p += pageSize) yield block.subarray(p, p + pageSize);
        done += whole;
      }
    }
    try {
      const size = await writeTraceDat(tmp, {
        version: o.version,
        compression: o.version === 6 ? 'none' : o.compression,
        meta: { ...o.meta, cmdlines: cmdlines === '' ? o.meta.cmdlines : cmdlines },
        cpus: o.cpus,
        traceClock: o.traceClock,
        uname: o.uname,
        tool: o.tool,
        cpuStats: this.cpuStats,
        buffers: [
          {
            name: '',
            clock: o.clock,
            pageSize,
            cpus: regions.flatMap((r, cpu) => (r.committed > 0 ? [{ cpu, pages: () => pages(r) }] : [])),
          },
        ],
      });
      renameSync(tmp, o.path);
      return size;
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        // not created
      }
      throw e;
    } finally {
      this.close();
    }
  }

  /** Size of the working file now. */
  get fileSize(): number {
    return this.fd < 0 ? 0 : fstatSync(this.fd).size;
  }

  /** Closes the working file (it stays valid as it is). Idempotent. */
  close(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = -1;
    }
  }
}
