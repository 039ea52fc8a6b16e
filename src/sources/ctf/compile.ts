/**
 * Compiles the CTF type tree of a trace (`CtfTrace`) into straight-line decoding programs (`ops.ts`), once, at open:
 * one for the packet header, one per stream class for the packet context and for the event header, and one per event
 * class for its contexts and payload. Each program also lays the decoded values out as a synthetic ftrace-like record
 * (common header + fields, little-endian, `__data_loc` strings), either in the layout of a mapped kernel format
 * (`mapping.ts`) or in a generic layout derived from the CTF fields (`lttng:<event>` formats).
 *
 * Field references (sequence lengths, variant tags) are resolved here to registers (CTF §7.3.2 lookup order: the
 * enclosing structures first, then the dynamic scopes, or an absolute `stream.packet.context.x` path).
 */
import type { EventFormat, FieldFormat, FieldKind } from '../../ftrace/types.ts';
import type { GeneratedDecoder } from './codegen.ts';
import { CtfMetadataError } from './errors.ts';
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
  R_FIRST_FREE,
  R_ID,
  R_PROCNAME,
  R_TID,
  S_AUX,
  S_REG,
  W,
} from './ops.ts';
import {
  type ArrayType,
  alignOf,
  type CtfClock,
  type CtfEventClass,
  type CtfTrace,
  type CtfType,
  type EnumType,
  type IntType,
  type StructType,
} from './types.ts';

/** What the source does with an event besides delivering it (see source.ts). */
export const SP_NONE = 0;
export const SP_SWITCH = 1;
export const SP_SYS_ENTER_OLD = 2;
export const SP_EXIT_SYSCALL = 3;
export const SP_STATEDUMP = 4;
export const SP_FORK = 5;
export const SP_EXEC = 6;

export interface CompiledEvent {
  /** The LTTng event name (`syscall_entry_read`). */
  name: string;
  ctfId: number;
  streamId: number;
  code: Int32Array;
  /**
   * Generated straight-line decoder for `code` (codegen.ts), made by the decoder when the event first occurs (most
   * declared events never do); null when the program needs the interpreter or generation is off.
   */
  fast: GeneratedDecoder | null | undefined;
  /** The synthetic format its records are laid out in (shared by every LTTng event mapped onto it). */
  format: EventFormat;
  special: number;
}

export interface CompiledStream {
  id: number;
  packetContext: Int32Array;
  header: Int32Array;
  /** Alignment (bits) of the event header: where the next event would start. */
  headerAlign: number;
  /** The standard LTTng header layouts get a dedicated decoder (same result as `header`, fewer steps). */
  headerShape: HeaderShape | undefined;
  /** Event classes by CTF id. */
  events: (CompiledEvent | undefined)[];
  /** Offsets in the packet scratch (8-byte slots), -1 when the field is absent. */
  packetSizeOff: number;
  contentSizeOff: number;
  cpuIdOff: number;
  discardedOff: number;
  discardedBits: number;
}

export interface CompiledTrace {
  packetHeader: Int32Array;
  magicOff: number;
  uuidOff: number;
  streamIdOff: number;
  defaultStreamId: number;
  uuid: Uint8Array | undefined;
  streams: (CompiledStream | undefined)[];
  /** Variant option tables: (lo, hi, target pc) triples. */
  variantTables: Float64Array[];
  nRegs: number;
  /** The clock of the event timestamps (undefined: no clock declared, cycles are taken as ns). */
  clock: CtfClock | undefined;
  /** ns per clock cycle (1 for the usual 1 GHz LTTng clock). */
  nsPerCycle: number;
  /** Origin of `ts` as a 64-bit clock value (set by the source from the first packets). */
  originHi: number;
  originLo: number;
  /** Some stream event context (or event context) carries `_tid`. */
  hasTidContext: boolean;
  hasProcnameContext: boolean;
  /** Fields left out of synthetic formats (arrays of compound types, fields past the 32 KiB fixed part). */
}

/** A target field of a mapped format (ftrace layout), and which CTF fields feed it. */
export interface TargetField {
  name: string;
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  kind: FieldKind;
  count?: number;
  isString?: boolean;
  /** CTF field names (without the leading `_`) this field takes its value from, first present wins. */
  from?: string[];
  /** The LTTng rwbs bit mask, written as the ftrace rwbs string. */
  conv?: 'rwbs' | 'rwbs-old';
  /** Value when no CTF field feeds it. */
  value?: number;
}

export interface Target {
  system: string;
  name: string;
  fields: TargetField[];
  printFmt: string;
}

/** How each event class is delivered: decided by mapping.ts. */
export interface EventPlan {
  target: Target | undefined;
  special: number;
}

/** Assigns format ids and shares identical formats. */
export class FormatRegistry {
  readonly formats: EventFormat[] = [];
  private readonly byKey = new Map<string, EventFormat>();

