/**
 * One text line per record in the style of `trace-cmd report -t -R` (raw field values, nanosecond times), for the
 * `dump` command and for comparing our decoding with trace-cmd's:
 *
 *   [BUFFER: ]COMM-TID [CPU] SEC.NSEC: EVENT: field=value ...
 *
 * Field values follow libtraceevent's `print_field` (the version trace-cmd 3.1.6 uses): a field that is the plain
 * argument of a conversion in the event's print fmt is printed with that conversion (`target_cpu=%03d` → `000`,
 * `%p` → `0x...`), searching the print fmt cyclically from after the previous match; other fields print raw —
 * arrays as `ARRAY[xx, ...]` bytes (or as text when they are char/u8 arrays holding printable text), pointers and
 * `long` types in hex, signed values in decimal. Like libtraceevent, a char array that once held non-printable bytes
 * prints as ARRAY from then on (the formatter is stateful). Allocates: not for the hot path.
 */
import { fieldSpan } from './fields.ts';
import { formatInt, type ParsedPrintFmt, type PrintConversion, parsePrintFmt } from './printfmt.ts';
import type { EventSchema } from './schema.ts';
import type { EventFormat, FieldFormat, Symbolizer, TraceRecord } from './types.ts';

export interface RecordFormatterOptions {
  /** Absolute time of `TraceRecord.ts === 0`. */
  origin: bigint;
  /** Trace clock: nanosecond clocks print `SEC.NSEC`, others (boot, counter, x86-tsc) the raw count. */
  clock?: string;
  /** Buffer (instance) name prefixed to every line (`NAME: `), '' for the top buffer. */
  buffer?: string;
  /** Command name of a tid (trace.dat cmdlines); unknown prints `<...>`, tid 0 prints `<idle>`. */
  comm?(tid: number): string | undefined;
  /** For `%pS`-style conversions. */
  symbols?: Symbolizer;
}

/** Clocks libtraceevent prints as seconds.nanoseconds (trace-read.c `extract_trace_clock`). */
const NS_CLOCKS = new Set(['local', 'global', 'uptime', 'perf', 'mono', 'mono_raw', 'tai', 'tsc2nsec']);

interface Compiled {
  format: EventFormat;
  /** Non-common fields, in order (what `-R` prints). */
  fields: FieldFormat[];
  fmt: ParsedPrintFmt;
  /** Fields treated as strings (libtraceevent TEP_FIELD_IS_STRING: char/u8/s8 arrays); cleared once non-printable. */
  stringy: Set<string>;
}

function isArrayField(f: FieldFormat): boolean {
  return (
    f.kind === 'array' || f.kind === 'flex' || ((f.kind === 'dynamic' || f.kind === 'rel') && f.type.includes('['))
  );
}

function isPrintable(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end && bytes[i] !== 0; i++) {
    const b = bytes[i];
    if (!((b >= 0x20 && b < 0x7f) || (b >= 9 && b <= 13))) return false;
  }
  return true;
}

const utf8 = new TextDecoder('utf-8');

/** `%5llu.%09llu` of an absolute nanosecond time. */
export function formatNs(abs: bigint): string {
  const sec = abs / 1_000_000_000n;
  const ns = abs % 1_000_000_000n;
  return `${String(sec).padStart(5)}.${String(ns).padStart(9, '0')}`;
}

export class RecordFormatter {
  private readonly compiled = new Map<number, Compiled>();
  private readonly le: boolean;
  private readonly longSize: number;
  private readonly span = { start: 0, end: 0 };

  constructor(
    readonly schema: EventSchema,
    readonly opts: RecordFormatterOptions,
  ) {
    this.le = schema.littleEndian;
    this.longSize = schema.longSize;
  }

