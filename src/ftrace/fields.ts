/**
 * Field access, compiled once per (format, field) and then run on every record (DESIGN §3, STYLE practice 4).
 *
 * - `intReader`: a tiny closure reading one integer field with `DataView` at a precomputed offset: no allocation,
 *   no BigInt, no try/catch. Exact for values that fit 53 bits (every pid, cpu, irq, syscall id, length, ...).
 * - `u64Reader`: exact 64-bit values (addresses, sectors) as unsigned hi/lo u32 halves into a caller scratch object.
 * - `stringReader`: fixed `char x[N]`, `__data_loc char[]`, `__rel_loc char[]` and flexible `char x[]` strings,
 *   bounded by the record length. Allocates (a string): for outliers and comm changes, not for every event.
 * - `compileDecoder`: every field of an event into a plain object (numbers, bigint beyond 2^53, strings, arrays), for
 *   `dump` and tests. Allocates.
 *
 * All readers take the field's offset relative to the payload start (`TraceRecord.off`) and return 0 / '' for a
 * record too short to hold the field (a truncated record, counted by whoever produced it), never throw.
 */

import type { EventSchema } from './schema.ts';
import type { EventFormat, FieldFormat, TraceRecord } from './types.ts';

/** A field that cannot be read the way it was asked for (missing, wrong kind). Thrown at compile time only. */
export class FieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldError';
  }
}

export type IntReader = (r: TraceRecord) => number;

/** Unsigned halves of a 64-bit value. */
export interface U64Parts {
  hi: number;
  lo: number;
}
export type U64Reader = (r: TraceRecord, out: U64Parts) => void;
export type StringReader = (r: TraceRecord) => string;

const TWO32 = 4294967296;

function field(format: EventFormat, name: string): FieldFormat {
  const f = format.byName.get(name);
  if (f === undefined) throw new FieldError(`${format.system}:${format.name} has no field "${name}"`);
  return f;
}

/**
 * Reader for integer field `name` (1, 2, 4 or 8 bytes; signed or unsigned as the format says). 8-byte values beyond
 * 2^53 come back rounded: use `u64Reader` for addresses and sectors.
 */
export function intReader(format: EventFormat, name: string, schema: EventSchema): IntReader {
  const f = field(format, name);
  if (f.kind !== 'int') throw new FieldError(`${format.name}.${name} is not an integer field (${f.kind})`);
  return intReaderAt(f.offset, f.size, f.signed, schema.littleEndian, `${format.name}.${name}`);
}

/** Integer reader at a raw payload offset (for fields of formats compiled elsewhere, e.g. array elements). */
export function intReaderAt(offset: number, size: number, signed: boolean, le: boolean, what = 'field'): IntReader {
  const end = offset + size;
  switch (size) {
    case 1:
      return signed
        ? (r) => (end <= r.len ? r.view.getInt8(r.off + offset) : 0)
        : (r) => (end <= r.len ? r.view.getUint8(r.off + offset) : 0);
    case 2:
      if (le) {
        return signed
          ? (r) => (end <= r.len ? r.view.getInt16(r.off + offset, true) : 0)
          : (r) => (end <= r.len ? r.view.getUint16(r.off + offset, true) : 0);
      }
      return signed
        ? (r) => (end <= r.len ? r.view.getInt16(r.off + offset, false) : 0)
        : (r) => (end <= r.len ? r.view.getUint16(r.off + offset, false) : 0);
    case 4:
      if (le) {
        return signed
          ? (r) => (end <= r.len ? r.view.getInt32(r.off + offset, true) : 0)
          : (r) => (end <= r.len ? r.view.getUint32(r.off + offset, true) : 0);
      }
      return signed
        ? (r) => (end <= r.len ? r.view.getInt32(r.off + offset, false) : 0)
        : (r) => (end <= r.len ? r.view.getUint32(r.off + offset, false) : 0);
    case 8:
      if (le) {
        return signed
          ? (r) =>
              end <= r.len
                ? r.view.getInt32(r.off + offset + 4, true) * TWO32 + r.view.getUint32(r.off + offset, true)
                : 0
          : (r) =>
              end <= r.len
                ? r.view.getUint32(r.off + offset + 4, true) * TWO32 + r.view.getUint32(r.off + offset, true)
                : 0;
      }
      return signed
        ? (r) =>
            end <= r.len
              ? r.view.getInt32(r.off + offset, false) * TWO32 + r.view.getUint32(r.off + offset + 4, false)
              : 0
        : (r) =>
            end <= r.len
              ? r.view.getUint32(r.off + offset, false) * TWO32 + r.view.getUint32(r.off + offset + 4, false)
              : 0;
    default:
      throw new FieldError(`${what} has size ${size}: not an integer size`);
  }
}

/**
 * Exact reader for integer field `name` into `out.hi`/`out.lo` (unsigned u32 halves). Fields narrower than 8 bytes
 * are zero-extended when unsigned and sign-extended when signed. A record too short gives 0/0.
 */
