/**
 * An LTTng CTF trace directory as a `TraceSource`: reads the metadata, compiles the decoders, reads every per-CPU
 * stream file in bounded chunks through its own file handle, merges the streams in timestamp order (ties: lower CPU,
 * then lower stream index) and delivers synthetic ftrace-like records (see mapping.ts) to a sink.
 *
 * Memory: one buffer per stream of max(chunk size, largest packet) bytes, and the merge heap. Nothing grows with the
 * length of the trace except the bounded comm table.
 */
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EventSchema } from '../../ftrace/schema.ts';
import type { TraceRecord } from '../../ftrace/types.ts';
import type { RecordSink, SourceStats, Symbolizer, TraceSource } from '../types.ts';
import {
  type CompiledEvent,
  type CompiledTrace,
  compileTrace,
  FormatRegistry,
  SP_EXEC,
  SP_EXIT_SYSCALL,
  SP_FORK,
  SP_STATEDUMP,
  SP_SWITCH,
  SP_SYS_ENTER_OLD,
} from './compile.ts';
import { FETCH_END, FETCH_NEED_IO, FETCH_OK, StreamDecoder } from './decoder.ts';
import { CtfError, CtfMetadataError, CtfStreamError } from './errors.ts';
import { declaredSyscalls, dialectOf, longBitsOf, planner } from './mapping.ts';
import { parseMetadata } from './metadata.ts';
import { R_PROCNAME, R_TID } from './ops.ts';
import { inferArch, SyscallTable } from './syscalls.ts';
import type { CtfTrace } from './types.ts';

export interface CtfOpenOptions {
  /** Bytes read per stream at a time (default 256 KiB; a packet larger than this is read whole). */
  chunkSize?: number;
  /** Throw `CtfStreamError` at the first damaged packet instead of skipping it and counting the loss. */
  strict?: boolean;
  /** The traced machine's architecture, when the metadata does not tell it (see `inferArch`). */
  arch?: string;
  /** How far into each stream to look for its first `sched_switch` (initial tid per CPU); default 64 MiB. */
  prescanBytes?: number;
  /** Run every decoding program in the interpreter: no dedicated LTTng header decoder, no generated code (tests). */
  interpretOnly?: boolean;
}

/** Most distinct tids remembered by `comm()`; more are counted in `commTableFull`. */
const COMM_CAP = 65536;
/** Warnings kept (the counts in `SourceStats.errors` are complete). */
const MAX_WARNINGS = 100;
const TID_SLOTS = 65536;

interface StreamFile {
  path: string;
  name: string;
  fh: FileHandle;
  size: number;
  /** The buffer the decoder reads. */
  buf: Uint8Array;
  /** The other buffer: target of the read-ahead, then swapped in. */
  spare: Uint8Array;
  /** Read-ahead of the bytes after `buf`, started as soon as `buf` is filled. */
  ahead: { start: number; done: Promise<number> } | undefined;
  /** Largest read the decoder asked for (a packet). */
  maxPacket: number;
  dec: StreamDecoder;
  /** Has a decoded event waiting to be delivered. */
  live: boolean;
}

/** Finds the directory holding `metadata`: the path itself, or its `kernel/` subdirectory (an LTTng session). */
async function traceDir(path: string): Promise<string> {
  let denied: NodeJS.ErrnoException | undefined;
  for (const d of [path, join(path, 'kernel')]) {
    try {
      const s = await stat(join(d, 'metadata'));
      if (s.isFile()) return d;
    } catch (e) {
      // try the next candidate; a directory we may not search says so rather than "no trace"
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') denied ??= e as NodeJS.ErrnoException;
    }
  }
  if (denied !== undefined) throw denied;
  throw new CtfError(path, -1, 'no CTF trace here (looked for metadata and kernel/metadata)');
}

