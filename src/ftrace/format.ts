/**
 * Parsers for the kernel's own layout descriptions (DESIGN §3): `events/<system>/<event>/format`, `events/header_page`
 * and `events/header_event`. Pure: they take the text, never a path. Parsing is not a hot path, so these are strict
 * and throw a `FormatError` naming the offending line.
 *
 * Grammar (kernel/trace/trace_events.c `f_show`, ring_buffer.c `ring_buffer_print_page_header`):
 *   name: <event>
 *   ID: <decimal>
 *   format:
 *   \tfield:<C declaration>;\toffset:<n>;\tsize:<n>;\tsigned:<0|1>;     (signed: absent before ~2.6.31)
 *   ...
 *   print fmt: <C-like expression list; may contain newlines inside string literals>
 */
import type { EventFormat, FieldFormat, FieldKind, PageLayout } from './types.ts';

/** A format, header_page or header_event text that cannot be understood. `line` is 1-based (0 = whole text). */
export class FormatError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly text: string,
    readonly source = 'format',
  ) {
    super(`${source}${line > 0 ? `:${line}` : ''}: ${reason}${text ? `: "${text.trim().slice(0, 120)}"` : ''}`);
    this.name = 'FormatError';
  }
}

export interface FormatOptions {
  /** The traced kernel's `long` size, for element sizes of `unsigned long foo[]` flexible arrays. Default 8. */
  longSize?: 4 | 8;
  /** Name used in error messages (e.g. the file path or `sched/sched_switch`). */
  source?: string;
}