  /** The format for a mapped target (one per system:name). */
  mapped(t: Target): EventFormat {
    const key = `${t.system}:${t.name}`;
    const f = this.byKey.get(key);
    if (f !== undefined) return f;
    const fields = [...commonFields()];
    for (const tf of t.fields) {
      fields.push({
        name: tf.name,
        type: tf.type,
        offset: tf.offset,
        size: tf.size,
        signed: tf.signed,
        kind: tf.kind,
        elementSize: tf.kind === 'array' ? tf.size / (tf.count ?? 1) : tf.kind === 'dynamic' ? 1 : tf.size,
        count: tf.kind === 'array' ? (tf.count ?? 0) : 0,
        isString: tf.isString ?? false,
        common: false,
      });
    }
    return this.add(key, t.system, t.name, fields, t.printFmt);
  }

  /** A generic `lttng:<name>` format; a same-named event with another layout gets `<name>#<stream>`. */
  generic(name: string, streamId: number, fields: FieldFormat[]): EventFormat {
    const sig = fields.map((f) => `${f.name}:${f.type}:${f.offset}:${f.size}:${f.kind}:${f.count}`).join(',');
    const existing = this.byKey.get(`lttng:${name}`);
    if (existing !== undefined) {
      const esig = existing.fields
        .map((f) => `${f.name}:${f.type}:${f.offset}:${f.size}:${f.kind}:${f.count}`)
        .join(',');
      if (esig === sig) return existing;
      name = `${name}#${streamId}`;
      const again = this.byKey.get(`lttng:${name}`);
      if (again !== undefined) return again;
    }
    return this.add(`lttng:${name}`, 'lttng', name, fields, genericPrintFmt(fields));
  }

  private add(key: string, system: string, name: string, fields: FieldFormat[], printFmt: string): EventFormat {
    const f: EventFormat = {
      system,
      name,
      id: this.formats.length + 1,
      fields,
      byName: new Map(fields.map((x) => [x.name, x])),
      printFmt,
    };
    this.formats.push(f);
    this.byKey.set(key, f);
    return f;
  }
}

export function commonFields(): FieldFormat[] {
  const c = (name: string, type: string, offset: number, size: number, signed: boolean): FieldFormat => ({
    name,
    type,
    offset,
    size,
    signed,
    kind: 'int',
    elementSize: size,
    count: 0,
    isString: false,
    common: true,
  });
  return [
    c('common_type', 'unsigned short', 0, 2, false),
    c('common_flags', 'unsigned char', 2, 1, false),
    c('common_preempt_count', 'unsigned char', 3, 1, false),
    c('common_pid', 'int', 4, 4, true),
  ];
}

function genericPrintFmt(fields: FieldFormat[]): string {
  const own = fields.filter((f) => !f.common);
  const fmt = own.map((f) => `${f.name}=${f.isString ? '%s' : f.signed ? '%lld' : '%llu'}`).join(' ');
  const args = own.map((f) => (f.kind === 'dynamic' ? `__get_str(${f.name})` : `REC->${f.name}`));
  return `"${fmt}"${args.length ? `, ${args.join(', ')}` : ''}`;
}

const EMPTY = new Int32Array(0);

/** Largest fixed part of a synthetic record; the rest of the 64 KiB is for strings and sequences. */
const MAX_FIXED = 32768;

/** A decoded field, for reference resolution. */
interface Node {
  type: CtfType;
  prog: number[];
  /** Index of its instruction in `prog`, -1 when it has none of its own (structs, variants). */
  op: number;
  reg: number;
  children: Map<string, Node> | undefined;
}

type Scope = 'packet.header' | 'packet.context' | 'event.header' | 'stream.event.context' | 'event.context' | 'fields';

/** Where decoded values go. */
interface Emitter {
  /** Integer-like leaf (int, enum, float): destination offset and size, or undefined. */
  int(path: string[], t: IntType, float: boolean): { dst: number; size: number; flags: number } | undefined;
  /** Fixed array of `count` 8-bit integers. */
  bytes(path: string[], count: number, text: boolean): { dst: number; size: number } | undefined;
  /** Fixed array of wider integers. */
  ints(path: string[], elem: IntType, count: number): { dst: number; esize: number } | undefined;
  string(path: string[]): { dst: number; fixed: number } | undefined;
  seq(path: string[], elem: IntType): { dst: number; esize: number } | undefined;
}

const NO_EMIT: Emitter = {
  int: () => undefined,
  bytes: () => undefined,
  ints: () => undefined,
  string: () => undefined,
  seq: () => undefined,
};

function strip(name: string): string {
  return name.startsWith('_') ? name.slice(1) : name;
}

function bytesFor(bits: number): number {
  return bits <= 8 ? 1 : bits <= 16 ? 2 : bits <= 32 ? 4 : 8;
}

/** `u32`, `s64`, `float`, `char`; `u64 hex` for an integer the metadata displays in base 16 (pointers, flags). */
function intTypeName(t: IntType, bytes: number, float: boolean): string {
  if (float) return bytes === 4 ? 'float' : 'double';
  if (t.encoding !== 'none' && t.size === 8) return 'char';
  return `${t.signed ? 's' : 'u'}${bytes * 8}${t.base === 16 ? ' hex' : ''}`;
}