async function readWhole(path: string, max: number): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size > max) throw new CtfMetadataError(path, -1, `metadata file too large (${size} bytes)`);
    const buf = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(buf, got, size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

async function readAt(fh: FileHandle, buf: Uint8Array, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** Opens an LTTng CTF trace directory. Throws `CtfError`/`CtfMetadataError` (one line: file, offset, what). */
export async function openCtfTrace(path: string, options: CtfOpenOptions = {}): Promise<CtfSource> {
  const dir = await traceDir(path);
  const metaPath = join(dir, 'metadata');
  const trace = parseMetadata(await readWhole(metaPath, 256 * 1024 * 1024), metaPath);
  const src = new CtfSource(dir, trace, metaPath, options);
  try {
    await src.init();
  } catch (e) {
    await src.close();
    throw e;
  }
  return src;
}

export class CtfSource implements TraceSource {
  readonly kind = 'ctf' as const;
  readonly schema: EventSchema;
  cpus = 0;
  originNs = 0n;

  /**
   * LTTng clocks carry the epoch in their offset (`offset_s`, or `offset` in cycles): their absolute times are Unix
   * times. A clock whose times fall before 2000 counts from boot instead: no wall-clock reference.
   */
  get unixOffsetNs(): bigint | undefined {
    return this.originNs >= 946_684_800_000_000_000n ? 0n : undefined;
  }
  readonly clock: string;
  readonly arch: string | undefined;
  readonly symbols: Symbolizer | undefined = undefined;
  /** `sched_switch` `prev_state`: blocked = `prev_state & prevStateMask` (mapping.ts `prevStateScheme`). */
  readonly prevStateMask: number;
  readonly prevStatePreempted: number;
  /** One line per problem met in the streams (file, offset, what), the first 100. */
  readonly warnings: string[] = [];
  /** Records delivered with `common_pid` -1: no `_tid` context and no `sched_switch` seen yet on that CPU. */
  unknownTid = 0;
  /** Tids not remembered because the comm table was full. */
  commTableFull = 0;
  /** The stream files, in stream index order. */
  readonly streamPaths: string[] = [];
  readonly compiled: CompiledTrace;

  private readonly syscalls: SyscallTable;
  private readonly files: StreamFile[] = [];
  private readonly stats: SourceStats = { records: 0, lostPerCpu: [], lossReports: 0, errors: {} };
  private readonly comms = new Map<number, string>();
  private current: CompiledEvent | undefined;
  private curTid = new Int32Array(0);
  private readonly pendTid = new Int32Array(TID_SLOTS).fill(-1);
  private readonly pendId = new Int32Array(TID_SLOTS);
  private stopped = false;
  private readonly hasTid: boolean;
  private readonly hasProcname: boolean;
  private ran = false;
  private readonly chunk: number;
  private readonly utf8 = new TextDecoder('utf-8');
  private readonly record: TraceRecord;
  /** Offsets of the fields the source itself reads, from the synthetic formats (mapping.ts layouts). */
  private readonly at = {
    prevPid: 0,
    prevComm: 0,
    nextPid: 0,
    nextComm: 0,
    childPid: 0,
    childComm: 0,
    execPid: 0,
    sysId: 8,
    statedumpTid: -1,
    statedumpName: -1,
  };

  constructor(
    readonly dir: string,
    readonly trace: CtfTrace,
    readonly metadataPath: string,
    private readonly options: CtfOpenOptions,
  ) {
    this.chunk = Math.max(4096, options.chunkSize ?? 256 * 1024);
    const d = dialectOf(trace);
    this.prevStateMask = d.prevState.mask;
    this.prevStatePreempted = d.prevState.preempted;
    this.arch = options.arch ?? inferArch(trace.env, declaredSyscalls(trace, d), longBitsOf(trace));
    this.syscalls = new SyscallTable(this.arch === 'x86_64');
    const registry = new FormatRegistry();
    this.compiled = compileTrace(
      trace,
      metadataPath,
      planner(d, this.syscalls),
      registry,
      options.interpretOnly === true,
    );
    this.schema = new EventSchema(registry.formats, 8, true);
    this.hasTid = this.compiled.hasTidContext;
    this.hasProcname = this.compiled.hasProcnameContext;
    this.clock = this.compiled.clock?.name ?? 'cycles';
    const off = (sys: string, name: string, field: string) =>
      registry.formats.find((f) => f.system === sys && f.name === name)?.byName.get(field)?.offset ?? -1;
    const at = this.at;
    at.prevPid = off('sched', 'sched_switch', 'prev_pid');
    at.prevComm = off('sched', 'sched_switch', 'prev_comm');
    at.nextPid = off('sched', 'sched_switch', 'next_pid');
    at.nextComm = off('sched', 'sched_switch', 'next_comm');
    at.childPid = off('sched', 'sched_process_fork', 'child_pid');
    at.childComm = off('sched', 'sched_process_fork', 'child_comm');
    at.execPid = off('sched', 'sched_process_exec', 'pid');
    at.sysId = Math.max(off('raw_syscalls', 'sys_enter', 'id'), off('raw_syscalls', 'sys_exit', 'id'), 8);
    const sd = registry.formats.find((f) => f.system === 'lttng' && f.name === 'lttng_statedump_process_state');
    at.statedumpTid = sd?.byName.get('tid')?.offset ?? -1;
    const nameField = sd?.byName.get('name');
    at.statedumpName = nameField?.kind === 'array' ? nameField.offset : -1;
    this.record = {
      cpu: 0,
      ts: 0,
      id: 0,
      pid: 0,
      bytes: new Uint8Array(0),
      view: new DataView(new ArrayBuffer(0)),
      off: 0,
      len: 0,
    };
  }

  /** The LTTng name of the event being delivered (valid during `RecordSink.record`). */
  get eventName(): string {
    return this.current?.name ?? '';
  }

  comm(tid: number): string | undefined {
    return this.comms.get(tid);
  }

  syscallName(id: number): string | undefined {
    return this.syscalls.name(id);
  }

  /** Opens the stream files, decodes the first event of each, fixes the origin, finds each CPU's first task. */
  async init(): Promise<void> {
    const names = (await readdir(this.dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && e.name !== 'metadata' && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    const magic = new Uint8Array(4);
    for (const name of names) {
      const path = join(this.dir, name);
      const fh = await open(path, 'r');
      const { size } = await fh.stat();
      const got = size >= 4 ? await readAt(fh, magic, 4, 0) : 0;
      const dv = new DataView(magic.buffer);
      const isStream =
        got === 4 && (this.compiled.magicOff < 0 || dv.getUint32(0, this.trace.byteOrder === 'le') === 0xc1fc1fc1);
      if (!isStream) {
        await fh.close();
        continue;
      }
      const index = this.files.length;
      const dec = new StreamDecoder(this.compiled, path, size, index, (st, off, detail, lost) =>
        this.fault(path, st, off, detail, lost),
      );
      this.files.push({
        path,
        name,
        fh,
        size,
        buf: new Uint8Array(0),
        spare: new Uint8Array(0),
        ahead: undefined,
        maxPacket: 0,
        dec,
        live: false,
      });
      this.streamPaths.push(path);
    }
    if (this.files.length === 0)
      throw new CtfError(this.dir, -1, 'no stream files (none starts with the packet magic)');

    // First event of every stream, with the origin at clock 0; then the origin moves to the earliest one.
    let minHi = Number.POSITIVE_INFINITY;
    let minLo = Number.POSITIVE_INFINITY;
    let live = 0;
    for (const f of this.files) {
      if ((await this.advance(f)) === FETCH_OK) {
        f.live = true;
        live++;
        const d = f.dec;
        if (d.clockHi < minHi || (d.clockHi === minHi && d.clockLo < minLo)) {
          minHi = d.clockHi;
          minLo = d.clockLo;
        }
      }
    }
    if (live === 0) {
      minHi = 0;
      minLo = 0;
    }
    this.compiled.originHi = minHi;
    this.compiled.originLo = minLo;
    let maxCpu = 0;
    for (const f of this.files) {
      f.dec.rebase();
      maxCpu = Math.max(maxCpu, f.dec.cpu);
    }
    this.cpus = maxCpu + 1;
    this.stats.lostPerCpu = new Array(this.cpus).fill(0);
    this.curTid = new Int32Array(this.cpus).fill(-1);
    const c = this.compiled.clock;
    const origin = BigInt(minHi) * 4294967296n + BigInt(minLo);
    if (c === undefined) this.originNs = origin;
    else {
      this.originNs = c.offsetSeconds * 1_000_000_000n + ((c.offset + origin) * 1_000_000_000n) / c.freq;
    }
    if (!this.compiled.hasTidContext) await this.prescan();
  }

  /**
   * Without a `_tid` context, the task running on a CPU before its first `sched_switch` is that switch's `prev_tid`
   * (nothing else ran there in between). Each stream is read ahead, up to `prescanBytes`, to find it.
   */
  private async prescan(): Promise<void> {
    let hasSwitch = false;
    for (const s of this.compiled.streams)
      for (const e of s?.events ?? []) if (e?.special === SP_SWITCH) hasSwitch = true;
    if (!hasSwitch) return;
    const limit = this.options.prescanBytes ?? 64 * 1024 * 1024;
    const firstTs = new Float64Array(this.cpus).fill(Number.POSITIVE_INFINITY);
    const quiet = () => {};
    for (const f of this.files) {
      const dec = new StreamDecoder(this.compiled, f.path, f.size, f.dec.cpu, quiet);
      let buf = new Uint8Array(0);
      for (;;) {
        let st = dec.fetch();
        while (st === FETCH_NEED_IO && dec.needOffset < limit) {
          const main = f.dec;
          if (dec.needOffset >= main.bufStart && dec.needOffset + dec.needLength <= main.bufStart + main.bufLen) {
            // already read by the stream's own decoder (which does not move until run()): no I/O
            dec.setBuffer(f.buf, main.bufStart, main.bufLen);
          } else {
            const len = Math.max(dec.needLength, this.chunk);
            if (buf.length < len) buf = new Uint8Array(len);
            const got = await readAt(f.fh, buf, Math.min(len, f.size - dec.needOffset), dec.needOffset);
            dec.setBuffer(buf, dec.needOffset, got);
            if (got < dec.needLength) break;
          }
          st = dec.fetch();
        }
        if (st !== FETCH_OK) break;
        if (dec.event?.special === SP_SWITCH) {
          const cpu = dec.cpu;
          if (cpu < this.cpus && dec.ts < firstTs[cpu]) {
            firstTs[cpu] = dec.ts;
            this.curTid[cpu] = dec.odv.getInt32(this.at.prevPid, true);
          }
          break;
        }
      }
    }
  }

  private fault(file: string, status: string, offset: number, detail: string, bytesLost: number): void {
    const e = this.stats.errors;
    e[status] = (e[status] ?? 0) + 1;
    if (bytesLost > 0) e.ctf_bytes_skipped = (e.ctf_bytes_skipped ?? 0) + bytesLost;
    const err = new CtfStreamError(file, offset, detail);
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(err.message);
    if (this.options.strict) throw err;
  }

  /**
   * Decodes the next event of `f`, reading the file as needed. Reads are double-buffered: once a buffer is filled,
   * the following bytes are read into the other one while this one is decoded, so decoding rarely waits for the disk.
   * A packet that straddles the two is joined in the spare buffer (one copy of its head).
   */
  private async advance(f: StreamFile): Promise<number> {
    const d = f.dec;
    let st = d.fetch();
    let stalls = 0;
    while (st === FETCH_NEED_IO) {
      const off = d.needOffset;
      const need = d.needLength;
      let filled = false;
      const ahead = f.ahead;
      f.ahead = undefined;
      if (ahead !== undefined) {
        const got = await ahead.done;
        const end = ahead.start + got;
        if (off >= ahead.start && off + need <= end) {
          const b = f.buf;
          f.buf = f.spare;
          f.spare = b;
          d.setBuffer(f.buf, ahead.start, got);
          filled = true;
        } else if (
          off < ahead.start &&
          off >= d.bufStart &&
          ahead.start === d.bufStart + d.bufLen &&
          off + need <= end &&
          ahead.start - off + got <= f.spare.length
        ) {
          const head = ahead.start - off;
          f.spare.copyWithin(head, 0, got);
          f.spare.set(f.buf.subarray(off - d.bufStart, d.bufLen), 0);
          const b = f.buf;
          f.buf = f.spare;
          f.spare = b;
          d.setBuffer(f.buf, off, head + got);
          filled = true;
        }
      }
      if (need > f.maxPacket) f.maxPacket = need;
      if (!filled) {
        const len = Math.min(Math.max(need, this.chunk), f.size - off);
        if (f.buf.length < len) f.buf = new Uint8Array(len + Math.max(this.chunk, f.maxPacket));
        const got = await readAt(f.fh, f.buf, len, off);
        if (got < need) d.fileSize = off + got; // the file shrank: what is there is all there is
        d.setBuffer(f.buf, off, got);
      }
      this.readAhead(f);
      st = d.fetch();
      if (++stalls > 64) {
        this.fault(f.path, 'ctf_io_stall', off, 'reader made no progress', 0);
        return FETCH_END;
      }
    }
    return st;
  }

  private readAhead(f: StreamFile): void {
    const d = f.dec;
    const start = d.bufStart + d.bufLen;
    if (start >= d.fileSize) return;
    const len = Math.min(this.chunk, d.fileSize - start);
    // room to join a straddling packet's head (at most one packet) in front of it
    const cap = len + Math.max(this.chunk, f.maxPacket);
    if (f.spare.length < cap) f.spare = new Uint8Array(cap);
    f.ahead = { start, done: readAt(f.fh, f.spare, len, start) };
  }

  stop(): void {
    this.stopped = true;
  }

  /** Closes the stream files (`run` does it when it ends). */
  async close(): Promise<void> {
    const fs = this.files.splice(0);
    await Promise.all(fs.map((f) => f.ahead?.done.catch(() => 0)));
    await Promise.all(fs.map((f) => f.fh.close().catch(() => {})));
  }

  /** Delivers every record in timestamp order. A source runs once. */
  async run(sink: RecordSink): Promise<SourceStats> {
    if (this.ran) throw new CtfError(this.dir, -1, 'this CTF source was already run');
    this.ran = true;
    const files = this.files;
    const decs = files.map((f) => f.dec);
    // Min-heap of live streams by (ts, cpu, index), keys in typed arrays.
    const keyTs = new Float64Array(files.length);
    const keyCpu = new Int32Array(files.length);
    const heap = new Int32Array(files.length);
    let size = 0;
    for (let k = 0; k < files.length; k++) {
      if (!files[k].live) continue;
      heap[size++] = k;
      keyTs[k] = decs[k].ts;
      keyCpu[k] = decs[k].cpu;
    }
    const less = (a: number, b: number) =>
      keyTs[a] < keyTs[b] || (keyTs[a] === keyTs[b] && (keyCpu[a] < keyCpu[b] || (keyCpu[a] === keyCpu[b] && a < b)));
    const down = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) return;
        const r = l + 1;
        const m = r < size && less(heap[r], heap[l]) ? r : l;
        if (!less(heap[m], heap[i])) return;
        const t = heap[m];
        heap[m] = heap[i];
        heap[i] = t;
        i = m;
      }
    };
    for (let i = (size >> 1) - 1; i >= 0; i--) down(i);
    try {
      while (size > 0 && !this.stopped) {
        const k = heap[0];
        const d = decs[k];
        // The best of the other streams: the top stream keeps delivering while it is still ahead of it.
        const lim = size < 2 ? -1 : size > 2 && less(heap[2], heap[1]) ? heap[2] : heap[1];
        const limTs = lim < 0 ? Number.POSITIVE_INFINITY : keyTs[lim];
        const limCpu = lim < 0 ? 0 : keyCpu[lim];
        for (;;) {
          this.deliver(d, sink);
          let st = d.fetch();
          if (st === FETCH_NEED_IO) st = await this.advance(files[k]);
          if (st !== FETCH_OK) {
            heap[0] = heap[--size];
            down(0);
            break;
          }
          const ts = d.ts;
          if (!this.stopped && (ts < limTs || (ts === limTs && (d.cpu < limCpu || (d.cpu === limCpu && k < lim))))) {
            continue;
          }
          keyTs[k] = ts;
          keyCpu[k] = d.cpu;
          down(0);
          break;
        }
      }
    } finally {
      let truncated = 0;
      for (const f of files) truncated += f.dec.truncated + f.dec.gen.truncated;
      if (truncated > 0) this.stats.errors.ctf_payload_truncated = truncated;
      await this.close();
    }
    return this.stats;
  }

  private decodeText(bytes: Uint8Array, start: number, max: number): string {
    let e = start;
    const lim = start + max;
    let ascii = true;
    while (e < lim && bytes[e] !== 0) {
      if (bytes[e] > 127) ascii = false;
      e++;
    }
    // short ASCII names (comms) are far cheaper this way than through TextDecoder
    if (ascii && e - start <= 32)
      return String.fromCharCode.apply(null, bytes.subarray(start, e) as unknown as number[]);
    return this.utf8.decode(bytes.subarray(start, e));
  }

  private setComm(tid: number, bytes: Uint8Array, start: number, max: number): void {
    if (!this.comms.has(tid) && this.comms.size >= COMM_CAP) {
      this.commTableFull++;
      return;
    }
    this.comms.set(tid, this.decodeText(bytes, start, max));
  }

  private deliver(d: StreamDecoder, sink: RecordSink): void {
    const ev = d.event!;
    const cpu = d.cpu;
    const odv = d.odv;
    const out = d.out;
    if (d.pendingLost > 0) {
      const n = d.pendingLost;
      d.pendingLost = 0;
      if (cpu < this.stats.lostPerCpu.length) this.stats.lostPerCpu[cpu] += n;
      this.stats.lossReports++;
      sink.lost?.(cpu, n, d.ts);
    }
    const inRange = cpu < this.curTid.length;
    let tid: number;
    if (this.hasTid) tid = d.regs[R_TID];
    else tid = inRange ? this.curTid[cpu] : -1;
    const at = this.at;
    switch (ev.special) {
      case 0:
        break;
      case SP_SWITCH: {
        const prev = odv.getInt32(at.prevPid, true);
        const next = odv.getInt32(at.nextPid, true);
        if (!this.hasTid) tid = prev;
        if (inRange) this.curTid[cpu] = next;
        if (!this.comms.has(next)) this.setComm(next, out, at.nextComm, 16);
        if (!this.comms.has(prev)) this.setComm(prev, out, at.prevComm, 16);
        break;
      }
      case SP_SYS_ENTER_OLD: {
        const slot = tid & (TID_SLOTS - 1);
        this.pendTid[slot] = tid;
        this.pendId[slot] = odv.getInt32(at.sysId, true);
        break;
      }
      case SP_EXIT_SYSCALL: {
        const slot = tid & (TID_SLOTS - 1);
        let id = -1;
        if (tid >= 0 && this.pendTid[slot] === tid) {
          id = this.pendId[slot];
          this.pendTid[slot] = -1;
        }
        odv.setInt32(at.sysId, id, true);
        odv.setInt32(at.sysId + 4, id < 0 ? -1 : 0, true);
        break;
      }
      case SP_STATEDUMP:
        if (at.statedumpTid >= 0 && at.statedumpName >= 0) {
          const t = odv.getInt32(at.statedumpTid, true);
          this.comms.delete(t);
          this.setComm(t, out, at.statedumpName, 16);
        }
        break;
      case SP_FORK: {
        const child = odv.getInt32(at.childPid, true);
        this.comms.delete(child);
        this.setComm(child, out, at.childComm, 16);
        break;
      }
      case SP_EXEC:
        // The comm changes at exec; the next sched_switch of the task gives the new one.
        this.comms.delete(odv.getInt32(at.execPid, true));
        break;
    }
    if (this.hasProcname && tid >= 0 && !this.comms.has(tid)) {
      this.setComm(tid, d.buf, d.regs[R_PROCNAME], d.regs[R_PROCNAME + 1]);
    }
    if (tid < 0) this.unknownTid++;
    odv.setInt32(4, tid, true);
    const r = this.record;
    r.cpu = cpu;
    r.ts = d.ts;
    r.id = ev.format.id;
    r.pid = tid;
    r.bytes = out;
    r.view = odv;
    r.off = 0;
    r.len = d.len;
    this.current = ev;
    this.stats.records++;
    sink.record(r);
  }
}