  private compile(id: number): Compiled | undefined {
    let c = this.compiled.get(id);
    if (c !== undefined) return c;
    const format = this.schema.byId(id);
    if (format === undefined) return undefined;
    const stringy = new Set<string>();
    for (const f of format.fields) if (isArrayField(f) && /char|u8|s8/.test(f.type)) stringy.add(f.name);
    c = { format, fields: format.fields.filter((f) => !f.common), fmt: parsePrintFmt(format.printFmt), stringy };
    this.compiled.set(id, c);
    return c;
  }

  /** `COMM-TID [CPU] SEC.NSEC` time part: `SEC.NSEC` for nanosecond clocks, else the raw count in 12 columns. */
  formatTime(ts: number): string {
    const abs = this.opts.origin + BigInt(ts);
    const clock = this.opts.clock ?? 'local';
    return NS_CLOCKS.has(clock) ? formatNs(abs) : String(abs).padStart(12);
  }

  commOf(tid: number): string {
    if (tid === 0) return '<idle>';
    return this.opts.comm?.(tid) ?? '<...>';
  }

  /** The whole line. */
  formatLine(r: TraceRecord): string {
    const c = this.compile(r.id);
    const name = c?.format.name ?? `[UNKNOWN EVENT ${r.id}]`;
    const prefix = this.opts.buffer ? `${this.opts.buffer}: ` : '';
    const head = `${prefix}${this.commOf(r.pid).padStart(16)}-${String(r.pid).padEnd(5)} [${String(r.cpu).padStart(3, '0')}] ${this.formatTime(r.ts)}: ${name}: ${' '.repeat(Math.max(0, 20 - name.length))}`;
    if (c === undefined) return head;
    let out = head;
    for (const [k, v] of this.fieldValues(r)) out += ` ${k}=${v}`;
    return out;
  }

  /** Each non-common field and its text as `trace-cmd report -R` prints it, in format order. */
  fieldValues(r: TraceRecord): [string, string][] {
    const c = this.compile(r.id);
    if (c === undefined) return [];
    const out: [string, string][] = [];
    const items = c.fmt.items;
    let parse = c.fmt.ok && items.length > 0 ? 0 : -1;
    for (const f of c.fields) {
      let text: string | undefined;
      if (parse >= 0 && !isArrayField(f) && !c.stringy.has(f.name) && f.kind === 'int') {
        // libtraceevent print_field: cyclic search from the current position for a conversion of this field.
        const start = parse;
        let i = parse;
        let has0x = false;
        do {
          const it = items[i];
          if (it.kind === 'text') {
            has0x = it.text.length > 1 && it.text.endsWith('0x');
          } else if (it.field === f.name) {
            const v = this.convert(it, f, r);
            if (v !== undefined) {
              text = (has0x ? '0x' : '') + v;
              parse = i + 1 < items.length ? i + 1 : -1;
            }
            break;
          } else {
            has0x = false;
          }
          i = i + 1 < items.length ? i + 1 : 0;
        } while (i !== start);
      }
      out.push([f.name, text ?? this.raw(c, f, r)]);
    }
    return out;
  }

  /** Unsigned value of an integer field as libtraceevent reads it (no sign extension). */
  private readUnsigned(f: FieldFormat, r: TraceRecord): bigint {
    const size = f.size;
    const at = r.off + f.offset;
    if (at + size > r.bytes.length || size === 0 || size > 8) return 0n;
    let v = 0n;
    for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(r.bytes[at + (this.le ? size - 1 - i : i)]);
    return v;
  }