/** Generic layout: every leaf at its natural alignment after the common header. */
class GenericLayout implements Emitter {
  readonly fields: FieldFormat[] = commonFields();
  size = 8;
  private readonly names = new Set<string>();

  constructor(private readonly slot8 = false) {
    if (slot8) {
      this.fields = [];
      this.size = 0;
    }
  }

  private add(
    path: string[],
    type: string,
    size: number,
    align: number,
    signed: boolean,
    kind: FieldKind,
    count: number,
    elementSize: number,
    isString: boolean,
  ): number {
    const off = Math.ceil(this.size / align) * align;
    // Beyond the fixed part's limit the field is decoded but not shown (docs/ctf.md).
    if (off + size > MAX_FIXED) return -1;
    let name = path.map(strip).join('.');
    if (this.names.has(name)) {
      let k = 2;
      while (this.names.has(`${name}_${k}`)) k++;
      name = `${name}_${k}`;
    }
    this.names.add(name);
    this.fields.push({ name, type, offset: off, size, signed, kind, elementSize, count, isString, common: false });
    this.size = off + size;
    return off;
  }

  int(path: string[], t: IntType, float: boolean) {
    const b = this.slot8 ? 8 : bytesFor(t.size);
    const dst = this.add(path, intTypeName(t, b, float), b, b, t.signed && !float, 'int', 0, b, false);
    return dst < 0 ? undefined : { dst, size: b, flags: 0 };
  }
  bytes(path: string[], count: number, text: boolean) {
    const dst = this.add(path, text ? 'char' : 'u8', count, 1, false, 'array', count, 1, text);
    return dst < 0 ? undefined : { dst, size: count };
  }
  ints(path: string[], elem: IntType, count: number) {
    const b = bytesFor(elem.size);
    const dst = this.add(path, intTypeName(elem, b, false), b * count, b, elem.signed, 'array', count, b, false);
    return dst < 0 ? undefined : { dst, esize: b };
  }
  string(path: string[]) {
    const dst = this.add(path, '__data_loc char[]', 4, 4, false, 'dynamic', 0, 1, true);
    return dst < 0 ? undefined : { dst, fixed: 0 };
  }
  seq(path: string[], elem: IntType) {
    const b = bytesFor(elem.size);
    const text = elem.encoding !== 'none' && elem.size === 8;
    const dst = this.add(path, `__data_loc ${intTypeName(elem, b, false)}[]`, 4, 4, false, 'dynamic', 0, b, text);
    return dst < 0 ? undefined : { dst, esize: b };
  }
}

/** Mapped layout: top-level CTF fields go where the target (ftrace) format has the field that takes them. */
class MappedLayout implements Emitter {
  readonly assigned = new Set<TargetField>();

  constructor(private readonly target: Target) {}

  private find(path: string[]): TargetField | undefined {
    if (path.length !== 1) return undefined;
    const n = strip(path[0]);
    for (const f of this.target.fields) {
      if (!this.assigned.has(f) && f.from?.includes(n)) return f;
    }
    return undefined;
  }

  int(path: string[], _t: IntType, float: boolean) {
    const f = this.find(path);
    if (f === undefined || float) return undefined;
    if (f.conv !== undefined && f.kind === 'array') {
      this.assigned.add(f);
      return { dst: f.offset, size: f.size, flags: F_RWBS | (f.conv === 'rwbs-old' ? F_RWBS_OLD : 0) };
    }
    if (f.kind !== 'int') return undefined;
    this.assigned.add(f);
    return { dst: f.offset, size: f.size, flags: 0 };
  }
  bytes(path: string[]) {
    const f = this.find(path);
    if (f === undefined || f.kind !== 'array' || f.conv !== undefined) return undefined;
    this.assigned.add(f);
    return { dst: f.offset, size: f.size };
  }
  ints() {
    return undefined;
  }
  string(path: string[]) {
    const f = this.find(path);
    if (f === undefined) return undefined;
    if (f.kind === 'dynamic') {
      this.assigned.add(f);
      return { dst: f.offset, fixed: 0 };
    }
    if (f.kind === 'array' && f.conv === undefined) {
      this.assigned.add(f);
      return { dst: f.offset, fixed: f.size };
    }
    return undefined;
  }
  seq(path: string[], elem: IntType) {
    const f = this.find(path);
    if (f === undefined || f.kind !== 'dynamic' || elem.size !== 8) return undefined;
    this.assigned.add(f);
    return { dst: f.offset, esize: 1 };
  }
}

class Compiler {
  nRegs = R_FIRST_FREE;
  readonly tables: Float64Array[] = [];
  private prog: number[] = [];
  private frames: Map<string, Node>[] = [];
  private readonly dyn = new Map<Scope, Map<string, Node>>();
  private scope: Scope = 'fields';
  private emitter: Emitter = NO_EMIT;
  hasTid = false;
  hasProcname = false;

  constructor(
    private readonly trace: CtfTrace,
    private readonly file: string,
  ) {}

  fail(msg: string): never {
    throw new CtfMetadataError(this.file, -1, msg);
  }

