/**
 * Just enough of an event's `print fmt` to print fields the way `trace-cmd report -R` does (libtraceevent
 * `print_field`): the format string is cut into literal text and conversions (`%d`, `%03d`, `%llu`, `%p`, `%pS`,
 * `%s`, ...), each conversion paired with its argument expression, and an argument that is a plain field
 * (`REC->name`, maybe behind casts) lends its conversion to that field. Expressions are not evaluated.
 * Used by the line formatter only (not a hot path).
 */

export interface PrintConversion {
  kind: 'conv';
  /** The whole spec, e.g. `%03d`, `%llu`, `%pS`. */
  spec: string;
  flags: string;
  width: number | undefined;
  precision: number | undefined;
  /** libtraceevent's length count: hh = -2, h = -1, none = 0, l = 1, ll/L = 2, z = 1. */
  ls: number;
  /** Conversion letter: d i u x X o c p s. */
  conv: string;
  /** For `%p`: the extension letter after it (S, s, F, f, M, I, U, h, ...), or ''. */
  pointerExt: string;
  /** The argument expression text. */
  arg: string;
  /** The field the argument names (`REC->x`, after casts and parentheses), or undefined. */
  field: string | undefined;
  /** Casts applied to the field, outermost first (`(unsigned char)(int)REC->x` → ['unsigned char', 'int']). */
  casts: string[];
}

export interface PrintLiteral {
  kind: 'text';
  text: string;
}

export type PrintItem = PrintConversion | PrintLiteral;

export interface ParsedPrintFmt {
  items: PrintItem[];
  /** False when the text could not be understood (libtraceevent would flag the event as failed). */
  ok: boolean;
}

/** Reads the leading string literal(s) of a print fmt (adjacent literals concatenate). Returns text and end index. */
function readLiterals(s: string): { text: string; end: number } | undefined {
  let i = 0;
  let text = '';
  let any = false;
  for (;;) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (s[i] !== '"') break;
    any = true;
    i++;
    for (;;) {
      if (i >= s.length) return undefined;
      const ch = s[i];
      if (ch === '"') {
        i++;
        break;
      }
      if (ch === '\\') {
        const n = s[i + 1];
        i += 2;
        if (n === 'n') text += '\n';
        else if (n === 't') text += '\t';
        else if (n === 'r') text += '\r';
        else if (n === undefined) return undefined;
        else text += n;
        continue;
      }
      text += ch;
      i++;
    }
  }
  return any ? { text, end: i } : undefined;
}

/** Splits `a, f(b, c), "x,y"` at top-level commas. */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  let inStr = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (inStr) {
      if (ch === '\\') i++;
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') inStr = true;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = s.slice(start).trim();
  if (last !== '' || out.length > 0) out.push(last);
  return out;
}

const CAST =
  /^\(\s*((?:const\s+|unsigned\s+|signed\s+|struct\s+|enum\s+)*[A-Za-z_]\w*(?:\s+[A-Za-z_]\w*)*\s*\**)\s*\)\s*/;

/** `REC->x` behind casts and parentheses → { field, casts }; anything else → field undefined. */
export function argField(arg: string): { field: string | undefined; casts: string[] } {
  let a = arg.trim();
  const casts: string[] = [];
  for (let guard = 0; guard < 16; guard++) {
    const m = CAST.exec(a);
    if (m && m[0].length < a.length) {
      casts.push(m[1].replace(/\s+/g, ' ').replace(/\s*\*/g, ' *').trim());
      a = a.slice(m[0].length).trim();
      continue;
    }
    if (a.startsWith('(') && a.endsWith(')') && balanced(a.slice(1, -1))) {
      a = a.slice(1, -1).trim();
      continue;
    }
    break;
  }
  const f = /^REC\s*->\s*([A-Za-z_]\w*)$/.exec(a);
  return { field: f ? f[1] : undefined, casts };
}

function balanced(s: string): boolean {
  let d = 0;
  for (const ch of s) {
    if (ch === '(') d++;
    else if (ch === ')' && --d < 0) return false;
  }
  return d === 0;
}

/** Length of the `%p` extension (libtraceevent `parse_arg_format_pointer`). */
function pointerExtLength(f: string): number {
  switch (f[0]) {
    case 'F':
    case 'S':
    case 'f':
    case 's':
      return 1;
    case 'M':
    case 'm':
      return f[1] === 'R' || f[1] === 'F' ? 2 : 1;
    case 'I':
    case 'i': {
      let n = 1;
      let i = 2;
      if (f[1] === 'S') {
        while ('pfs'.includes(f[i] ?? '#')) {
          n++;
          i++;
        }
      }
      if (f[1] === 'S' || f[1] === '4') {
        if ('hnlb'.includes(f[i] ?? '#')) {
          n++;
          i++;
        }
        if (f[1] === '4') return n + 1;
      }
      if (f[1] === 'S' || f[1] === '6') {
        if (f[i] === 'c') n++;
        n++;
      }
      return n;
    }
    case 'U':
      return 'LlBb'.includes(f[1] ?? '#') ? 2 : 1;
    case 'h':
      return 'CDN'.includes(f[1] ?? '#') ? 2 : 1;
    default:
      return 0;
  }
}

