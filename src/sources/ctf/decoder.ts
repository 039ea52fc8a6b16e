/**
 * The CTF stream decoder: pure code that walks the packets and events of one data stream held in a byte buffer,
 * running the compiled programs of `compile.ts`. It opens nothing: the caller (`source.ts`) owns the file and refills
 * the buffer when `fetch()` answers `NEED_IO`. Nothing here throws or allocates per event; problems are reported
 * through `onError` with a named status, and the rest of the damaged packet (or stream) is skipped.
 */
import { type GenState, generate } from './codegen.ts';
import {
  type CompiledEvent,
  type CompiledStream,
  type CompiledTrace,
  HEADER_COMPACT,
  type HeaderShape,
} from './compile.ts';
import {
  F_BE,
  F_CLOCK,
  F_CLOCK_SET,
  F_CLOCKMAP,
  F_FIXED,
  F_RWBS,
  F_RWBS_OLD,
  F_SIGNED,
  F_TEXT,
  F_ZERO,
  MAX_PAYLOAD,
  OP_ALIGN,
  OP_BEGIN,
  OP_BITS,
  OP_BYTES,
  OP_CONST,
  OP_END,
  OP_INT,
  OP_INT_ARRAY,
  OP_JUMP,
  OP_LOOP,
  OP_LOOP_END,
  OP_SEQ_BYTES,
  OP_SEQ_INT,
  OP_SKIP,
  OP_STRING,
  OP_VARIANT,
  R_ID,
  S_A,
  S_ALIGN,
  S_AUX,
  S_DST,
  S_DSTSIZE,
  S_FLAGS,
  S_REG,
  ST_BAD_TAG,
  ST_OK,
  ST_OVERFLOW,
  ST_TOO_LONG,
  STATUS_NAMES,
  W,
} from './ops.ts';
import { rwbsString } from './rwbs.ts';

const TWO32 = 4294967296;
const POW2: number[] = [];
for (let k = 0; k <= 64; k++) POW2.push(2 ** k);

/** `fetch()` results. */
export const FETCH_OK = 0;
export const FETCH_END = 1;
export const FETCH_NEED_IO = 2;

/** CPU ids at or above this are taken as damage (the source keeps per-CPU arrays). */
export const MAX_CPUS = 65536;

/** Largest packet accepted (the whole packet is held in memory while it is decoded). */
export const MAX_PACKET_BYTES = 256 * 1024 * 1024;

/** Called for every problem found in the stream: a status name, the file offset, and a one-line description. */
export type ErrorSink = (status: string, offset: number, detail: string, bytesLost: number) => void;

/**
 * Decoding state of one stream: its buffer window, bit position, clock, registers and output payload. `fetch()`
 * decodes the next event; after FETCH_OK, `event`, `ts` and `out[0..len)` describe it until the next call.
 */
export class StreamDecoder {
  // --- input window (set by the owner) -------------------------------------------------------------------------
  buf: Uint8Array = new Uint8Array(0);
  private dv = new DataView(this.buf.buffer);
  /** File offset of buf[0], and how many bytes of buf are valid. */
  bufStart = 0;
  bufLen = 0;
  /** When FETCH_NEED_IO: the file range that must be in the buffer (offset, length). */
  needOffset = 0;
  needLength = 0;

  // --- decoding state ------------------------------------------------------------------------------------------
  /** Byte index in `buf` of the current packet start; bit positions below are relative to it (CTF §4.1.2). */
  private base = 0;
  private pos = 0;
  private end = 0;
  /** Bit position of the current event's header. */
  private evStart = 0;
  private dyn = 0;
  /** Registers: decoded values other fields refer to (R_ID, R_TID, sequence lengths, variant tags). */
  readonly regs: Float64Array;
  private readonly loopStack = new Float64Array(64);
  private tlo = 0;
  private thi = 0;
  clockHi = 0;
  clockLo = 0;
  /** Output payload (synthetic ftrace-like record) of the current event. */
  readonly out = new Uint8Array(MAX_PAYLOAD + 64);
  readonly odv = new DataView(this.out.buffer);
  /** Scratch where packet headers and contexts are decoded. */
  private readonly scratch = new Uint8Array(MAX_PAYLOAD + 64);
  private readonly sdv = new DataView(this.scratch.buffer);