  private op(op: number, align: number, a: number, flags: number, reg: number, dst: number, dstSize: number, aux = 0) {
    const at = this.prog.length;
    this.prog.push(op, align, a, flags, reg, dst, dstSize, aux);
    return at;
  }

  /** Compiles a whole dynamic scope into `prog` (appending). */
  scopeStruct(scope: Scope, st: StructType | undefined, prog: number[], emitter: Emitter): void {
    this.prog = prog;
    this.scope = scope;
    this.emitter = emitter;
    this.frames = [];
    const top = new Map<string, Node>();
    // Scopes decoded after this one (in stream order) are not visible from it: forget the previous event's.
    if (scope === 'stream.event.context') {
      this.dyn.delete('event.context');
      this.dyn.delete('fields');
    }
    this.dyn.set(scope, top);
    if (st === undefined) return;
    this.struct(st, [], top);
  }

  private struct(st: StructType, path: string[], frame: Map<string, Node>): void {
    const a = alignOf(st);
    if (a > 1) this.op(OP_ALIGN, a, 0, 0, -1, -1, 0);
    this.frames.push(frame);
    for (const f of st.fields) frame.set(f.name, this.field(f.name, f.type, [...path, f.name]));
    this.frames.pop();
  }

  private byteOrderFlag(bo: IntType['byteOrder']): number {
    const eff = bo === 'native' ? this.trace.byteOrder : bo;
    return eff === 'be' ? F_BE : 0;
  }

  private field(name: string, type: CtfType, path: string[]): Node {
    switch (type.kind) {
      case 'int':
      case 'enum':
        return this.intField(name, type.kind === 'enum' ? type.container : type, path, false, type);
      case 'float': {
        const size = type.expDig + type.mantDig;
        const it: IntType = {
          kind: 'int',
          size,
          align: type.align,
          signed: false,
          byteOrder: type.byteOrder,
          base: 10,
          encoding: 'none',
          clock: undefined,
        };
        return this.intField(name, it, path, true, type);
      }
      case 'string': {
        const e = this.emitter.string(path);
        const special = this.special(name);
        const reg = special === 'procname' ? R_PROCNAME : -1;
        if (reg >= 0) this.hasProcname = true;
        const at = this.op(OP_STRING, 8, 0, e && e.fixed > 0 ? F_FIXED : 0, reg, e ? e.dst : -1, e ? e.fixed : 0);
        return { type, prog: this.prog, op: at, reg, children: undefined };
      }
      case 'array':
        return this.array(name, type, path);
      case 'sequence': {
        const lenNode = this.resolve(type.lengthRef);
        const reg = this.regOf(lenNode, type.lengthRef);
        const el = type.element;
        if (
          el.kind === 'int' &&
          el.align % 8 === 0 &&
          (el.size === 8 || el.size === 16 || el.size === 32 || el.size === 64)
        ) {
          const e = this.emitter.seq(path, el);
          const flags =
            (el.signed ? F_SIGNED : 0) | this.byteOrderFlag(el.byteOrder) | (el.encoding !== 'none' ? F_TEXT : 0);
          const at =
            el.size === 8
              ? this.op(OP_SEQ_BYTES, el.align, 8, flags, reg, e ? e.dst : -1, 1)
              : this.op(OP_SEQ_INT, el.align, el.size, flags, reg, e ? e.dst : -1, e ? e.esize : 0);
          return { type, prog: this.prog, op: at, reg: -1, children: undefined };
        }
        this.loop(-1, reg, el, path);
        return { type, prog: this.prog, op: -1, reg: -1, children: undefined };
      }
      case 'struct': {
        const frame = new Map<string, Node>();
        this.struct(type, path, frame);
        return { type, prog: this.prog, op: -1, reg: -1, children: frame };
      }
      case 'variant':
        return this.variant(type, path);
    }
  }

  private special(name: string): 'id' | 'tid' | 'procname' | undefined {
    const n = strip(name);
    if (this.scope === 'event.header' && name === 'id') return 'id';
    if (this.scope === 'stream.event.context' || this.scope === 'event.context') {
      if (n === 'tid') return 'tid';
      if (n === 'procname') return 'procname';
    }
    return undefined;
  }

  private intField(name: string, t: IntType, path: string[], float: boolean, orig: CtfType): Node {
    let flags = (t.signed && !float ? F_SIGNED : 0) | this.byteOrderFlag(t.byteOrder);
    if (t.clock !== undefined) {
      flags |= F_CLOCKMAP;
      if (this.scope === 'packet.context') {
        if (name === 'timestamp_begin') flags |= F_CLOCK_SET;
      } else if (
        this.scope === 'event.header' ||
        this.scope === 'stream.event.context' ||
        this.scope === 'event.context'
      ) {
        flags |= F_CLOCK;
      }
    }
    const special = this.special(name);
    let reg = -1;
    if (special === 'id') reg = R_ID;
    else if (special === 'tid' && !float) {
      reg = R_TID;
      this.hasTid = true;
    }
    if (t.size > 64) {
      const e = this.emitter.bytes(path, t.size / 8, false);
      const at = this.op(OP_BYTES, t.align, t.size / 8, 0, -1, e ? e.dst : -1, e ? e.size : 0);
      return { type: orig, prog: this.prog, op: at, reg: -1, children: undefined };
    }
    const e = this.emitter.int(path, t, float);
    const aligned = t.align % 8 === 0 && (t.size === 8 || t.size === 16 || t.size === 32 || t.size === 64);
    const at = this.op(
      aligned ? OP_INT : OP_BITS,
      t.align,
      t.size,
      flags | (e ? e.flags : 0),
      reg,
      e ? e.dst : -1,
      e ? e.size : 0,
    );
    return { type: orig, prog: this.prog, op: at, reg, children: undefined };
  }