export function u64Reader(format: EventFormat, name: string, schema: EventSchema): U64Reader {
  const f = field(format, name);
  if (f.kind !== 'int') throw new FieldError(`${format.name}.${name} is not an integer field (${f.kind})`);
  const offset = f.offset;
  const end = offset + f.size;
  const le = schema.littleEndian;
  if (f.size === 8) {
    const hiAt = le ? 4 : 0;
    const loAt = le ? 0 : 4;
    return (r, out) => {
      if (end <= r.len) {
        out.hi = r.view.getUint32(r.off + offset + hiAt, le);
        out.lo = r.view.getUint32(r.off + offset + loAt, le);
      } else {
        out.hi = 0;
        out.lo = 0;
      }
    };
  }
  const narrow = intReaderAt(offset, f.size, f.signed, le, `${format.name}.${name}`);
  return (r, out) => {
    const v = end <= r.len ? narrow(r) : 0;
    out.lo = v >>> 0;
    out.hi = v < 0 ? 0xffffffff : 0;
  };
}

const utf8 = new TextDecoder('utf-8');

/** Bytes `[start, end)` of `bytes` up to the first NUL, as text. */
function cString(bytes: Uint8Array, start: number, end: number): string {
  let e = start;
  while (e < end && bytes[e] !== 0) e++;
  if (e === start) return '';
  return utf8.decode(bytes.subarray(start, e));
}

/**
 * Where a field's data lives in a record: `[start, end)` relative to the payload (clamped to the record length).
 * `__data_loc`: u32 at the field, low 16 bits = offset from the payload start, high 16 = length; `__rel_loc`: the
 * offset counts from the end of the field (libtraceevent TEP_FIELD_IS_RELATIVE); size-2 `__data_loc` (ancient
 * kernels): a bare offset to a NUL-terminated string. Flexible arrays run to the end of the record.
 */
export function fieldSpan(f: FieldFormat, r: TraceRecord, le: boolean, out: { start: number; end: number }): void {
  let start = f.offset;
  let end = f.offset + f.size;
  if (f.kind === 'dynamic' || f.kind === 'rel') {
    if (f.offset + f.size > r.len) {
      start = 0;
      end = 0;
    } else if (f.size === 2) {
      start = r.view.getUint16(r.off + f.offset, le);
      end = r.len;
    } else {
      const w = r.view.getUint32(r.off + f.offset, le);
      start = w & 0xffff;
      if (f.kind === 'rel') start += f.offset + f.size;
      end = start + (w >>> 16);
    }
  } else if (f.kind === 'flex') {
    end = r.len;
  }
  if (end > r.len) end = r.len;
  if (start > end) start = end;
  out.start = start;
  out.end = end;
}

/** Reader for a string field: fixed char array, `__data_loc`/`__rel_loc` char[], or flexible `char x[]`. */
export function stringReader(format: EventFormat, name: string, schema: EventSchema): StringReader {
  const f = field(format, name);
  if (f.kind === 'int') throw new FieldError(`${format.name}.${name} is an integer field, not a string`);
  const le = schema.littleEndian;
  const span = { start: 0, end: 0 };
  return (r) => {
    fieldSpan(f, r, le, span);
    return cString(r.bytes, r.off + span.start, r.off + span.end);
  };
}

export type FieldValue = number | bigint | string | (number | bigint)[];

/** Reads one integer of `size` bytes at absolute `pos` as an exact number (bigint beyond 2^53). */
function readExact(view: DataView, pos: number, size: number, signed: boolean, le: boolean): number | bigint {
  switch (size) {
    case 1:
      return signed ? view.getInt8(pos) : view.getUint8(pos);
    case 2:
      return signed ? view.getInt16(pos, le) : view.getUint16(pos, le);
    case 4:
      return signed ? view.getInt32(pos, le) : view.getUint32(pos, le);
    case 8: {
      const b = signed ? view.getBigInt64(pos, le) : view.getBigUint64(pos, le);
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    }
    default: {
      // Odd sizes (e.g. 3-byte or 16-byte scalars): unsigned big number in file order.
      let v = 0n;
      for (let i = 0; i < size; i++) {
        const byte = BigInt(view.getUint8(pos + (le ? size - 1 - i : i)));
        v = (v << 8n) | byte;
      }
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
  }
}

export type RecordDecoder = (r: TraceRecord) => Record<string, FieldValue>;

/**
 * Full decoder of every field of `format`: integers as numbers (bigint when beyond 2^53), char arrays and dynamic
 * char arrays as strings, other arrays as arrays of numbers. Allocates; for dumps and tests, not the hot path.
 */
export function compileDecoder(format: EventFormat, schema: EventSchema): RecordDecoder {
  const le = schema.littleEndian;
  const fields = format.fields;
  const span = { start: 0, end: 0 };
  return (r) => {
    const out: Record<string, FieldValue> = {};
    for (const f of fields) out[f.name] = fieldValue(r, f, le, span);
    return out;
  };
}

/**
 * One field of a record, decoded whole: an integer (bigint beyond 2^53; 0 when the record is too short), a string, or
 * an array of integers. `span` is scratch space. Allocates; for dumps and tests, not the hot path.
 */
export function fieldValue(
  r: TraceRecord,
  f: FieldFormat,
  le: boolean,
  span: { start: number; end: number } = { start: 0, end: 0 },
): FieldValue {
  if (f.kind === 'int')
    return f.offset + f.size <= r.len ? readExact(r.view, r.off + f.offset, f.size, f.signed, le) : 0;
  fieldSpan(f, r, le, span);
  if (f.isString) return cString(r.bytes, r.off + span.start, r.off + span.end);
  const es = f.elementSize > 0 ? f.elementSize : 1;
  const arr: (number | bigint)[] = [];
  for (let p = span.start; p + es <= span.end; p += es) arr.push(readExact(r.view, r.off + p, es, f.signed, le));
  return arr;
}