const FIELD_LINE = /^\s*field:\s*(.*?);\s*offset:\s*(\d+);\s*size:\s*(\d+);(?:\s*signed:\s*(-?\d+);)?\s*$/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Size in bytes of a C scalar type name, or 0 when unknown (then the format's `size:` is authoritative). */
function typeSize(type: string, longSize: number): number {
  const t = type.replace(/\b(const|volatile|signed|__user|__rcu)\b/g, '').trim();
  if (t.endsWith('*')) return longSize;
  switch (t) {
    case 'char':
    case 'unsigned char':
    case 'u8':
    case 's8':
    case '__u8':
    case '__s8':
    case 'bool':
    case '_Bool':
      return 1;
    case 'short':
    case 'unsigned short':
    case 'short int':
    case 'u16':
    case 's16':
    case '__u16':
    case '__s16':
    case '__be16':
    case '__le16':
      return 2;
    case 'int':
    case 'unsigned int':
    case 'unsigned':
    case 'u32':
    case 's32':
    case '__u32':
    case '__s32':
    case '__be32':
    case '__le32':
    case 'pid_t':
      return 4;
    case 'long long':
    case 'unsigned long long':
    case 'long long int':
    case 'u64':
    case 's64':
    case '__u64':
    case '__s64':
    case '__be64':
    case '__le64':
      return 8;
    case 'long':
    case 'unsigned long':
    case 'long int':
    case 'size_t':
    case 'ssize_t':
    case 'cpumask_t':
      return longSize;
    default:
      return 0;
  }
}

/**
 * Signedness when the format has no `signed:` (kernels before ~2.6.31): pointers, `unsigned ...`, `uN`/`__uN`,
 * `bool`, `size_t` and `dev_t`-like typedefs are unsigned; `char`, `short`, `int`, `long`, `sN`, `pid_t`, `ssize_t`
 * and `loff_t` are signed; anything else (structs, enums, unknown typedefs) unsigned.
 */
export function inferSigned(type: string): boolean {
  const t = type.trim();
  if (t.includes('*') || /\bunsigned\b/.test(t) || /\b(__)?u(8|16|32|64)\b/.test(t) || /\bbool\b/.test(t)) return false;
  if (/\b(signed|char|short|int|long|pid_t|ssize_t|loff_t|off_t|(__)?s(8|16|32|64))\b/.test(t)) return true;
  return false;
}

/** Parses one `field:` line into a FieldFormat. Throws FormatError (without a line number; the caller adds it). */
function parseFieldLine(line: string, lineNo: number, opts: FormatOptions): FieldFormat {
  const source = opts.source ?? 'format';
  const longSize = opts.longSize ?? 8;
  const m = FIELD_LINE.exec(line);
  if (!m) throw new FormatError('malformed field line', lineNo, line, source);
  const decl = m[1].trim();
  const offset = Number(m[2]);
  const size = Number(m[3]);
  const signedText = m[4];

  let kind: FieldKind = 'int';
  let name: string;
  let type: string;
  let count = 0;
  let elementType: string;
  let rest = decl;
  const dyn = /^__data_loc\s+/.exec(rest) ? 'dynamic' : /^__rel_loc\s+/.exec(rest) ? 'rel' : undefined;
  if (dyn !== undefined) {
    rest = rest.replace(/^__(data|rel)_loc\s+/, '');
    // `TYPE[] name` (brackets on the type) or `TYPE name` (cpumask_t, no brackets) or, defensively, `TYPE name[]`.
    let mm = /^(.*?)\s*\[\s*\]\s*([A-Za-z_]\w*)$/.exec(rest);
    if (mm) {
      elementType = mm[1].trim();
      name = mm[2];
    } else if ((mm = /^(.*?)\s*\b([A-Za-z_]\w*)\s*\[\s*\]$/.exec(rest))) {
      elementType = mm[1].trim();
      name = mm[2];
    } else if ((mm = /^(.*?)\s*\b([A-Za-z_]\w*)$/.exec(rest))) {
      elementType = mm[1].trim();
      name = mm[2];
    } else {
      throw new FormatError('cannot find the field name', lineNo, line, source);
    }
    if (elementType === '') throw new FormatError('no type before the field name', lineNo, line, source);
    kind = dyn;
    type = decl.replace(/\s+[A-Za-z_]\w*(\s*\[\s*\])?$/, '').trim();
    if (!/\[\s*\]/.test(type) && /\[\s*\]$/.test(decl)) type = `${type}[]`;
    if (size !== 4 && size !== 2)
      throw new FormatError(`dynamic field must have size 4 (or 2), not ${size}`, lineNo, line, source);
  } else {
    const arr = /^(.*?)\s*\b([A-Za-z_]\w*)\s*\[\s*([^\]]*?)\s*\]$/.exec(rest);
    if (arr) {
      elementType = arr[1].trim();
      name = arr[2];
      type = elementType;
      const lenText = arr[3];
      if (lenText === '' && size === 0) {
        kind = 'flex';
      } else {
        kind = 'array';
        count = /^(0x[0-9a-fA-F]+|\d+)$/.test(lenText) ? Number(lenText) : 0;
        if (count === 0) {
          // `[]` with a size, or a symbolic length: derive the count from the element type.
          const es = typeSize(elementType, longSize);
          count = es > 0 && size % es === 0 ? size / es : size;
        }
      }
    } else {
      const sc = /^(.*?)\s*\b([A-Za-z_]\w*)$/.exec(rest);
      if (!sc) throw new FormatError('cannot find the field name', lineNo, line, source);
      elementType = sc[1].trim();
      name = sc[2];
      type = elementType;
    }
    if (elementType === '') throw new FormatError('no type before the field name', lineNo, line, source);
  }
  if (!IDENT.test(name)) throw new FormatError('bad field name', lineNo, line, source);

  let elementSize: number;
  switch (kind) {
    case 'int':
      elementSize = size;
      break;
    case 'array':
      elementSize = count > 0 ? size / count : size;
      if (!Number.isInteger(elementSize)) elementSize = 1;
      break;
    default: {
      const es = typeSize(elementType, longSize);
      elementSize = es > 0 ? es : 1;
    }
  }
  const signed = signedText !== undefined ? Number(signedText) !== 0 : inferSigned(elementType);
  const isString = kind !== 'int' && /\bchar\b/.test(elementType);
  return {
    name,
    type,
    offset,
    size,
    signed,
    kind,
    elementSize,
    count,
    isString,
    common: name.startsWith('common_'),
  };
}