  private array(name: string, type: ArrayType, path: string[]): Node {
    const el = type.element;
    if (el.kind === 'int' && el.align % 8 === 0 && el.size === 8) {
      const e = this.emitter.bytes(path, type.length, el.encoding !== 'none');
      const special = this.special(name);
      const reg = special === 'procname' ? R_PROCNAME : -1;
      if (reg >= 0) this.hasProcname = true;
      const at = this.op(OP_BYTES, el.align, type.length, 0, reg, e ? e.dst : -1, e ? e.size : 0);
      return { type, prog: this.prog, op: at, reg: -1, children: undefined };
    }
    if (el.kind === 'int' && el.align % 8 === 0 && (el.size === 16 || el.size === 32 || el.size === 64)) {
      const e = this.emitter.ints(path, el, type.length);
      const flags = (el.signed ? F_SIGNED : 0) | this.byteOrderFlag(el.byteOrder);
      const at = this.op(OP_INT_ARRAY, el.align, el.size, flags, -1, e ? e.dst : -1, e ? e.esize : 0, type.length);
      return { type, prog: this.prog, op: at, reg: -1, children: undefined };
    }
    if (el.kind === 'int' && el.size > 64) {
      const at = this.op(OP_BYTES, el.align, (el.size / 8) * type.length, 0, -1, -1, 0);
      return { type, prog: this.prog, op: at, reg: -1, children: undefined };
    }
    this.loop(type.length, -1, el, path);
    return { type, prog: this.prog, op: -1, reg: -1, children: undefined };
  }

  /** Array or sequence of anything else: decoded element by element, not represented in the synthetic record. */
  private loop(count: number, reg: number, el: CtfType, path: string[]): void {
    const at = this.op(OP_LOOP, 1, count, 0, reg, -1, 0, -1);
    const saved = this.emitter;
    this.emitter = NO_EMIT;
    this.field('', el, [...path, '[]']);
    this.emitter = saved;
    this.op(OP_LOOP_END, 1, 0, 0, -1, -1, 0);
    this.prog[at + S_AUX] = this.prog.length;
  }

  private variant(type: CtfType & { kind: 'variant' }, path: string[]): Node {
    if (type.tagRef === undefined) this.fail(`variant ${path.join('.')} has no tag`);
    const tagNode = this.resolve(type.tagRef);
    if (tagNode.type.kind !== 'enum') this.fail(`variant tag "${type.tagRef}" is not an enum`);
    const reg = this.regOf(tagNode, type.tagRef);
    const tableIndex = this.tables.length;
    this.tables.push(new Float64Array(0));
    this.op(OP_VARIANT, 1, 0, 0, reg, -1, 0, tableIndex);
    const starts: number[] = [];
    const jumps: number[] = [];
    const children = new Map<string, Node>();
    for (const o of type.options) {
      starts.push(this.prog.length);
      children.set(o.name, this.field(o.name, o.type, [...path, o.name]));
      jumps.push(this.op(OP_JUMP, 1, 0, 0, -1, -1, 0, -1));
    }
    const end = this.prog.length;
    for (const j of jumps) this.prog[j + S_AUX] = end;
    const en = tagNode.type as EnumType;
    const triples: number[] = [];
    for (const e of en.entries) {
      let k = type.options.findIndex((o) => o.name === e.label);
      if (k < 0) k = type.options.findIndex((o) => strip(o.name) === strip(e.label));
      if (k >= 0) triples.push(e.lo, e.hi, starts[k]);
    }
    this.tables[tableIndex] = Float64Array.from(triples);
    return { type, prog: this.prog, op: -1, reg: -1, children };
  }

  private regOf(n: Node, ref: string): number {
    if (n.type.kind !== 'int' && n.type.kind !== 'enum') this.fail(`"${ref}" is not an integer field`);
    if (n.op < 0) this.fail(`"${ref}" cannot be referenced`);
    if (n.reg < 0) {
      n.reg = this.nRegs++;
      n.prog[n.op + S_REG] = n.reg;
    }
    return n.reg;
  }