  // --- packet state ----------------------------------------------------------------------------------------------
  private inPacket = false;
  /** File offset of the next packet to read. */
  nextPacket = 0;
  private packetOffset = 0;
  private stream: CompiledStream | undefined;
  private stopAfterPacket = false;
  private done = false;
  private lastDiscarded = -1;
  /** CPU of the current packet (`cpu_id`, or the fallback given at construction). */
  cpu: number;
  /** Events the tracer reported discarded before the current packet (delta of `events_discarded`), until taken. */
  pendingLost = 0;

  // --- current event ----------------------------------------------------------------------------------------------
  event: CompiledEvent | undefined;
  /** Timestamp of the current event, ns from the trace origin. */
  ts = 0;
  /** Payload length of the current event. */
  len = 0;
  /** Strings or sequences cut to fit the 64 KiB payload (by the interpreter; generated code counts in `gen`). */
  truncated = 0;
  /** Position and payload end exchanged with generated decoders (codegen.ts). */
  readonly gen: GenState = { pos: 0, dyn: 0, truncated: 0 };
  /** Called with the buffer index of every 64-bit clock field decoded (trace rewriting tools only). */
  onClock64: ((index: number) => void) | undefined;

  constructor(
    private readonly trace: CompiledTrace,
    readonly file: string,
    public fileSize: number,
    fallbackCpu: number,
    private readonly onError: ErrorSink,
  ) {
    this.regs = new Float64Array(Math.max(trace.nRegs, 8));
    this.cpu = fallbackCpu;
  }

  /** Recomputes the current timestamp after the trace origin was moved (the source sets it after the first events). */
  rebase(): void {
    const t = this.trace;
    let ts = (this.clockHi - t.originHi) * TWO32 + (this.clockLo - t.originLo);
    if (t.nsPerCycle !== 1) ts *= t.nsPerCycle;
    this.ts = ts;
  }