  private convert(it: PrintConversion, f: FieldFormat, r: TraceRecord): string | undefined {
    let v = this.readUnsigned(f, r);
    for (let k = it.casts.length - 1; k >= 0; k--) v = castTo(v, it.casts[k]);
    if (it.conv === 'p') {
      const ext = it.pointerExt[0] ?? '';
      if (ext === 'S' || ext === 's' || ext === 'F' || ext === 'f') {
        const hi = Number(v >> 32n);
        const lo = Number(v & 0xffffffffn);
        const sym = this.opts.symbols;
        const txt = sym?.format(hi, lo);
        if (txt !== undefined && !txt.startsWith('0x')) {
          return ext === 'S' || ext === 'F' ? txt.replace(/ \[.*\]$/, '') : txt.replace(/\+0x[0-9a-f]+( \[.*\])?$/, '');
        }
        return `0x${v.toString(16)}`;
      }
      if (ext !== '') return undefined; // MAC/IP/UUID/hex-buffer renderings: fall back to raw
      return v === 0n ? '(nil)' : `0x${v.toString(16)}`;
    }
    if (it.conv === 's') return undefined;
    // print_arg_number: the value is cast to the C type of the length modifier, then printf'd.
    let cv: bigint;
    switch (it.ls) {
      case -2:
        cv = BigInt.asIntN(8, v);
        break;
      case -1:
        cv = BigInt.asIntN(16, v);
        break;
      case 0:
        cv = BigInt.asIntN(32, v);
        break;
      default:
        cv = BigInt.asIntN(it.ls === 1 ? this.longSize * 8 : 64, v);
    }
    if (it.conv !== 'd' && it.conv !== 'i') {
      const bits = it.ls === -2 ? 8 : it.ls === -1 ? 16 : it.ls === 0 ? 32 : it.ls === 1 ? this.longSize * 8 : 64;
      cv = BigInt.asUintN(bits, cv);
    }
    return formatInt(it, cv);
  }

  /** libtraceevent `print_field_raw`. */
  private raw(c: Compiled, f: FieldFormat, r: TraceRecord): string {
    if (isArrayField(f)) {
      let start: number;
      let end: number;
      if (f.kind === 'dynamic' || f.kind === 'rel') {
        fieldSpan(f, r, this.le, this.span);
        start = r.off + this.span.start;
        end = r.off + this.span.end;
      } else {
        // A fixed array prints its declared size, as libtraceevent does (clamped to the buffer).
        start = r.off + f.offset;
        end = Math.min(r.bytes.length, start + f.size);
      }
      if (c.stringy.has(f.name) && isPrintable(r.bytes, start, end)) {
        // "%s": up to the NUL (flexible arrays: to the end of the record).
        let e = start;
        const limit = f.kind === 'flex' ? r.off + r.len : r.bytes.length;
        while (e < limit && r.bytes[e] !== 0) e++;
        return utf8.decode(r.bytes.subarray(start, e));
      }
      c.stringy.delete(f.name);
      const parts: string[] = [];
      for (let i = start; i < end; i++) parts.push(r.bytes[i].toString(16).padStart(2, '0'));
      return `ARRAY[${parts.join(', ')}]`;
    }
    const v = this.readUnsigned(f, r);
    const isPointer = f.type.includes('*');
    const isLong = f.type.includes('long');
    if (isPointer) return `0x${v.toString(16)}`;
    if (f.signed) {
      switch (f.size) {
        case 4:
          return isLong ? `0x${v.toString(16)}` : String(BigInt.asIntN(32, v));
        case 2:
          return String(BigInt.asIntN(16, v)).padStart(2);
        case 1:
          return String(BigInt.asIntN(8, v));
        default:
          return String(BigInt.asIntN(64, v));
      }
    }
    return isLong ? `0x${v.toString(16)}` : v.toString();
  }
}

/** libtraceevent `eval_type_str`: a cast to a small integer type masks the value; others leave it. */
function castTo(v: bigint, type: string): bigint {
  const t = type.trim();
  if (t.endsWith('*') || t.startsWith('struct')) return v;
  const base = t.startsWith('unsigned ') ? t.slice(9) : t;
  switch (base) {
    case 'u8':
    case 's8':
    case 'char':
      return v & 0xffn;
    case 'u16':
    case 's16':
    case 'short':
      return v & 0xffffn;
    case 'u32':
    case 's32':
    case 'int':
      return v & 0xffffffffn;
    default:
      return v;
  }
}