  /** CTF §7.3.2: a relative name is looked up in the enclosing structures, then in the dynamic scopes. */
  private resolve(ref: string): Node {
    const parts = ref.split('.');
    const abs: [string[], Scope][] = [
      [['trace', 'packet', 'header'], 'packet.header'],
      [['stream', 'packet', 'context'], 'packet.context'],
      [['stream', 'event', 'header'], 'event.header'],
      [['stream', 'event', 'context'], 'stream.event.context'],
      [['event', 'context'], 'event.context'],
      [['event', 'fields'], 'fields'],
    ];
    for (const [prefix, scope] of abs) {
      if (parts.length > prefix.length && prefix.every((p, k) => parts[k] === p)) {
        const top = this.dyn.get(scope);
        if (top === undefined) this.fail(`reference "${ref}": scope ${prefix.join('.')} not decoded yet`);
        return this.descend(top, parts.slice(prefix.length), ref);
      }
    }
    for (let k = this.frames.length - 1; k >= 0; k--) {
      if (this.frames[k].has(parts[0])) return this.descend(this.frames[k], parts, ref);
    }
    const order: Scope[] = [
      'fields',
      'event.context',
      'stream.event.context',
      'event.header',
      'packet.context',
      'packet.header',
    ];
    for (const s of order) {
      const top = this.dyn.get(s);
      if (top?.has(parts[0])) return this.descend(top, parts, ref);
    }
    this.fail(`unknown field "${ref}" (sequence length or variant tag)`);
  }

  private descend(frame: Map<string, Node>, parts: string[], ref: string): Node {
    let n = frame.get(parts[0]);
    for (let k = 1; n !== undefined && k < parts.length; k++) n = n.children?.get(parts[k]);
    if (n === undefined) this.fail(`unknown field "${ref}"`);
    return n;
  }

  /** The packet scratch layout: every integer in an 8-byte slot, so the source reads them uniformly. */
  scratchOffsets(layout: GenericLayout): Map<string, FieldFormat> {
    return new Map(layout.fields.map((f) => [f.name, f]));
  }
}

/**
 * Compiles `trace`. `plan(ev)` says, for each event class, which mapped target it becomes (or undefined for a generic
 * `lttng:` format) and its special handling. Throws `CtfMetadataError` for what cannot be decoded.
 */
export function compileTrace(
  trace: CtfTrace,
  file: string,
  plan: (ev: CtfEventClass) => EventPlan,
  registry: FormatRegistry,
  /** Interpret every program: no dedicated LTTng header decoder, no generated code (tests compare both paths). */
  interpretOnly = false,
): CompiledTrace {
  const c = new Compiler(trace, file);

  // Packet header (trace level) into the scratch.
  const phProg: number[] = [];
  const phLayout = new GenericLayout(true);
  c.scopeStruct('packet.header', trace.packetHeader, phProg, phLayout);
  phProg.push(OP_END, 0, 0, 0, 0, 0, 0, 0);
  const ph = c.scratchOffsets(phLayout);
  const off = (m: Map<string, FieldFormat>, name: string) => m.get(name)?.offset ?? -1;

  // Event timestamps: the clock mapped by the event headers (LTTng declares one clock).
  let clock: CtfClock | undefined;
  const clockName = findClock(trace);
  if (clockName !== undefined) clock = trace.clocks.get(clockName);
  if (clock === undefined && trace.clocks.size === 1) clock = [...trace.clocks.values()][0];

  const streams: (CompiledStream | undefined)[] = [];
  const pending: (() => void)[] = [];
  for (const s of trace.streams.values()) {
    const pcProg: number[] = [];
    const pcLayout = new GenericLayout(true);
    // The packet context scratch starts after the packet header fields.
    pcLayout.size = Math.ceil(phLayout.size / 8) * 8;
    c.scopeStruct('packet.context', s.packetContext, pcProg, pcLayout);
    pcProg.push(OP_END, 0, 0, 0, 0, 0, 0, 0);
    const pc = c.scratchOffsets(pcLayout);

    const hProg: number[] = [];
    c.scopeStruct('event.header', s.eventHeader, hProg, NO_EMIT);
    hProg.push(OP_END, 0, 0, 0, 0, 0, 0, 0);

    const events: (CompiledEvent | undefined)[] = [];
    for (const ev of s.events.values()) {
      const p = plan(ev);
      const prog: number[] = [OP_BEGIN, 1, 0, 0, -1, -1, 0, 0];
      c.scopeStruct('stream.event.context', s.eventContext, prog, NO_EMIT);
      c.scopeStruct('event.context', ev.context, prog, NO_EMIT);
      let format: EventFormat;
      let zero = false;
      if (p.target !== undefined) {
        const ml = new MappedLayout(p.target);
        c.scopeStruct('fields', ev.fields, prog, ml);
        for (const tf of p.target.fields) {
          if (ml.assigned.has(tf)) continue;
          if (tf.value !== undefined && tf.kind === 'int') {
            const v = BigInt.asUintN(64, BigInt(tf.value));
            prog.push(OP_CONST, 1, Number(v & 0xffffffffn) | 0, 0, -1, tf.offset, tf.size, Number(v >> 32n) | 0);
          } else zero = true;
        }
        format = registry.mapped(p.target);
      } else {
        const gl = new GenericLayout();
        c.scopeStruct('fields', ev.fields, prog, gl);
        zero = ev.fields !== undefined && hasVariant(ev.fields);
        format = registry.generic(ev.name, ev.streamId, gl.fields);
      }
      prog.push(OP_END, 0, 0, 0, 0, 0, 0, 0);
      const fixed = fixedSize(format);
      prog[2] = format.id;
      prog[3] = zero ? F_ZERO : 0;
      prog[6] = fixed;
      pending.push(() => {
        const e = events[ev.id]!;
        e.code = foldSkips(prog, c.tables);
        if (interpretOnly) e.fast = null;
      });
      events[ev.id] = {
        name: ev.name,
        ctfId: ev.id,
        streamId: s.id,
        code: EMPTY,
        fast: undefined,
        format,
        special: p.special,
      };
    }
    const discarded = pc.get('events_discarded');
    pending.push(() => {
      const cs = streams[s.id]!;
      cs.packetContext = foldSkips(pcProg, c.tables);
      cs.header = foldSkips(hProg, c.tables);
    });
    streams[s.id] = {
      id: s.id,
      packetContext: EMPTY,
      header: EMPTY,
      headerAlign: s.eventHeader ? Math.max(8, alignOf(s.eventHeader)) : 8,
      headerShape: s.eventHeader && !interpretOnly ? headerShape(s.eventHeader, trace.byteOrder) : undefined,
      events,
      packetSizeOff: off(pc, 'packet_size'),
      contentSizeOff: off(pc, 'content_size'),
      cpuIdOff: off(pc, 'cpu_id'),
      discardedOff: off(pc, 'events_discarded'),
      discardedBits: discarded ? ctfIntSize(s.packetContext, '_events_discarded', 'events_discarded') : 64,
    };
  }
  // Registers are patched into earlier programs while later ones compile: fold and freeze only now.
  for (const p of pending) p();
  let nsPerCycle = 1;
  if (clock !== undefined && clock.freq !== 1_000_000_000n) nsPerCycle = 1e9 / Number(clock.freq);
  const ids = [...trace.streams.keys()];
  return {
    packetHeader: foldSkips(phProg, c.tables),
    magicOff: off(ph, 'magic'),
    uuidOff: off(ph, 'uuid'),
    streamIdOff: off(ph, 'stream_id'),
    defaultStreamId: ids.length === 1 ? ids[0] : 0,
    uuid: trace.uuid,
    streams,
    variantTables: c.tables,
    nRegs: c.nRegs,
    clock,
    nsPerCycle,
    originHi: 0,
    originLo: 0,
    hasTidContext: c.hasTid,
    hasProcnameContext: c.hasProcname,
  };
}