  /** Points the decoder at a buffer holding file bytes [start, start + len). */
  setBuffer(buf: Uint8Array, start: number, len: number): void {
    if (buf !== this.buf) {
      this.buf = buf;
      this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    this.bufStart = start;
    this.bufLen = len;
    if (this.inPacket) this.base = this.packetOffset - start;
  }

  private fail(status: string, offset: number, detail: string, bytesLost: number): void {
    this.onError(status, offset, detail, bytesLost);
  }

  /** Decodes the next event. FETCH_NEED_IO: load `needOffset/needLength` into the buffer and call again. */
  fetch(): number {
    for (;;) {
      if (!this.inPacket) {
        if (this.done) return FETCH_END;
        const st = this.loadPacket();
        if (st !== FETCH_OK) return st;
      }
      const s = this.stream!;
      const m = s.headerAlign - 1;
      const at = (this.pos + m) & ~m;
      if (at >= this.end) {
        this.inPacket = false;
        continue;
      }
      this.evStart = at;
      let st: number;
      let id: number;
      if (s.headerShape !== undefined) {
        this.pos = at;
        id = this.lttngHeader(s.headerShape);
        st = id < 0 ? -id : ST_OK;
      } else {
        st = this.exec(s.header, this.out, this.odv);
        id = this.regs[R_ID];
      }
      if (st !== ST_OK) {
        this.skipPacket(st, 'event header');
        continue;
      }
      const ev = s.events[id];
      if (ev === undefined) {
        this.skipPacket(-1, `unknown event id ${id}`);
        continue;
      }
      if (ev.fast === undefined) ev.fast = generate(ev.code, rwbsString) ?? null;
      if (ev.fast !== null) {
        const g = this.gen;
        st = ev.fast(g, this.buf, this.dv, this.base, this.pos, this.end, this.out, this.odv, this.regs);
        this.pos = g.pos;
        this.dyn = g.dyn;
      } else st = this.exec(ev.code, this.out, this.odv);
      if (st !== ST_OK) {
        this.skipPacket(st, `event "${ev.name}"`);
        continue;
      }
      this.event = ev;
      this.len = this.dyn;
      const t = this.trace;
      let ts = (this.clockHi - t.originHi) * TWO32 + (this.clockLo - t.originLo);
      if (t.nsPerCycle !== 1) ts *= t.nsPerCycle;
      if (ts < this.ts) {
        this.fail('ctf_timestamp_backwards', this.eventOffset(), `event "${ev.name}" goes back in time`, 0);
        ts = this.ts;
      }
      this.ts = ts;
      return FETCH_OK;
    }
  }

  /** File offset of the event being decoded. */
  private eventOffset(): number {
    return this.packetOffset + Math.floor(this.evStart / 8);
  }

  private skipPacket(status: number, what: string): void {
    const name = status < 0 ? 'ctf_unknown_event_id' : STATUS_NAMES[status];
    const lost = Math.max(0, Math.ceil((this.end - this.evStart) / 8));
    const why =
      status < 0
        ? what
        : status === ST_OVERFLOW
          ? `${what} runs past the end of the packet content`
          : status === ST_BAD_TAG
            ? `${what}: variant tag matches no option`
            : `${what}: sequence longer than the packet`;
    this.fail(name, this.eventOffset(), `${why}; rest of the packet skipped (${lost} bytes)`, lost);
    this.inPacket = false;
  }

  private stopStream(status: string, offset: number, detail: string): void {
    const lost = Math.max(0, this.fileSize - offset);
    this.fail(status, offset, `${detail}; rest of the stream skipped (${lost} bytes)`, lost);
    this.done = true;
    this.inPacket = false;
  }

  private need(offset: number, length: number): number {
    this.needOffset = offset;
    this.needLength = Math.min(length, this.fileSize - offset);
    return FETCH_NEED_IO;
  }

  /** Reads the packet header and context at `nextPacket`; sets up the event walk. */
  private loadPacket(): number {
    if (this.stopAfterPacket) this.done = true;
    const off = this.nextPacket;
    if (this.done || off >= this.fileSize) {
      this.done = true;
      return FETCH_END;
    }
    const avail = this.bufStart + this.bufLen - off;
    if (off < this.bufStart || avail <= 0) return this.need(off, 4096);
    const t = this.trace;
    this.base = off - this.bufStart;
    this.pos = 0;
    this.end = avail * 8;
    const moreInFile = this.bufStart + this.bufLen < this.fileSize;
    let st = this.exec(t.packetHeader, this.scratch, this.sdv);
    if (st === ST_OVERFLOW && moreInFile) return this.need(off, avail * 2 + 4096);
    if (st !== ST_OK) {
      this.stopStream('ctf_truncated_packet_header', off, 'packet header cut short');
      return FETCH_END;
    }
    const sdv = this.sdv;
    if (t.magicOff >= 0 && sdv.getUint32(t.magicOff, true) !== 0xc1fc1fc1) {
      this.stopStream(
        'ctf_bad_packet_magic',
        off,
        `bad packet magic 0x${sdv.getUint32(t.magicOff, true).toString(16)}`,
      );
      return FETCH_END;
    }
    if (t.uuidOff >= 0 && t.uuid !== undefined) {
      for (let k = 0; k < 16; k++) {
        if (this.scratch[t.uuidOff + k] !== t.uuid[k]) {
          this.stopStream('ctf_uuid_mismatch', off, 'packet uuid differs from the trace uuid');
          return FETCH_END;
        }
      }
    }
    const sid = t.streamIdOff >= 0 ? readU64(sdv, t.streamIdOff) : t.defaultStreamId;
    const s = t.streams[sid];
    if (s === undefined) {
      this.stopStream('ctf_unknown_stream_id', off, `packet of undeclared stream class ${sid}`);
      return FETCH_END;
    }
    st = this.exec(s.packetContext, this.scratch, this.sdv);
    if (st === ST_OVERFLOW && moreInFile) return this.need(off, avail * 2 + 4096);
    if (st !== ST_OK) {
      this.stopStream('ctf_truncated_packet_header', off, 'packet context cut short');
      return FETCH_END;
    }
    const hdrBits = this.pos;
    const fileLeftBits = (this.fileSize - off) * 8;
    const packetBits = s.packetSizeOff >= 0 ? readU64(sdv, s.packetSizeOff) : fileLeftBits;
    let contentBits = s.contentSizeOff >= 0 ? readU64(sdv, s.contentSizeOff) : packetBits;
    if (
      packetBits % 8 !== 0 ||
      packetBits < hdrBits ||
      contentBits > packetBits ||
      contentBits < hdrBits ||
      packetBits / 8 > MAX_PACKET_BYTES
    ) {
      this.stopStream(
        'ctf_bad_packet_size',
        off,
        `bad packet sizes (packet_size ${packetBits} bits, content_size ${contentBits} bits, header ${hdrBits} bits)`,
      );
      return FETCH_END;
    }
    const packetBytes = packetBits / 8;
    if (packetBytes === 0) {
      this.stopStream('ctf_bad_packet_size', off, 'empty packet (packet_size 0)');
      return FETCH_END;
    }
    let truncated = false;
    if (off + packetBytes > this.fileSize) {
      truncated = true;
      contentBits = Math.min(contentBits, fileLeftBits);
    }
    const wanted = Math.min(packetBytes, this.fileSize - off);
    if (off + wanted > this.bufStart + this.bufLen) return this.need(off, wanted);
    // Commit the packet.
    this.stream = s;
    this.packetOffset = off;
    this.end = contentBits;
    this.inPacket = true;
    this.nextPacket = off + packetBytes;
    if (truncated) {
      this.fail(
        'ctf_truncated_packet',
        off,
        `packet of ${packetBytes} bytes cut short by the end of the file (${this.fileSize - off} bytes present); decoding what is there`,
        0,
      );
      this.stopAfterPacket = true;
    }
    if (s.cpuIdOff >= 0) {
      const cpu = sdv.getUint32(s.cpuIdOff, true);
      if (cpu < MAX_CPUS) this.cpu = cpu;
      else this.fail('ctf_bad_cpu_id', off, `cpu_id ${cpu} out of range; keeping CPU ${this.cpu}`, 0);
    }
    if (s.discardedOff >= 0) {
      const d = readU64(sdv, s.discardedOff);
      if (this.lastDiscarded >= 0 && d !== this.lastDiscarded) {
        // A free-running counter: take the difference modulo its width (32-bit on 32-bit kernels).
        let delta = d - this.lastDiscarded;
        if (delta < 0) delta += s.discardedBits >= 53 ? 0 : POW2[s.discardedBits];
        // Still negative: a 64-bit counter went back (a new session reusing the stream): count from its new value.
        this.pendingLost += delta >= 0 ? delta : d;
      } else if (this.lastDiscarded < 0 && d > 0) {
        this.pendingLost += d;
      }
      this.lastDiscarded = d;
    }
    // The clock was set from timestamp_begin by the packet context program (F_CLOCK_SET).
    return FETCH_OK;
  }

  /** Interprets `code` from the current position. Returns ST_OK or an error status (position left at the fault). */
  exec(code: Int32Array, out: Uint8Array, odv: DataView): number {
    const buf = this.buf;
    const dv = this.dv;
    const base = this.base;
    const end = this.end;
    const regs = this.regs;
    const loops = this.loopStack;
    let sp = 0;
    let pos = this.pos;
    let dyn = this.dyn;
    let pc = 0;
    for (;;) {
      switch (code[pc]) {
        case OP_END:
          this.pos = pos;
          this.dyn = dyn;
          return ST_OK;
        case OP_BEGIN: {
          odv.setUint32(0, code[pc + S_A], true);
          odv.setInt32(4, 0, true);
          dyn = code[pc + S_DSTSIZE];
          if (code[pc + S_FLAGS] & F_ZERO) out.fill(0, 8, dyn);
          break;
        }
        case OP_ALIGN: {
          const m = code[pc + S_ALIGN] - 1;
          pos = (pos + m) & ~m;
          break;
        }
        case OP_INT: {
          const m = code[pc + S_ALIGN] - 1;
          pos = (pos + m) & ~m;
          const size = code[pc + S_A];
          if (pos + size > end) {
            this.pos = pos;
            return ST_OVERFLOW;
          }
          const flags = code[pc + S_FLAGS];
          const le = (flags & F_BE) === 0;
          const signed = (flags & F_SIGNED) !== 0;
          const p = base + (pos >>> 3);
          let lo: number;
          let hi: number;
          if (size === 32) {
            lo = signed ? dv.getInt32(p, le) : dv.getUint32(p, le);
            hi = signed && lo < 0 ? -1 : 0;
          } else if (size === 64) {
            lo = dv.getUint32(le ? p : p + 4, le);
            hi = signed ? dv.getInt32(le ? p + 4 : p, le) : dv.getUint32(le ? p + 4 : p, le);
            if (flags & F_CLOCKMAP && this.onClock64 !== undefined) this.onClock64(p);
          } else if (size === 8) {
            lo = signed ? dv.getInt8(p) : buf[p];
            hi = lo < 0 ? -1 : 0;
          } else {
            lo = signed ? dv.getInt16(p, le) : dv.getUint16(p, le);
            hi = lo < 0 ? -1 : 0;
          }
          pos += size;
          if (flags & (F_CLOCK | F_CLOCK_SET)) this.clock_(flags, size, lo, hi);
          const dst = code[pc + S_DST];
          if (dst >= 0) {
            if (flags & F_RWBS) rwbsString(lo >>> 0, (flags & F_RWBS_OLD) !== 0, out, dst, code[pc + S_DSTSIZE]);
            else emit(odv, dst, code[pc + S_DSTSIZE], lo, hi);
          }
          const reg = code[pc + S_REG];
          if (reg >= 0) regs[reg] = signed ? hi * TWO32 + (lo >>> 0) : (hi >>> 0) * TWO32 + (lo >>> 0);
          break;
        }
        case OP_BITS: {
          const m = code[pc + S_ALIGN] - 1;
          pos = (pos + m) & ~m;
          const size = code[pc + S_A];
          if (pos + size > end) {
            this.pos = pos;
            return ST_OVERFLOW;
          }
          const flags = code[pc + S_FLAGS];
          this.readBits(pos, size, (flags & F_BE) !== 0);
          let lo = this.tlo;
          let hi = this.thi;
          if (flags & F_SIGNED) {
            if (size <= 32) {
              if (lo >= POW2[size - 1]) lo -= POW2[size];
              hi = lo < 0 ? -1 : 0;
              lo = lo >>> 0;
            } else if (size < 64 && hi >= POW2[size - 33]) {
              hi -= POW2[size - 32];
            } else if (size === 64) hi = hi | 0;
          }
          pos += size;
          if (flags & (F_CLOCK | F_CLOCK_SET)) this.clock_(flags, size, lo, hi);
          const dst = code[pc + S_DST];
          if (dst >= 0) emit(odv, dst, code[pc + S_DSTSIZE], lo, hi);
          const reg = code[pc + S_REG];
          if (reg >= 0) regs[reg] = hi * TWO32 + (lo >>> 0);
          break;
        }
        case OP_BYTES: {
          const m = code[pc + S_ALIGN] - 1;
          pos = (pos + m) & ~m;
          const n = code[pc + S_A];
          if (pos + n * 8 > end) {
            this.pos = pos;
            return ST_OVERFLOW;
          }
          const p = base + (pos >>> 3);
          const dst = code[pc + S_DST];
          if (dst >= 0) {
            const size = code[pc + S_DSTSIZE];
            const c = Math.min(n, size);
            for (let k = 0; k < c; k++) out[dst + k] = buf[p + k];
            for (let k = c; k < size; k++) out[dst + k] = 0;
          }
          const reg = code[pc + S_REG];
          if (reg >= 0) {
            regs[reg] = p;
            regs[reg + 1] = n;
          }
          pos += n * 8;
          break;
        }
        case OP_INT_ARRAY: {
          const m = code[pc + S_ALIGN] - 1;
          pos = (pos + m) & ~m;
          const size = code[pc + S_A];
          const n = code[pc + S_AUX];
          if (pos + n * size > end) {
            this.pos = pos;
            return ST_OVERFLOW;
          }
          const dst = code[pc + S_DST];
          if (dst >= 0) {
            const flags = code[pc + S_FLAGS];
            this.intElements(base + (pos >>> 3), n, size, flags, odv, dst, code[pc + S_DSTSIZE]);
          }
          pos += n * size;
          break;
        }
        case OP_STRING: {
          pos = (pos + 7) & ~7;
          const p = base + (pos >>> 3);
          const limit = base + (end >>> 3);
          let q = p;
          while (q < limit && buf[q] !== 0) q++;
          if (q >= limit) {
            this.pos = pos;
            return ST_OVERFLOW;
          }
          const len = q - p;
          const dst = code[pc + S_DST];
          if (dst >= 0) {
            const flags = code[pc + S_FLAGS];
            if (flags & F_FIXED) {
              const size = code[pc + S_DSTSIZE];
              const c = Math.min(len, size - 1);
              for (let k = 0; k < c; k++) out[dst + k] = buf[p + k];
              for (let k = c; k < size; k++) out[dst + k] = 0;
            } else {
              let n = len + 1;
              if (dyn + n > MAX_PAYLOAD) {
                n = MAX_PAYLOAD - dyn;
                this.truncated++;
              }
              if (n > 0) {
                for (let k = 0; k < n - 1; k++) out[dyn + k] = buf[p + k];
                out[dyn + n - 1] = 0;
              } else n = 0;
              odv.setUint32(dst, n * 65536 + dyn, true);
              dyn += n;
            }
          }
          const reg = code[pc + S_REG];
          if (reg >= 0) {
            regs[reg] = p;
            regs[reg + 1] = len;
          }
          pos = (q + 1 - base) * 8;
          break;
        }
        case OP_SEQ_BYTES: {
          const m = code[pc + S_ALIGN] - 1;
          pos = (pos + m) & ~m;
          const n = regs[code[pc + S_REG]];
          if (!(n >= 0) || n * 8 > end - pos || n !== Math.floor(n)) {
            this.pos = pos;
            return n * 8 > end - pos ? ST_OVERFLOW : ST_TOO_LONG;
          }
          const p = base + (pos >>> 3);
          const dst = code[pc + S_DST];
          if (dst >= 0) {
            let c = n;
            if (code[pc + S_FLAGS] & F_TEXT) {
              let z = 0;
              while (z < n && buf[p + z] !== 0) z++;
              c = z;
            }
            let total = code[pc + S_FLAGS] & F_TEXT ? c + 1 : c;
            if (dyn + total > MAX_PAYLOAD) {
              total = MAX_PAYLOAD - dyn;
              this.truncated++;
            }
            const copy = Math.min(c, total);
            for (let k = 0; k < copy; k++) out[dyn + k] = buf[p + k];
            for (let k = copy; k < total; k++) out[dyn + k] = 0;
            odv.setUint32(dst, total * 65536 + dyn, true);
            dyn += total;
          }
          pos += n * 8;
          break;
        }
        case OP_SEQ_INT: {
          const m = code[pc + S_ALIGN] - 1;
          pos = (pos + m) & ~m;
          const size = code[pc + S_A];
          const n = regs[code[pc + S_REG]];
          if (!(n >= 0) || n * size > end - pos || n !== Math.floor(n)) {
            this.pos = pos;
            return n * size > end - pos ? ST_OVERFLOW : ST_TOO_LONG;
          }
          const dst = code[pc + S_DST];
          if (dst >= 0) {
            const esize = code[pc + S_DSTSIZE];
            let count = n;
            if (dyn + count * esize > MAX_PAYLOAD) {
              count = Math.floor((MAX_PAYLOAD - dyn) / esize);
              this.truncated++;
            }
            this.intElements(base + (pos >>> 3), count, size, code[pc + S_FLAGS], odv, dyn, esize);
            odv.setUint32(dst, count * esize * 65536 + dyn, true);
            dyn += count * esize;
          }
          pos += n * size;
          break;
        }
        case OP_VARIANT: {
          const v = regs[code[pc + S_REG]];
          const table = this.trace.variantTables[code[pc + S_AUX]];
          let target = -1;
          for (let k = 0; k < table.length; k += 3) {
            if (v >= table[k] && v <= table[k + 1]) {
              target = table[k + 2];
              break;
            }
          }
          if (target < 0) {
            this.pos = pos;
            return ST_BAD_TAG;
          }
          pc = target;
          continue;
        }
        case OP_JUMP:
          pc = code[pc + S_AUX];
          continue;
        case OP_LOOP: {
          const a = code[pc + S_A];
          const n = a >= 0 ? a : regs[code[pc + S_REG]];
          if (!(n >= 0) || n !== Math.floor(n) || n > end - pos + 1 || sp >= loops.length - 1) {
            this.pos = pos;
            return ST_TOO_LONG;
          }
          if (n === 0) {
            pc = code[pc + S_AUX];
            continue;
          }
          loops[sp++] = n;
          loops[sp++] = pc + W;
          break;
        }
        case OP_LOOP_END: {
          const left = loops[sp - 2] - 1;
          if (left > 0) {
            loops[sp - 2] = left;
            pc = loops[sp - 1];
            continue;
          }
          sp -= 2;
          break;
        }
        case OP_SKIP: {
          const m = code[pc + S_ALIGN] - 1;
          pos = ((pos + m) & ~m) + code[pc + S_A];
          if (pos > end) {
            this.pos = pos - code[pc + S_A];
            return ST_OVERFLOW;
          }
          break;
        }
        case OP_CONST:
          emit(odv, code[pc + S_DST], code[pc + S_DSTSIZE], code[pc + S_A], code[pc + S_AUX]);
          break;
        default:
          this.pos = pos;
          return ST_OVERFLOW;
      }
      pc += W;
    }
  }

  /**
   * Decodes an LTTng compact or large event header (see `HeaderShape`) at `pos` and returns the event id (or minus an
   * error status); the timestamp updates the clock exactly as the generic program would (27/32-bit: one wrap at most;
   * 64-bit: set).
   */
  private lttngHeader(h: HeaderShape): number {
    const dv = this.dv;
    const base = this.base;
    const end = this.end;
    let pos = this.pos;
    let id: number;
    if (h.kind === HEADER_COMPACT) {
      if (pos + 32 > end) return -ST_OVERFLOW;
      const w = dv.getUint32(base + (pos >>> 3), true);
      id = w & 31;
      if (id !== 31) {
        const v = w >>> 5;
        let clo = this.clockLo;
        if (v < (clo & 0x7ffffff)) {
          clo += 0x8000000;
          if (clo >= TWO32) {
            clo -= TWO32;
            this.clockHi++;
          }
        }
        this.clockLo = clo - (clo & 0x7ffffff) + v;
        this.pos = pos + 32;
        return id;
      }
      pos += 5;
    } else {
      const le = !h.be;
      let m = h.idAlign - 1;
      pos = (pos + m) & ~m;
      if (pos + 16 > end) return -ST_OVERFLOW;
      id = dv.getUint16(base + (pos >>> 3), le);
      pos += 16;
      if (id !== 65535) {
        m = h.tsAlign - 1;
        pos = (pos + m) & ~m;
        if (pos + 32 > end) return -ST_OVERFLOW;
        const v = dv.getUint32(base + (pos >>> 3), le);
        if (v < this.clockLo) this.clockHi++;
        this.clockLo = v;
        this.pos = pos + 32;
        return id;
      }
    }
    const le = !h.be;
    let m = h.extAlign - 1;
    pos = (pos + m) & ~m;
    m = h.extIdAlign - 1;
    pos = (pos + m) & ~m;
    if (pos + 32 > end) return -ST_OVERFLOW;
    id = dv.getUint32(base + (pos >>> 3), le);
    pos += 32;
    m = h.extTsAlign - 1;
    pos = (pos + m) & ~m;
    if (pos + 64 > end) return -ST_OVERFLOW;
    const p = base + (pos >>> 3);
    this.clockLo = dv.getUint32(le ? p : p + 4, le);
    this.clockHi = dv.getUint32(le ? p + 4 : p, le);
    if (this.onClock64 !== undefined) this.onClock64(p);
    this.pos = pos + 64;
    return id;
  }

  /** CTF §8: an N-bit clock value replaces the low N bits of the clock, adding 2^N once when it wrapped. */
  private clock_(flags: number, size: number, lo: number, hi: number): void {
    lo = lo >>> 0;
    hi = hi >>> 0;
    if (flags & F_CLOCK_SET || size === 64) {
      this.clockHi = hi;
      this.clockLo = lo;
      return;
    }
    if (size <= 32) {
      const P = POW2[size];
      let clo = this.clockLo;
      const cur = clo % P;
      if (lo < cur) {
        clo += P;
        if (clo >= TWO32) {
          clo -= TWO32;
          this.clockHi++;
        }
      }
      this.clockLo = clo - (clo % P) + lo;
      return;
    }
    const P = POW2[size - 32];
    let chi = this.clockHi;
    const cur = chi % P;
    if (hi < cur || (hi === cur && lo < this.clockLo)) chi += P;
    this.clockHi = chi - (chi % P) + hi;
    this.clockLo = lo;
  }

  /** Reads `size` (1..64) bits at bit `pos` of the packet into tlo/thi (unsigned parts). CTF §4.1.5 bit fields. */
  private readBits(pos: number, size: number, be: boolean): void {
    if (size <= 32) {
      this.tlo = this.bits32(pos, size, be);
      this.thi = 0;
    } else if (!be) {
      this.tlo = this.bits32(pos, 32, false);
      this.thi = this.bits32(pos + 32, size - 32, false);
    } else {
      this.thi = this.bits32(pos, size - 32, true);
      this.tlo = this.bits32(pos + size - 32, 32, true);
    }
  }

  private bits32(pos: number, n: number, be: boolean): number {
    const buf = this.buf;
    const p = this.base + (pos >>> 3);
    const sh = pos & 7;
    const nb = (sh + n + 7) >>> 3;
    let v = 0;
    if (!be) {
      let mul = 1;
      for (let k = 0; k < nb; k++) {
        v += buf[p + k] * mul;
        mul *= 256;
      }
      v = Math.floor(v / POW2[sh]);
    } else {
      for (let k = 0; k < nb; k++) v = v * 256 + buf[p + k];
      v = Math.floor(v / POW2[nb * 8 - sh - n]);
    }
    return v % POW2[n];
  }

  private intElements(
    p: number,
    n: number,
    size: number,
    flags: number,
    odv: DataView,
    dst: number,
    esize: number,
  ): void {
    const dv = this.dv;
    const le = (flags & F_BE) === 0;
    const signed = (flags & F_SIGNED) !== 0;
    const step = size >>> 3;
    for (let k = 0; k < n; k++) {
      const q = p + k * step;
      let lo: number;
      let hi: number;
      if (size === 64) {
        lo = dv.getUint32(le ? q : q + 4, le);
        hi = dv.getUint32(le ? q + 4 : q, le);
      } else if (size === 32) {
        lo = signed ? dv.getInt32(q, le) : dv.getUint32(q, le);
        hi = lo < 0 ? -1 : 0;
      } else if (size === 16) {
        lo = signed ? dv.getInt16(q, le) : dv.getUint16(q, le);
        hi = lo < 0 ? -1 : 0;
      } else {
        lo = signed ? dv.getInt8(q) : dv.getUint8(q);
        hi = lo < 0 ? -1 : 0;
      }
      emit(odv, dst + k * esize, esize, lo, hi);
    }
  }
}

/** Writes a 64-bit two's complement value (hi:lo) as `size` little-endian bytes. */
function emit(odv: DataView, dst: number, size: number, lo: number, hi: number): void {
  if (size === 8) {
    odv.setInt32(dst, lo | 0, true);
    odv.setInt32(dst + 4, hi | 0, true);
  } else if (size === 4) odv.setInt32(dst, lo | 0, true);
  else if (size === 2) odv.setInt16(dst, lo | 0, true);
  else if (size === 1) odv.setInt8(dst, lo | 0);
}

/** An unsigned 64-bit little-endian value of the scratch as a number (exact below 2^53). */
function readU64(dv: DataView, off: number): number {
  return dv.getUint32(off + 4, true) * TWO32 + dv.getUint32(off, true);
}