/** Parses a `print fmt:` value into literal and conversion items, pairing conversions with arguments. */
export function parsePrintFmt(printFmt: string): ParsedPrintFmt {
  const lit = readLiterals(printFmt);
  if (lit === undefined) return { items: [], ok: false };
  const rest = printFmt.slice(lit.end).trim();
  const args = rest.startsWith(',') ? splitArgs(rest.slice(1)) : rest === '' ? [] : undefined;
  if (args === undefined) return { items: [], ok: false };
  const f = lit.text;
  const items: PrintItem[] = [];
  let ai = 0;
  let ok = true;
  let text = '';
  let i = 0;
  const flush = () => {
    if (text !== '') items.push({ kind: 'text', text });
    text = '';
  };
  while (i < f.length) {
    const ch = f[i];
    if (ch !== '%') {
      text += ch;
      i++;
      continue;
    }
    if (f[i + 1] === '%') {
      text += '%';
      i += 2;
      continue;
    }
    flush();
    const start = i;
    i++;
    let ls = 0;
    let flags = '';
    let width: number | undefined;
    let precision: number | undefined;
    let num = '';
    let inPrec = false;
    let conv = '';
    for (; i < f.length; i++) {
      const c = f[i];
      if (c === '#' || c === '-' || c === '+' || (c === '0' && num === '' && !inPrec)) {
        flags += c;
      } else if (c >= '0' && c <= '9') {
        num += c;
      } else if (c === '.') {
        if (num !== '') width = Number(num);
        num = '';
        inPrec = true;
      } else if (c === 'h') ls--;
      else if (c === 'l') ls++;
      else if (c === 'L') ls = 2;
      else if (c === 'z' || c === 'Z') ls = 1;
      else if (c === '*') {
        if (ai >= args.length) ok = false;
        ai++; // the argument is a width/precision
      } else {
        conv = c;
        i++;
        break;
      }
    }
    if (num !== '') {
      if (inPrec) precision = Number(num);
      else width = Number(num);
    } else if (inPrec) precision = 0;
    let pointerExt = '';
    if (conv === 'p') {
      const n = pointerExtLength(f.slice(i));
      pointerExt = f.slice(i, i + n);
      i += n;
    }
    if ('diuxXocps'.includes(conv) && conv !== '') {
      if (ai >= args.length) {
        ok = false;
        break;
      }
      const arg = args[ai++];
      const { field, casts } = argField(arg);
      items.push({
        kind: 'conv',
        spec: f.slice(start, i),
        flags,
        width,
        precision,
        ls,
        conv,
        pointerExt,
        arg,
        field,
        casts,
      });
    } else {
      items.push({ kind: 'text', text: `>${conv}<` });
    }
  }
  flush();
  return { items, ok };
}

/** C printf of an integer conversion (d i u x X o c) on an exact value already cast to its C type. */
export function formatInt(c: Pick<PrintConversion, 'flags' | 'width' | 'precision' | 'conv'>, v: bigint): string {
  const { flags, width, precision, conv } = c;
  if (conv === 'c') return pad(String.fromCharCode(Number(v & 0xffn)), width, flags.includes('-'), false);
  let neg = false;
  let digits: string;
  let a = v;
  if (a < 0n) {
    neg = true;
    a = -a;
  }
  switch (conv) {
    case 'x':
      digits = a.toString(16);
      break;
    case 'X':
      digits = a.toString(16).toUpperCase();
      break;
    case 'o':
      digits = a.toString(8);
      break;
    default:
      digits = a.toString(10);
  }
  if (precision !== undefined) {
    if (precision === 0 && a === 0n) digits = '';
    else digits = digits.padStart(precision, '0');
  }
  let prefix = '';
  if (neg) prefix = '-';
  else if (flags.includes('+') && (conv === 'd' || conv === 'i')) prefix = '+';
  if (flags.includes('#') && a !== 0n) {
    if (conv === 'x') prefix += '0x';
    else if (conv === 'X') prefix += '0X';
    else if (conv === 'o' && !digits.startsWith('0')) digits = `0${digits}`;
  }
  const left = flags.includes('-');
  const zero = flags.includes('0') && !left && precision === undefined;
  if (zero && width !== undefined && prefix.length + digits.length < width) {
    digits = digits.padStart(width - prefix.length, '0');
  }
  return pad(prefix + digits, width, left, false);
}

function pad(s: string, width: number | undefined, left: boolean, _zero: boolean): string {
  if (width === undefined || s.length >= width) return s;
  return left ? s.padEnd(width, ' ') : s.padStart(width, ' ');
}