export const HEADER_COMPACT = 1;
export const HEADER_LARGE = 2;

/**
 * The two LTTng event headers (lttng-modules lttng-events.c `_lttng_event_header_declare`): `compact` = 5-bit id +
 * 27-bit timestamp bit fields (little-endian), `large` = 16-bit id + 32-bit timestamp; id 31 / 65535 selects the
 * `extended` form, a 32-bit id and a 64-bit timestamp. Alignments are kept from the metadata (byte-packed on x86,
 * natural on ARM).
 */
export interface HeaderShape {
  kind: typeof HEADER_COMPACT | typeof HEADER_LARGE;
  be: boolean;
  idAlign: number;
  tsAlign: number;
  extAlign: number;
  extIdAlign: number;
  extTsAlign: number;
}

function headerShape(h: StructType, traceOrder: 'le' | 'be'): HeaderShape | undefined {
  if (h.fields.length !== 2) return undefined;
  const [idF, vF] = h.fields;
  if (idF.name !== 'id' || idF.type.kind !== 'enum' || vF.type.kind !== 'variant') return undefined;
  const idT = idF.type.container;
  const v = vF.type;
  if (v.tagRef !== 'id' || v.options.length !== 2 || idT.signed || idT.clock !== undefined) return undefined;
  const comp = v.options.find((o) => o.name === 'compact')?.type;
  const ext = v.options.find((o) => o.name === 'extended')?.type;
  if (comp?.kind !== 'struct' || ext?.kind !== 'struct') return undefined;
  const max = 2 ** idT.size - 1;
  const entries = idF.type.entries;
  const ce = entries.find((e) => e.label === 'compact');
  const ee = entries.find((e) => e.label === 'extended');
  if (entries.length !== 2 || ce?.lo !== 0 || ce.hi !== max - 1 || ee?.lo !== max || ee.hi !== max) return undefined;
  const intOf = (st: StructType, name: string) => {
    const f = st.fields.find((x) => x.name === name);
    return f?.type.kind === 'int' ? f.type : undefined;
  };
  const cts = intOf(comp, 'timestamp');
  const eid = intOf(ext, 'id');
  const ets = intOf(ext, 'timestamp');
  if (comp.fields.length !== 1 || ext.fields.length !== 2 || ext.fields[0].name !== 'id') return undefined;
  if (cts?.clock === undefined || ets?.clock === undefined || eid === undefined || eid.clock !== undefined) {
    return undefined;
  }
  const order = (t: IntType) => (t.byteOrder === 'native' ? traceOrder : t.byteOrder);
  const bo = order(idT);
  if (order(cts) !== bo || order(eid) !== bo || order(ets) !== bo) return undefined;
  if (eid.size !== 32 || ets.size !== 64 || eid.align % 8 !== 0 || ets.align % 8 !== 0) return undefined;
  if (cts.signed || eid.signed || ets.signed) return undefined;
  const common = {
    be: bo === 'be',
    idAlign: idT.align,
    tsAlign: alignOf(comp),
    extAlign: alignOf(ext),
    extIdAlign: eid.align,
    extTsAlign: ets.align,
  };
  if (idT.size === 5 && idT.align === 1 && cts.size === 27 && alignOf(comp) === 1 && bo === 'le') {
    return { kind: HEADER_COMPACT, ...common };
  }
  if (idT.size === 16 && idT.align % 8 === 0 && cts.size === 32 && cts.align % 8 === 0) {
    return { kind: HEADER_LARGE, ...common };
  }
  return undefined;
}