/**
 * Parses an event `format` file. `system` is the directory name above the event (`sched` for
 * events/sched/sched_switch/format; `ftrace` for the ftrace-internal formats).
 */
export function parseEventFormat(text: string, system: string, opts: FormatOptions = {}): EventFormat {
  const source = opts.source ?? `${system}/format`;
  const lines = text.split('\n');
  let name: string | undefined;
  let id: number | undefined;
  let inFormat = false;
  let printFmt: string | undefined;
  const fields: FieldFormat[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const lineNo = i + 1;
    if (line.trim() === '') continue;
    if (line.startsWith('print fmt:')) {
      printFmt = lines.slice(i).join('\n').slice('print fmt:'.length).trim();
      break;
    }
    if (line.startsWith('name:')) {
      name = line.slice(5).trim();
      if (!/^[\w.:+-]+$/.test(name)) throw new FormatError('bad event name', lineNo, line, source);
      continue;
    }
    if (line.startsWith('ID:')) {
      const t = line.slice(3).trim();
      if (!/^\d+$/.test(t) || Number(t) > 0xffff) throw new FormatError('bad event ID', lineNo, line, source);
      id = Number(t);
      continue;
    }
    if (line.startsWith('format:')) {
      inFormat = true;
      continue;
    }
    if (/^\s*field\s*:/.test(line)) {
      if (!inFormat) throw new FormatError('field before "format:"', lineNo, line, source);
      fields.push(parseFieldLine(line, lineNo, { ...opts, source }));
      continue;
    }
    throw new FormatError('unexpected line', lineNo, line, source);
  }
  if (name === undefined) throw new FormatError('no "name:" line', 0, '', source);
  if (id === undefined) throw new FormatError('no "ID:" line', 0, '', source);
  if (!inFormat) throw new FormatError('no "format:" line', 0, '', source);
  const byName = new Map<string, FieldFormat>();
  for (const f of fields) {
    if (byName.has(f.name)) throw new FormatError(`duplicate field "${f.name}"`, 0, '', source);
    byName.set(f.name, f);
  }
  return { system, name, id, fields, byName, printFmt: printFmt ?? '' };
}

export interface HeaderPageOptions {
  littleEndian: boolean;
  source?: string;
}

/**
 * Parses `events/header_page` (struct buffer_data_page) into a PageLayout. Copes with the kernel's hand-printed
 * quirks: `field: u64 timestamp;` (space after the colon), `overwrite` overlapping `commit` (ignored), and
 * meaningless `signed:` values. The sub-buffer size is `data` offset + size (header + capacity).
 */
export function parseHeaderPage(text: string, opts: HeaderPageOptions): PageLayout {
  const source = opts.source ?? 'header_page';
  const found = new Map<string, FieldFormat>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    if (!/^\s*field\s*:/.test(line)) throw new FormatError('unexpected line', i + 1, line, source);
    const f = parseFieldLine(line, i + 1, { source });
    found.set(f.name, f);
  }
  const ts = found.get('timestamp');
  const commit = found.get('commit');
  const data = found.get('data');
  if (!ts) throw new FormatError('no "timestamp" field', 0, '', source);
  if (!commit) throw new FormatError('no "commit" field', 0, '', source);
  if (!data) throw new FormatError('no "data" field', 0, '', source);
  if (ts.size !== 8) throw new FormatError(`timestamp size ${ts.size}, expected 8`, 0, '', source);
  if (commit.size !== 4 && commit.size !== 8) {
    throw new FormatError(`commit size ${commit.size}, expected 4 or 8`, 0, '', source);
  }
  if (data.offset < commit.offset + commit.size || data.size <= 0) {
    throw new FormatError('data field does not follow commit', 0, '', source);
  }
  return {
    pageSize: data.offset + data.size,
    timestampOffset: ts.offset,
    commitOffset: commit.offset,
    commitSize: commit.size,
    dataOffset: data.offset,
    littleEndian: opts.littleEndian,
  };
}

