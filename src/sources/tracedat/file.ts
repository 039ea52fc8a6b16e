/**
 * Bounded reads of a trace.dat file and a cursor over its integers and strings (file endianness). Every shortfall
 * is a TraceDatError naming the absolute offset, so a truncated or corrupt file gives one clear line.
 */
import type { FileHandle } from 'node:fs/promises';
import { TraceDatError } from './errors.ts';

/** Upper bound for one metadata blob (format files, kallsyms, ...) held in memory: larger means corruption. */
export const MAX_BLOB = 512 * 1024 * 1024;

export class TraceFile {
  /** Bytes read so far (for progress). */
  bytesRead = 0;
  /** File byte order (set once the header has been read). */
  le = true;
  constructor(
    readonly fh: FileHandle,
    readonly path: string,
    readonly size: number,
  ) {}

  fail(offset: number, reason: string): never {
    throw new TraceDatError(this.path, offset, reason);
  }

  /** Exactly `length` bytes at `offset`, or a TraceDatError ("truncated <what>"). */
  async read(offset: number, length: number, what: string): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || offset < 0) this.fail(0, `bad offset ${offset} for ${what}`);
    if (length > MAX_BLOB) this.fail(offset, `implausible size ${length} for ${what}`);
    if (offset + length > this.size) {
      this.fail(offset, `truncated ${what}: needs ${length} bytes, file has ${Math.max(0, this.size - offset)}`);
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(out, done, length - done, offset + done);
      if (bytesRead === 0) this.fail(offset + done, `unexpected end of file in ${what}`);
      done += bytesRead;
    }
    this.bytesRead += length;
    return out;
  }

  /** Up to `length` bytes at `offset` into `into` (fewer at end of file). Returns how many. */
  async readSome(offset: number, into: Uint8Array, length: number): Promise<number> {
    const n = Math.max(0, Math.min(length, this.size - offset, into.length));
    let done = 0;
    while (done < n) {
      const { bytesRead } = await this.fh.read(into, done, n - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    this.bytesRead += done;
    return done;
  }
}

const utf8 = new TextDecoder('utf-8');

/**
 * Sequential reader. Backed either by the file (refilled in windows: the v6 layout has no sizes up front) or by an
 * in-memory section body (v7; `fileBase` then locates errors: for a compressed body, the section's offset).
 */
export class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  /** File (or body) offset of buf[0]. */
  private bufStart = 0;
  /** Current position (file or body offset). */
  pos: number;

  private constructor(
    private readonly file: TraceFile,
    private readonly le: boolean,
    private readonly backing: 'file' | 'memory',
    start: number,
    private readonly where: string,
    private readonly errorBase: number,
  ) {
    this.pos = start;
  }

  static onFile(file: TraceFile, start: number, le: boolean): Cursor {
    return new Cursor(file, le, 'file', start, '', 0);
  }

  /** A cursor over `body`; errors name `errorBase` + position (`where` describes a decompressed body). */
  static onMemory(file: TraceFile, body: Uint8Array, le: boolean, errorBase: number, where = ''): Cursor {
    const c = new Cursor(file, le, 'memory', 0, where, errorBase);
    c.buf = body;
    c.view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    return c;
  }

  get littleEndian(): boolean {
    return this.le;
  }

  /** Absolute file offset for error messages. */
  offsetOf(pos: number): number {
    return this.backing === 'file' ? pos : this.errorBase + (this.where ? 0 : pos);
  }

  fail(reason: string, pos = this.pos): never {
    const suffix =
      this.backing === 'memory' && this.where ? ` (${this.where}, byte ${pos} of the decompressed body)` : '';
    this.file.fail(this.offsetOf(pos), `${reason}${suffix}`);
  }

  get remaining(): number {
    return this.backing === 'memory' ? this.buf.length - this.pos : this.file.size - this.pos;
  }

  /** Makes `n` bytes at `pos` available. */
  async need(n: number, what: string): Promise<void> {
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length) return;
    if (this.backing === 'memory' || n > MAX_BLOB || this.pos + n > this.file.size) {
      this.fail(`truncated ${what}: needs ${n} bytes, ${Math.max(0, this.remaining)} left`);
    }
    const len = Math.min(Math.max(n, 1 << 20), this.file.size - this.pos);
    const b = new Uint8Array(len);
    await this.file.readSome(this.pos, b, len);
    this.buf = b;
    this.view = new DataView(b.buffer);
    this.bufStart = this.pos;
  }

  async u8(what: string): Promise<number> {
    await this.need(1, what);
    return this.buf[this.pos++ - this.bufStart];
  }

  async u16(what: string): Promise<number> {
    await this.need(2, what);
    const v = this.view.getUint16(this.pos - this.bufStart, this.le);
    this.pos += 2;
    return v;
  }

  async u32(what: string): Promise<number> {
    await this.need(4, what);
    const v = this.view.getUint32(this.pos - this.bufStart, this.le);
    this.pos += 4;
    return v;
  }

  /** A u64 that must fit a JS number exactly (offsets, sizes); larger values are corruption. */
  async u64(what: string): Promise<number> {
    const at = this.pos;
    const v = await this.u64Big(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`implausible ${what} ${v}`, at);
    return Number(v);
  }

  async u64Big(what: string): Promise<bigint> {
    await this.need(8, what);
    const v = this.view.getBigUint64(this.pos - this.bufStart, this.le);
    this.pos += 8;
    return v;
  }

  async bytes(n: number, what: string): Promise<Uint8Array> {
    if (n > MAX_BLOB) this.fail(`implausible size ${n} for ${what}`);
    if (this.backing === 'file' && n > 1 << 20) {
      if (this.pos + n > this.file.size) this.fail(`truncated ${what}: needs ${n} bytes, ${this.remaining} left`);
      const out = await this.file.read(this.pos, n, what);
      this.pos += n;
      return out;
    }
    await this.need(n, what);
    const s = this.pos - this.bufStart;
    this.pos += n;
    return this.buf.subarray(s, s + n);
  }

  async text(n: number, what: string): Promise<string> {
    return utf8.decode(await this.bytes(n, what));
  }

  /** A NUL-terminated string (at most `max` bytes before the NUL). */
  async cstr(what: string, max = 4096): Promise<string> {
    const start = this.pos;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      await this.need(1, what);
      const s = this.pos - this.bufStart;
      const avail = this.buf.subarray(s);
      const nul = avail.indexOf(0);
      const take = nul >= 0 ? avail.subarray(0, nul) : avail;
      total += take.length;
      if (total > max) this.fail(`${what} is not NUL-terminated within ${max} bytes`, start);
      parts.push(take);
      this.pos += take.length;
      if (nul >= 0) {
        this.pos += 1;
        break;
      }
    }
    if (parts.length === 1) return utf8.decode(parts[0]);
    const all = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return utf8.decode(all);
  }
}