/**
 * Folds runs of byte-aligned integer/byte fields that write nothing (no destination, register or clock role) into one
 * OP_SKIP. Only fields aligned on at most 8 bits fold (byte-packed layouts): after the first one is aligned, the
 * position stays byte-aligned and the run has a fixed size. Jump targets are remapped.
 */
export function foldSkips(prog: number[], tables: Float64Array[]): Int32Array {
  const n = prog.length / W;
  const foldable = (k: number) => {
    const at = k * W;
    const op = prog[at];
    if (op !== OP_INT && op !== OP_BYTES) return false;
    if (prog[at + 1] > 8 || prog[at + S_REG] >= 0 || prog[at + 5] >= 0) return false;
    if (op === OP_INT && (prog[at + 3] & (F_CLOCK | F_CLOCK_SET | F_CLOCKMAP)) !== 0) return false;
    return true;
  };
  const bits = (k: number) => (prog[k * W] === OP_INT ? prog[k * W + 2] : prog[k * W + 2] * 8);
  // Instructions some jump or table lands on must start a new run.
  const targets = new Set<number>();
  for (let k = 0; k < n; k++) {
    const op = prog[k * W];
    if (op === OP_JUMP || op === OP_LOOP) targets.add(prog[k * W + S_AUX] / W);
    if (op === OP_LOOP) targets.add(k + 1);
    if (op === OP_VARIANT) {
      const t = tables[prog[k * W + S_AUX]];
      for (let i = 2; i < t.length; i += 3) targets.add(t[i] / W);
    }
  }
  const out: number[] = [];
  const map = new Int32Array(n + 1);
  let k = 0;
  while (k < n) {
    map[k] = out.length;
    if (foldable(k) && k + 1 < n && foldable(k + 1) && !targets.has(k + 1)) {
      let total = bits(k);
      const align = prog[k * W + 1];
      let j = k + 1;
      while (j < n && foldable(j) && !targets.has(j)) {
        map[j] = out.length;
        total += bits(j);
        j++;
      }
      out.push(OP_SKIP, align, total, 0, -1, -1, 0, 0);
      k = j;
      continue;
    }
    for (let s = 0; s < W; s++) out.push(prog[k * W + s]);
    k++;
  }
  map[n] = out.length;
  for (let i = 0; i < out.length; i += W) {
    const op = out[i];
    if (op === OP_JUMP || op === OP_LOOP) out[i + S_AUX] = map[out[i + S_AUX] / W];
    if (op === OP_VARIANT) {
      const t = tables[out[i + S_AUX]];
      for (let j = 2; j < t.length; j += 3) t[j] = map[t[j] / W];
    }
  }
  return Int32Array.from(out);
}

function fixedSize(f: EventFormat): number {
  let n = 8;
  for (const x of f.fields) n = Math.max(n, x.offset + x.size);
  return n;
}

function hasVariant(t: CtfType): boolean {
  switch (t.kind) {
    case 'variant':
      return true;
    case 'struct':
      return t.fields.some((f) => hasVariant(f.type));
    default:
      return false;
  }
}

function ctfIntSize(st: StructType | undefined, ...names: string[]): number {
  const f = st?.fields.find((x) => names.includes(x.name));
  if (f === undefined) return 64;
  const t = f.type.kind === 'enum' ? f.type.container : f.type;
  return t.kind === 'int' ? t.size : 64;
}

/** The clock mapped by the first clock-mapped integer of any event header. */
function findClock(trace: CtfTrace): string | undefined {
  const visit = (t: CtfType): string | undefined => {
    switch (t.kind) {
      case 'int':
        return t.clock;
      case 'enum':
        return t.container.clock;
      case 'struct':
        for (const f of t.fields) {
          const r = visit(f.type);
          if (r !== undefined) return r;
        }
        return undefined;
      case 'variant':
        for (const f of t.options) {
          const r = visit(f.type);
          if (r !== undefined) return r;
        }
        return undefined;
      default:
        return undefined;
    }
  };
  for (const s of trace.streams.values()) {
    if (s.eventHeader) {
      const r = visit(s.eventHeader);
      if (r !== undefined) return r;
    }
  }
  for (const s of trace.streams.values()) {
    if (s.packetContext) {
      const r = visit(s.packetContext);
      if (r !== undefined) return r;
    }
  }
  return undefined;
}