/** What `events/header_event` says about the record header (the values every kernel since 2.6.31 prints). */
export interface HeaderEvent {
  typeLenBits: number;
  timeDeltaBits: number;
  padding: number;
  timeExtend: number;
  timeStamp: number;
  dataMaxTypeLen: number;
}

/**
 * Recognises `events/header_event`. Throws a FormatError for anything but the compressed 5/27-bit entry header
 * (the pre-2.6.31 layout is not supported).
 */
export function parseHeaderEvent(text: string, source = 'header_event'): HeaderEvent {
  const num = (re: RegExp, what: string, dflt?: number): number => {
    const m = re.exec(text);
    if (!m) {
      if (dflt !== undefined) return dflt;
      throw new FormatError(`no ${what}`, 0, text.split('\n')[0] ?? '', source);
    }
    return Number(m[1]);
  };
  const h: HeaderEvent = {
    typeLenBits: num(/type_len\s*:\s*(\d+)\s*bits/, 'type_len width'),
    timeDeltaBits: num(/time_delta\s*:\s*(\d+)\s*bits/, 'time_delta width'),
    padding: num(/padding\s*:\s*type\s*==\s*(\d+)/, 'padding type', 29),
    timeExtend: num(/time_extend\s*:\s*type\s*==\s*(\d+)/, 'time_extend type', 30),
    timeStamp: num(/time_stamp\s*:\s*type\s*==\s*(\d+)/, 'time_stamp type', 31),
    dataMaxTypeLen: num(/data max type_len\s*==\s*(\d+)/, 'data max type_len', 28),
  };
  if (
    h.typeLenBits !== 5 ||
    h.timeDeltaBits !== 27 ||
    h.padding !== 29 ||
    h.timeExtend !== 30 ||
    h.timeStamp !== 31 ||
    h.dataMaxTypeLen !== 28
  ) {
    throw new FormatError('unsupported ring-buffer entry header', 0, JSON.stringify(h), source);
  }
  return h;
}

/** How to read `sched_switch.prev_state` (DESIGN §5): blocked = `v & mask`, preempted = `v & preemptBit`. */
export interface TaskStateMask {
  mask: number;
  preemptBit: number;
  /** State letters by bit value, in print order (`[1,'S'], [2,'D'], ...`). */
  letters: [number, string][];
}

const DEFAULT_LETTERS: [number, string][] = [
  [0x01, 'S'],
  [0x02, 'D'],
  [0x04, 'T'],
  [0x08, 't'],
  [0x10, 'X'],
  [0x20, 'Z'],
  [0x40, 'P'],
  [0x80, 'I'],
];

/** Evaluates a small integer C expression: numbers, ( ), | & ^ + - << >> ~. Returns undefined when it cannot. */
export function evalIntExpr(src: string): number | undefined {
  const toks = src.match(/0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|<<|>>|[()|&^+\-~]|\S/g) ?? [];
  let i = 0;
  const num = (t: string) => Number(t.replace(/[uUlL]+$/, ''));
  // Precedence (low→high): | ^ & shift additive unary
  const prim = (): number | undefined => {
    const t = toks[i++];
    if (t === undefined) return undefined;
    if (t === '(') {
      const v = or();
      if (toks[i++] !== ')') return undefined;
      return v;
    }
    if (t === '~') {
      const v = prim();
      return v === undefined ? undefined : ~v >>> 0;
    }
    if (t === '-') {
      const v = prim();
      return v === undefined ? undefined : -v;
    }
    if (/^\d|^0[xX]/.test(t)) return num(t);
    return undefined;
  };
  const bin = (next: () => number | undefined, ops: string[], apply: (a: number, op: string, b: number) => number) => {
    return (): number | undefined => {
      let a = next();
      while (a !== undefined && i < toks.length && ops.includes(toks[i])) {
        const op = toks[i++];
        const b = next();
        if (b === undefined) return undefined;
        a = apply(a, op, b);
      }
      return a;
    };
  };
  const add = bin(prim, ['+', '-'], (a, op, b) => (op === '+' ? a + b : a - b));
  const shift = bin(add, ['<<', '>>'], (a, op, b) => (op === '<<' ? a * 2 ** b : Math.floor(a / 2 ** b)));
  const and = bin(shift, ['&'], (a, _op, b) => Number(BigInt(a) & BigInt(b)));
  const xor = bin(and, ['^'], (a, _op, b) => Number(BigInt(a) ^ BigInt(b)));
  const or = bin(xor, ['|'], (a, _op, b) => Number(BigInt(a) | BigInt(b)));
  const v = or();
  if (v === undefined || i !== toks.length || !Number.isSafeInteger(v)) return undefined;
  return v;
}

