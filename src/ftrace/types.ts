/**
 * The shapes every trace source produces and every analysis reads (DESIGN §3).
 *
 * One model for all sources: events are described by ftrace `format` files (parsed into `EventFormat`), and each
 * record is a payload laid out as that format says (common fields first). The live kernel and trace.dat files give
 * the kernel's own formats and payloads; the CTF source synthesizes ftrace-like formats and payloads for LTTng events,
 * so analyses never care where a record came from.
 */

/** How a field is laid out in the payload. */
export type FieldKind =
  /** Scalar integer (or pointer) of `size` bytes. */
  | 'int'
  /** Fixed array `TYPE name[N]`: `count` elements of `elementSize` bytes (strings when `isString`). */
  | 'array'
  /** `__data_loc TYPE[] name`: u32 at `offset`, low 16 bits = offset from payload start, high 16 = length. */
  | 'dynamic'
  /** `__rel_loc TYPE[] name`: like `dynamic`, but the offset is relative to the end of this field. */
  | 'rel'
  /** Flexible array `TYPE name[]` of size 0: runs to the end of the record. */
  | 'flex';

export interface FieldFormat {
  name: string;
  /** The C type as declared, without the name and array brackets (`unsigned long`, `char`, `__data_loc char[]`). */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  kind: FieldKind;
  /** Element size for arrays (`size / count`; for `flex`/`dynamic`, the element type's size). Scalars: `size`. */
  elementSize: number;
  /** Element count for fixed arrays; 0 for others. */
  count: number;
  /** A char array or `__data_loc char[]`: decoded as a NUL-terminated string. */
  isString: boolean;
  /** One of the `common_*` fields. */
  common: boolean;
}

export interface EventFormat {
  system: string;
  name: string;
  /** `common_type` value of this event in its trace (per boot and per kernel: never hard-code). */
  id: number;
  /** All fields, common ones first, in file order. */
  fields: FieldFormat[];
  /** Field by name. */
  byName: Map<string, FieldFormat>;
  /** The `print fmt:` line, unevaluated. */
  printFmt: string;
}

/** Layout of a ring-buffer sub-buffer header, from `events/header_page` (DESIGN §3). */
export interface PageLayout {
  /** Sub-buffer size in bytes (4096 by default; larger with `buffer_subbuf_size_kb`). */
  pageSize: number;
  /** Offset of the 64-bit page timestamp (0). */
  timestampOffset: number;
  /** Offset and size of `commit` (size = kernel long: 8 on 64-bit, 4 on 32-bit kernels). */
  commitOffset: number;
  commitSize: number;
  /** Offset where records start (16 on 64-bit kernels, 12 on 32-bit). */
  dataOffset: number;
  littleEndian: boolean;
}

/**
 * One decoded record, as delivered to sinks. The object is reused: it is valid only during the callback, and
 * `bytes`/`view` point into a buffer the source will reuse. Copy what you keep.
 */
export interface TraceRecord {
  cpu: number;
  /** Nanoseconds since the source's origin (`TraceSource.originNs`); a plain number, exact for 104 days. */
  ts: number;
  /** `common_type`: look the format up with `EventSchema.byId`. */
  id: number;
  /** `common_pid`: the thread (tid) that was running when the event fired. */
  pid: number;
  bytes: Uint8Array;
  view: DataView;
  /** Payload start in `bytes`/`view` (where `common_type` is). */
  off: number;
  /** Payload length in bytes (the record's length: may exceed the format's fixed part). */
  len: number;
}

/** Resolves kernel addresses to `symbol+0xoff` (from kallsyms). */
export interface Symbolizer {
  /** `symbol+0xoff`, or the address in hex when unknown. */
  format(hi: number, lo: number): string;
}

export interface RecordSink {
  /** One record, in timestamp order across CPUs (ties: lower CPU first). `r` is reused after the call returns. */
  record(r: TraceRecord): void;
  /**
   * Events were lost on `cpu` before time `ts` (page flag, ring-buffer overrun). `count` is -1 when the kernel did
   * not say how many.
   */
  lost?(cpu: number, count: number, ts: number): void;
  /**
   * Time has advanced to `ts` (source time) with no record pending before it: live sources call this after every
   * read cycle so that timeouts fire even when nothing happens.
   */
  tick?(ts: number): void;
  /**
   * A live read cycle starts at source time `ts`: every record delivered until the next `cycle` call is earlier
   * than `ts` (the reads that follow find only events committed before them). Off the record path: the engine
   * samples cgroup counters here.
   */
  cycle?(ts: number): void;
}