/** The text of the parenthesised group starting at `s[open]` (which must be '('), without the outer parens. */
function group(s: string, open: number): string | undefined {
  let depth = 0;
  for (let j = open; j < s.length; j++) {
    if (s[j] === '(') depth++;
    else if (s[j] === ')') {
      depth--;
      if (depth === 0) return s.slice(open + 1, j);
    }
  }
  return undefined;
}

/**
 * Reads the `prev_state` state mask, preemption bit and letters out of sched_switch's `print fmt`
 * (include/trace/events/sched.h: `__print_flags(REC->prev_state & (MASK), "|", {1,"S"}, ...)` and
 * `REC->prev_state & (BIT) ? "+" : ""`). Falls back to 0xff / 0x100 / SDTtXZPI (6.x kernels) for what it cannot read.
 */
export function parseTaskStateMask(printFmt: string): TaskStateMask {
  let mask: number | undefined;
  let preemptBit: number | undefined;
  let letters: [number, string][] | undefined;
  const pf = printFmt.indexOf('__print_flags(');
  if (pf >= 0) {
    const inner = group(printFmt, pf + '__print_flags'.length);
    if (inner !== undefined) {
      const m = /REC->prev_state\s*&\s*/.exec(inner);
      if (m) {
        const start = m.index + m[0].length;
        let exprText: string | undefined;
        if (inner[start] === '(') exprText = group(inner, start);
        else exprText = /^[^,]+/.exec(inner.slice(start))?.[0];
        if (exprText !== undefined) mask = evalIntExpr(exprText);
      }
      const table: [number, string][] = [];
      const re = /\{\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\s*,\s*"([^"]*)"\s*\}/g;
      for (let mm = re.exec(inner); mm; mm = re.exec(inner)) table.push([Number(mm[1]), mm[2]]);
      if (table.length > 0) letters = table;
    }
  }
  // The preemption marker: `REC->prev_state & EXPR ? "+" : ""` (the last `? "+"` in the text).
  const plus = printFmt.lastIndexOf('? "+"');
  if (plus >= 0) {
    const before = printFmt.slice(0, plus);
    const at = before.lastIndexOf('REC->prev_state');
    if (at >= 0) {
      const m = /^REC->prev_state\s*&\s*/.exec(before.slice(at));
      if (m) preemptBit = evalIntExpr(before.slice(at + m[0].length));
    }
  }
  if (mask === undefined || mask <= 0) mask = 0xff;
  if (preemptBit === undefined || preemptBit <= 0) preemptBit = 0x100;
  return { mask, preemptBit, letters: letters ?? DEFAULT_LETTERS.map(([v, l]) => [v, l]) };
}

/** `prev_state` as the kernel's text prints it: `R`, `S`, `D|K`, `R+`, ... */
export function formatTaskState(value: number, m: TaskStateMask): string {
  const s = value & m.mask;
  let out = '';
  if (s === 0) out = 'R';
  else {
    for (const [bit, letter] of m.letters) {
      if (s & bit) out += out === '' ? letter : `|${letter}`;
    }
    if (out === '') out = 'R';
  }
  if (value & m.preemptBit) out += '+';
  return out;
}
