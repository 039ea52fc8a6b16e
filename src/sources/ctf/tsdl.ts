/**
 * TSDL (CTF 1.8 §7) parser: metadata text → `CtfTrace`. Pure: it is given the text and a function that turns a text
 * position into a file location for error messages; it opens nothing.
 *
 * Covers what LTTng (modules 2.1–2.13) and other CTF 1.8 producers emit: comments, `typealias` (multi-word names),
 * `typedef`, `integer`/`floating_point`/`string`/`enum`/`struct`/`variant` specifiers (named and anonymous, `align(N)`,
 * enum ranges `a ... b` and quoted labels), fixed arrays and sequences (relative or absolute length paths), nested
 * type scopes, and the `trace`/`env`/`clock`/`stream`/`event`/`callsite` blocks. Unknown `key = value;` entries
 * inside blocks are ignored, as the spec asks of readers.
 */
import { CtfMetadataError } from './errors.ts';
import type {
  ByteOrder,
  CtfClock,
  CtfEventClass,
  CtfStreamClass,
  CtfTrace,
  CtfType,
  EnumEntry,
  EnumType,
  IntType,
  StructField,
  StructType,
  VariantType,
} from './types.ts';

/** Maps a position in the metadata text to the file and byte offset it came from (packetized metadata moves it). */
export type TextLocator = (pos: number) => { file: string; offset: number };

enum Tok {
  Id,
  Num,
  Str,
  Punct,
  End,
}

interface Token {
  kind: Tok;
  text: string;
  pos: number;
}

/** Deepest nesting of type declarations accepted (a corrupt file must not overflow the stack). */
const MAX_DEPTH = 64;
/** Largest integer size accepted (bits); beyond 64 bits only byte-aligned whole bytes, decoded as opaque bytes. */
const MAX_INT_BITS = 1 << 16;
/** Largest static array length accepted. */
const MAX_ARRAY_LENGTH = 1 << 24;
/** Largest event or stream id accepted. */
export const MAX_ID = 1 << 20;

const PUNCT1 = '{}[]()<>;:=,.-+*';

function lex(text: string, fail: (pos: number, msg: string) => never): Token[] {
  const toks: Token[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    // whitespace (and NUL padding some writers leave at the end of the last packet)
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0) {
      i++;
      continue;
    }
    if (c === 47 /* / */ && text.charCodeAt(i + 1) === 42 /* * */) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) fail(i, 'unterminated comment');
      i = end + 2;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 47) {
      const end = text.indexOf('\n', i + 2);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || (d >= 48 && d <= 57) || d === 95) j++;
        else break;
      }
      toks.push({ kind: Tok.Id, text: text.slice(i, j), pos: i });
      i = j;
      continue;
    }
    if (c >= 48 && c <= 57) {
      let j = i + 1;
      if (c === 48 && (text.charCodeAt(j) | 32) === 120 /* x */) {
        j++;
        for (;;) {
          const d = text.charCodeAt(j);
          if ((d >= 48 && d <= 57) || ((d | 32) >= 97 && (d | 32) <= 102)) j++;
          else break;
        }
      } else {
        while (j < n && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
      }
      const digits = text.slice(i, j);
      if (digits.length === 2 && (digits.charCodeAt(1) | 32) === 120) fail(i, `'${digits}' has no hex digits`);
      if (c === 48 && /[89]/.test(digits) && (digits.charCodeAt(1) | 32) !== 120) {
        fail(i, `'${digits}' is not an octal number`);
      }
      // C integer suffixes (u, l)
      while (j < n && ((text.charCodeAt(j) | 32) === 117 || (text.charCodeAt(j) | 32) === 108)) j++;
      toks.push({ kind: Tok.Num, text: digits, pos: i });
      i = j;
      continue;
    }
    if (c === 34 /* " */ || c === 39 /* ' */) {
      let j = i + 1;
      let s = '';
      while (j < n && text.charCodeAt(j) !== c) {
        if (text[j] === '\\' && j + 1 < n) {
          const e = text[j + 1];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === '0' ? '\0' : e;
          j += 2;
        } else {
          s += text[j];
          j++;
        }
      }
      if (j >= n) fail(i, 'unterminated string');
      toks.push({ kind: Tok.Str, text: s, pos: i });
      i = j + 1;
      continue;
    }
    if (c === 46 /* . */ && text.charCodeAt(i + 1) === 46 && text.charCodeAt(i + 2) === 46) {
      toks.push({ kind: Tok.Punct, text: '...', pos: i });
      i += 3;
      continue;
    }
    if (c === 58 /* : */ && text.charCodeAt(i + 1) === 61 /* = */) {
      toks.push({ kind: Tok.Punct, text: ':=', pos: i });
      i += 2;
      continue;
    }
    if (PUNCT1.includes(text[i])) {
      toks.push({ kind: Tok.Punct, text: text[i], pos: i });
      i++;
      continue;
    }
    fail(i, `unexpected character ${JSON.stringify(text[i])}`);
  }
  toks.push({ kind: Tok.End, text: '<end of metadata>', pos: n });
  return toks;
}

/** A block entry value: integer (exact), string, or identifier path (`clock.monotonic.value`, `le`, `true`). */
type Value = { kind: 'int'; v: bigint } | { kind: 'str'; v: string } | { kind: 'path'; v: string };

const TYPE_KEYWORDS = new Set([
  'integer',
  'floating_point',
  'string',
  'enum',
  'struct',
  'variant',
  'typealias',
  'typedef',
  'align',
]);

class Parser {
  private i = 0;
  private readonly scopes: Map<string, CtfType>[] = [new Map()];
  private depth = 0;
  readonly trace: CtfTrace = {
    major: 1,
    minor: 8,
    uuid: undefined,
    byteOrder: 'le',
    packetHeader: undefined,
    env: new Map(),
    clocks: new Map(),
    streams: new Map(),
  };
  private sawByteOrder = false;
  private readonly events: { ev: CtfEventClass; pos: number; hasId: boolean }[] = [];

  constructor(
    private readonly text: string,
    private readonly toks: Token[],
    private readonly locate: TextLocator,
  ) {}

  fail(pos: number, msg: string): never {
    throw metadataError(this.text, this.locate, pos, msg);
  }

  private peek(k = 0): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.toks[this.i];
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return (t.kind === Tok.Punct || t.kind === Tok.Id) && t.text === text;
  }
  private expect(text: string): Token {
    const t = this.next();
    if (t.text !== text || (t.kind !== Tok.Punct && t.kind !== Tok.Id)) {
      this.fail(t.pos, `expected '${text}' but found ${describe(t)}`);
    }
    return t;
  }
  private ident(): Token {
    const t = this.next();
    if (t.kind !== Tok.Id) this.fail(t.pos, `expected a name but found ${describe(t)}`);
    return t;
  }

  // --- scopes -----------------------------------------------------------------------------------------------

  private lookup(key: string): CtfType | undefined {
    for (let s = this.scopes.length - 1; s >= 0; s--) {
      const t = this.scopes[s].get(key);
      if (t !== undefined) return t;
    }
    return undefined;
  }
  private define(key: string, t: CtfType): void {
    this.scopes[this.scopes.length - 1].set(key, t);
  }
  private pushScope(): void {
    this.scopes.push(new Map());
  }
  private popScope(): void {
    this.scopes.pop();
  }

  // --- top level ----------------------------------------------------------------------------------------------

  parse(): CtfTrace {
    while (this.peek().kind !== Tok.End) {
      const t = this.peek();
      if (t.kind === Tok.Punct && t.text === ';') {
        this.next();
        continue;
      }
      if (t.kind === Tok.Id && this.is('{', 1)) {
        switch (t.text) {
          case 'trace':
          case 'env':
          case 'clock':
          case 'stream':
          case 'event':
          case 'callsite':
            this.next();
            this.block(t.text, t.pos);
            continue;
        }
      }
      if (this.is('typealias')) {
        this.typealias();
        continue;
      }
      if (this.is('typedef')) {
        this.typedef();
        continue;
      }
      // A named type declaration: `struct name { ... } align(8);`, `enum name : t { ... };`, `variant name { ... };`
      if (t.kind === Tok.Id && (t.text === 'struct' || t.text === 'enum' || t.text === 'variant')) {
        this.typeSpec(false);
        this.expect(';');
        continue;
      }
      this.fail(t.pos, `unexpected ${describe(t)} at top level`);
    }
    return this.finish();
  }

  private finish(): CtfTrace {
    const tr = this.trace;
    if (!this.sawByteOrder) this.fail(0, 'the trace block declares no byte_order');
    if (tr.streams.size === 0) {
      tr.streams.set(0, {
        id: 0,
        packetContext: undefined,
        eventHeader: undefined,
        eventContext: undefined,
        events: new Map(),
      });
    }
    for (const { ev, pos, hasId } of this.events) {
      const s = tr.streams.get(ev.streamId);
      if (s === undefined) this.fail(pos, `event "${ev.name}" refers to stream ${ev.streamId}, which is not declared`);
      if (!hasId) {
        let id = 0;
        while (s.events.has(id)) id++;
        ev.id = id;
      }
      if (s.events.has(ev.id)) this.fail(pos, `event "${ev.name}": id ${ev.id} already used in stream ${s.id}`);
      s.events.set(ev.id, ev);
    }
    return tr;
  }

  private typealias(): void {
    this.expect('typealias');
    const t = this.typeSpec(false);
    this.expect(':=');
    const words: string[] = [];
    while (this.peek().kind === Tok.Id || this.is('*')) words.push(this.next().text);
    if (words.length === 0) this.fail(this.peek().pos, 'typealias without a name');
    this.expect(';');
    this.define(words.join(' '), t);
  }

  private typedef(): void {
    this.expect('typedef');
    const base = this.typeSpec(true);
    const d = this.declarator(base);
    this.expect(';');
    this.define(d.name, d.type);
  }

  // --- blocks ----------------------------------------------------------------------------------------------------

  private block(kind: string, pos: number): void {
    this.expect('{');
    this.pushScope();
    const values = new Map<string, { v: Value; pos: number }>();
    const types = new Map<string, { t: CtfType; pos: number }>();
    while (!this.is('}')) {
      if (this.skipDeclaration(`${kind} block`)) continue;
      const start = this.peek();
      const path = this.path();
      if (this.is(':=')) {
        this.next();
        const t = this.typeSpec(false);
        types.set(path, { t, pos: start.pos });
      } else if (this.is('=')) {
        this.next();
        values.set(path, { v: this.value(), pos: start.pos });
      } else {
        this.fail(this.peek().pos, `expected '=' or ':=' after "${path}" in ${kind} block`);
      }
      this.expect(';');
    }
    this.expect('}');
    this.popScope();
    if (this.is(';')) this.next();
    switch (kind) {
      case 'trace':
        this.traceBlock(values, types);
        break;
      case 'env':
        for (const [k, { v }] of values) {
          if (v.kind === 'int') {
            const n = Number(v.v);
            this.trace.env.set(k, Number.isSafeInteger(n) ? n : v.v.toString());
          } else this.trace.env.set(k, v.v);
        }
        break;
      case 'clock':
        this.clockBlock(values, pos);
        break;
      case 'stream':
        this.streamBlock(values, types, pos);
        break;
      case 'event':
        this.eventBlock(values, types, pos);
        break;
      // callsite: nothing to keep
    }
  }

  private traceBlock(
    values: Map<string, { v: Value; pos: number }>,
    types: Map<string, { t: CtfType; pos: number }>,
  ): void {
    const tr = this.trace;
    const major = values.get('major');
    if (major) tr.major = this.intValue(major.v, major.pos, 'major');
    const minor = values.get('minor');
    if (minor) tr.minor = this.intValue(minor.v, minor.pos, 'minor');
    if (tr.major !== 1) this.fail(major?.pos ?? 0, `CTF version ${tr.major}.${tr.minor} is not supported (1.8 is)`);
    const uuid = values.get('uuid');
    if (uuid) tr.uuid = parseUuid(uuid.v.v.toString()) ?? this.fail(uuid.pos, `bad uuid "${uuid.v.v}"`);
    const bo = values.get('byte_order');
    if (bo) {
      const order = this.byteOrder(bo);
      if (order === 'native') this.fail(bo.pos, 'the trace byte_order cannot be "native"');
      tr.byteOrder = order;
      this.sawByteOrder = true;
    }
    const ph = types.get('packet.header');
    if (ph) tr.packetHeader = this.structOf(ph.t, ph.pos, 'packet.header');
  }

  private clockBlock(values: Map<string, { v: Value; pos: number }>, pos: number): void {
    const name = values.get('name');
    if (!name) this.fail(pos, 'clock without a name');
    const c: CtfClock = {
      name: name.v.v.toString(),
      freq: 1_000_000_000n,
      offset: 0n,
      offsetSeconds: 0n,
      description: undefined,
    };
    const freq = values.get('freq');
    if (freq) {
      if (freq.v.kind !== 'int' || freq.v.v <= 0n) this.fail(freq.pos, 'clock freq must be a positive integer');
      c.freq = freq.v.v;
    }
    const off = values.get('offset');
    if (off) c.offset = this.bigValue(off.v, off.pos, 'clock offset');
    const offS = values.get('offset_s');
    if (offS) c.offsetSeconds = this.bigValue(offS.v, offS.pos, 'clock offset_s');
    const d = values.get('description');
    if (d) c.description = d.v.v.toString();
    this.trace.clocks.set(c.name, c);
  }

  private streamBlock(
    values: Map<string, { v: Value; pos: number }>,
    types: Map<string, { t: CtfType; pos: number }>,
    pos: number,
  ): void {
    const idv = values.get('id');
    const id = idv ? this.intValue(idv.v, idv.pos, 'stream id') : 0;
    if (id < 0 || id > MAX_ID) this.fail(idv?.pos ?? pos, `stream id ${id} out of range`);
    if (this.trace.streams.has(id)) this.fail(pos, `stream ${id} declared twice`);
    const get = (k: string) => {
      const e = types.get(k);
      return e ? this.structOf(e.t, e.pos, k) : undefined;
    };
    this.trace.streams.set(id, {
      id,
      packetContext: get('packet.context'),
      eventHeader: get('event.header'),
      eventContext: get('event.context'),
      events: new Map(),
    } satisfies CtfStreamClass);
  }

  private eventBlock(
    values: Map<string, { v: Value; pos: number }>,
    types: Map<string, { t: CtfType; pos: number }>,
    pos: number,
  ): void {
    const name = values.get('name');
    if (!name) this.fail(pos, 'event without a name');
    const idv = values.get('id');
    const id = idv ? this.intValue(idv.v, idv.pos, 'event id') : 0;
    if (id < 0 || id > MAX_ID) this.fail(idv?.pos ?? pos, `event id ${id} out of range (0..${MAX_ID})`);
    const sv = values.get('stream_id');
    const streamId = sv ? this.intValue(sv.v, sv.pos, 'stream_id') : 0;
    const ctx = types.get('context');
    const fields = types.get('fields');
    this.events.push({
      ev: {
        name: name.v.v.toString(),
        id,
        streamId,
        context: ctx ? this.structOf(ctx.t, ctx.pos, 'event context') : undefined,
        fields: fields ? this.structOf(fields.t, fields.pos, 'event fields') : undefined,
      },
      pos,
      hasId: idv !== undefined,
    });
  }

  private structOf(t: CtfType, pos: number, what: string): StructType {
    if (t.kind !== 'struct') this.fail(pos, `${what} must be a struct`);
    return t;
  }

  // --- values -------------------------------------------------------------------------------------------------------

  private path(): string {
    let p = this.ident().text;
    while (this.is('.')) {
      this.next();
      p += `.${this.ident().text}`;
    }
    return p;
  }

  private value(): Value {
    const t = this.peek();
    if (t.kind === Tok.Punct && (t.text === '-' || t.text === '+')) {
      this.next();
      const n = this.next();
      if (n.kind !== Tok.Num) this.fail(n.pos, `expected a number after '${t.text}'`);
      const v = parseIntText(n.text);
      return { kind: 'int', v: t.text === '-' ? -v : v };
    }
    if (t.kind === Tok.Num) {
      this.next();
      return { kind: 'int', v: parseIntText(t.text) };
    }
    if (t.kind === Tok.Str) {
      this.next();
      return { kind: 'str', v: t.text };
    }
    if (t.kind === Tok.Id) return { kind: 'path', v: this.path() };
    this.fail(t.pos, `expected a value but found ${describe(t)}`);
  }

  private bigValue(v: Value, pos: number, what: string): bigint {
    if (v.kind !== 'int') this.fail(pos, `${what} must be an integer`);
    return v.v;
  }

  private intValue(v: Value, pos: number, what: string): number {
    if (v.kind !== 'int') this.fail(pos, `${what} must be an integer`);
    const n = Number(v.v);
    if (!Number.isSafeInteger(n)) this.fail(pos, `${what} ${v.v} is out of range`);
    return n;
  }

  private attrs(what: string): Map<string, { v: Value; pos: number }> {
    this.expect('{');
    const m = new Map<string, { v: Value; pos: number }>();
    while (!this.is('}')) {
      if (this.peek().kind === Tok.End) this.fail(this.peek().pos, `unterminated ${what}`);
      if (this.is(';')) {
        this.next();
        continue;
      }
      const start = this.peek();
      const key = this.path();
      this.expect('=');
      m.set(key, { v: this.value(), pos: start.pos });
      if (!this.is('}')) this.expect(';');
    }
    this.expect('}');
    return m;
  }

  // --- types -------------------------------------------------------------------------------------------------------

  /**
   * A type specifier. With `declaratorFollows`, a run of plain names leaves its last word for the declarator
   * (`unsigned long _foo;` is type `unsigned long`, field `_foo`).
   */
  private typeSpec(declaratorFollows: boolean): CtfType {
    if (++this.depth > MAX_DEPTH) this.fail(this.peek().pos, `types nested deeper than ${MAX_DEPTH}`);
    try {
      return this.typeSpecInner(declaratorFollows);
    } finally {
      this.depth--;
    }
  }

  private typeSpecInner(declaratorFollows: boolean): CtfType {
    const t = this.peek();
    if (t.kind !== Tok.Id) this.fail(t.pos, `expected a type but found ${describe(t)}`);
    switch (t.text) {
      case 'integer':
        this.next();
        return this.integer(this.attrs('integer'), t.pos);
      case 'floating_point': {
        this.next();
        const a = this.attrs('floating_point');
        const exp = a.get('exp_dig');
        const mant = a.get('mant_dig');
        if (!exp || !mant) this.fail(t.pos, 'floating_point needs exp_dig and mant_dig');
        const expDig = this.intValue(exp.v, exp.pos, 'exp_dig');
        const mantDig = this.intValue(mant.v, mant.pos, 'mant_dig');
        const size = expDig + mantDig;
        if (size !== 32 && size !== 64) this.fail(t.pos, `floating_point of ${size} bits is not supported (32 or 64)`);
        const al = a.get('align');
        const align = al ? this.intValue(al.v, al.pos, 'align') : 8;
        this.checkAlign(align, al?.pos ?? t.pos);
        return { kind: 'float', expDig, mantDig, align, byteOrder: this.byteOrder(a.get('byte_order')) };
      }
      case 'string': {
        this.next();
        let encoding: 'utf8' | 'ascii' = 'utf8';
        if (this.is('{')) {
          const a = this.attrs('string');
          const e = a.get('encoding');
          if (e && e.v.v.toString().toLowerCase() === 'ascii') encoding = 'ascii';
        }
        return { kind: 'string', encoding };
      }
      case 'enum':
        return this.enumSpec();
      case 'struct':
        return this.structSpec();
      case 'variant':
        return this.variantSpec();
    }
    // A type alias: one or more words.
    const start = this.i;
    const words: string[] = [];
    while (this.peek().kind === Tok.Id && !TYPE_KEYWORDS.has(this.peek().text)) words.push(this.next().text);
    if (declaratorFollows && words.length > 1 && !this.is(':=')) {
      words.pop();
      this.i--;
    }
    // Longest known prefix wins (`unsigned long` before `unsigned`).
    for (let n = words.length; n > 0; n--) {
      const found = this.lookup(words.slice(0, n).join(' '));
      if (found !== undefined) {
        this.i = start + n;
        return found;
      }
    }
    this.fail(t.pos, `unknown type "${words.join(' ') || t.text}"`);
  }

  private checkAlign(align: number, pos: number): void {
    if (!Number.isSafeInteger(align) || align < 1 || align > 1 << 16 || (align & (align - 1)) !== 0) {
      this.fail(pos, `bad alignment ${align} (a power of two, in bits)`);
    }
  }

  private byteOrder(e: { v: Value; pos: number } | undefined): ByteOrder {
    if (!e) return 'native';
    const s = e.v.v.toString();
    if (s === 'le' || s === 'little') return 'le';
    if (s === 'be' || s === 'big' || s === 'network') return 'be';
    if (s === 'native') return 'native';
    this.fail(e.pos, `bad byte_order "${s}"`);
  }

  private integer(a: Map<string, { v: Value; pos: number }>, pos: number): IntType {
    const sz = a.get('size');
    if (!sz) this.fail(pos, 'integer without a size');
    const size = this.intValue(sz.v, sz.pos, 'size');
    if (size < 1 || size > MAX_INT_BITS) this.fail(sz.pos, `integer size ${size} out of range`);
    const al = a.get('align');
    const align = al ? this.intValue(al.v, al.pos, 'align') : size % 8 === 0 ? 8 : 1;
    this.checkAlign(align, al?.pos ?? pos);
    if (size > 64 && (size % 8 !== 0 || align % 8 !== 0)) {
      this.fail(sz.pos, `integer of ${size} bits must be byte-aligned whole bytes`);
    }
    let signed = false;
    const sg = a.get('signed');
    if (sg) {
      const s = sg.v.v.toString().toLowerCase();
      if (s === 'true' || s === '1') signed = true;
      else if (s === 'false' || s === '0') signed = false;
      else this.fail(sg.pos, `bad signed value "${sg.v.v}"`);
    }
    let base = 10;
    const b = a.get('base');
    if (b) {
      const s = b.v.v.toString();
      if (['16', 'hex', 'x', 'X', 'p'].includes(s)) base = 16;
      else if (['8', 'oct', 'o'].includes(s)) base = 8;
      else if (['2', 'binary', 'b'].includes(s)) base = 2;
      else if (['10', 'decimal', 'dec', 'd', 'i', 'u'].includes(s)) base = 10;
      else this.fail(b.pos, `bad base "${s}"`);
    }
    let encoding: IntType['encoding'] = 'none';
    const e = a.get('encoding');
    if (e) {
      const s = e.v.v.toString().toLowerCase();
      if (s === 'utf8') encoding = 'utf8';
      else if (s === 'ascii') encoding = 'ascii';
      else if (s !== 'none') this.fail(e.pos, `bad encoding "${e.v.v}"`);
    }
    let clock: string | undefined;
    const m = a.get('map');
    if (m) {
      const parts = m.v.v.toString().split('.');
      if (parts.length !== 3 || parts[0] !== 'clock' || parts[2] !== 'value') {
        this.fail(m.pos, `bad map "${m.v.v}" (expected clock.NAME.value)`);
      }
      clock = parts[1];
    }
    return { kind: 'int', size, align, signed, byteOrder: this.byteOrder(a.get('byte_order')), base, encoding, clock };
  }

  private optName(): string | undefined {
    const t = this.peek();
    if (t.kind === Tok.Id && !TYPE_KEYWORDS.has(t.text)) {
      // `struct name` vs `struct { ...`: a name is followed by `{`, `:`, `<`, `align`, or ends the specifier.
      this.next();
      return t.text;
    }
    return undefined;
  }

  private enumSpec(): EnumType {
    const start = this.expect('enum');
    const name = this.optName();
    let container: IntType | undefined;
    if (this.is(':')) {
      this.next();
      const c = this.typeSpec(false);
      if (c.kind !== 'int') this.fail(start.pos, 'enum container must be an integer type');
      container = c;
    }
    if (!this.is('{')) {
      if (name === undefined) this.fail(this.peek().pos, 'enum without a body or a name');
      const t = this.lookup(`enum ${name}`);
      if (t === undefined || t.kind !== 'enum') this.fail(start.pos, `unknown enum "${name}"`);
      return t;
    }
    if (container === undefined) {
      const c = this.lookup('int');
      if (c === undefined || c.kind !== 'int') this.fail(start.pos, 'enum without a container type and no "int" alias');
      container = c;
    }
    this.expect('{');
    const entries: EnumEntry[] = [];
    let nextValue = 0;
    while (!this.is('}')) {
      const lt = this.next();
      if (lt.kind !== Tok.Id && lt.kind !== Tok.Str)
        this.fail(lt.pos, `expected an enum label but found ${describe(lt)}`);
      let lo = nextValue;
      let hi = nextValue;
      if (this.is('=')) {
        this.next();
        const vpos = this.peek().pos;
        lo = this.intValue(this.value(), vpos, 'enum value');
        hi = lo;
        if (this.is('...')) {
          this.next();
          const hpos = this.peek().pos;
          hi = this.intValue(this.value(), hpos, 'enum value');
        }
      }
      if (hi < lo) this.fail(lt.pos, `enum range ${lo} ... ${hi} is empty`);
      entries.push({ label: lt.text, lo, hi });
      nextValue = hi + 1;
      if (!this.is('}')) this.expect(',');
    }
    this.expect('}');
    const t: EnumType = { kind: 'enum', container, entries };
    if (name !== undefined) this.define(`enum ${name}`, t);
    return t;
  }

  private structSpec(): StructType {
    const start = this.expect('struct');
    const name = this.optName();
    let t: StructType;
    const hasBody = this.is('{');
    if (hasBody) {
      t = { kind: 'struct', fields: this.fieldList('struct'), minAlign: 1 };
    } else {
      if (name === undefined) this.fail(this.peek().pos, 'struct without a body or a name');
      const found = this.lookup(`struct ${name}`);
      if (found === undefined || found.kind !== 'struct') this.fail(start.pos, `unknown struct "${name}"`);
      t = found;
    }
    if (this.is('align') && this.is('(', 1)) {
      this.next();
      this.next();
      const n = this.next();
      if (n.kind !== Tok.Num) this.fail(n.pos, 'expected a number in align(...)');
      const a = Number(parseIntText(n.text));
      this.checkAlign(a, n.pos);
      this.expect(')');
      t = { ...t, minAlign: Math.max(t.minAlign, a) };
    }
    if (hasBody && name !== undefined) this.define(`struct ${name}`, t);
    return t;
  }

  private variantSpec(): VariantType {
    const start = this.expect('variant');
    const name = this.optName();
    let tagRef: string | undefined;
    if (this.is('<')) {
      this.next();
      tagRef = this.path();
      this.expect('>');
    }
    if (this.is('{')) {
      const t: VariantType = { kind: 'variant', tagRef, options: this.fieldList('variant') };
      if (name !== undefined) this.define(`variant ${name}`, { ...t, tagRef: undefined });
      return t;
    }
    if (name === undefined) this.fail(this.peek().pos, 'variant without a body or a name');
    const found = this.lookup(`variant ${name}`);
    if (found === undefined || found.kind !== 'variant') this.fail(start.pos, `unknown variant "${name}"`);
    return { ...found, tagRef: tagRef ?? found.tagRef };
  }

  /**
   * Inside a `{ ... }` being read: fails at the end of the text, consumes a stray `;` or a type declaration
   * (`typealias`, `typedef`, which only change the scope), and says whether it did (the caller then loops).
   */
  private skipDeclaration(what: string): boolean {
    if (this.peek().kind === Tok.End) this.fail(this.peek().pos, `unterminated ${what}`);
    if (this.is(';')) this.next();
    else if (this.is('typealias')) this.typealias();
    else if (this.is('typedef')) this.typedef();
    else return false;
    return true;
  }

  /** `{ type declarator, declarator; typealias ...; ... }` of a struct or variant. */
  private fieldList(what: string): StructField[] {
    this.expect('{');
    this.pushScope();
    const fields: StructField[] = [];
    while (!this.is('}')) {
      if (this.skipDeclaration(what)) continue;
      const base = this.typeSpec(true);
      if (this.is(';')) {
        // a named type declared inside a struct, without a field
        this.next();
        continue;
      }
      for (;;) {
        const d = this.declarator(base);
        if (fields.some((f) => f.name === d.name)) this.fail(d.pos, `field "${d.name}" declared twice`);
        fields.push({ name: d.name, type: d.type });
        if (this.is(',')) {
          this.next();
          continue;
        }
        break;
      }
      this.expect(';');
    }
    this.expect('}');
    this.popScope();
    return fields;
  }

  private declarator(base: CtfType): { name: string; type: CtfType; pos: number } {
    const nt = this.ident();
    const dims: ({ n: number } | { ref: string })[] = [];
    while (this.is('[')) {
      this.next();
      const t = this.peek();
      if (t.kind === Tok.Num) {
        this.next();
        const n = Number(parseIntText(t.text));
        if (!Number.isSafeInteger(n) || n > MAX_ARRAY_LENGTH) this.fail(t.pos, `array length ${t.text} too large`);
        dims.push({ n });
      } else if (t.kind === Tok.Id) {
        dims.push({ ref: this.path() });
      } else this.fail(t.pos, `expected an array length but found ${describe(t)}`);
      this.expect(']');
    }
    let type = base;
    for (let k = dims.length - 1; k >= 0; k--) {
      const d = dims[k];
      type =
        'n' in d
          ? { kind: 'array', element: type, length: d.n }
          : { kind: 'sequence', element: type, lengthRef: d.ref };
    }
    return { name: nt.text, type, pos: nt.pos };
  }
}

/** A `CtfMetadataError` at text position `pos`: file and byte offset from `locate`, and the line number. */
function metadataError(text: string, locate: TextLocator, pos: number, msg: string): CtfMetadataError {
  const where = locate(pos);
  let line = 1;
  for (let k = 0; k < pos && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
  return new CtfMetadataError(where.file, where.offset, `metadata line ${line}: ${msg}`);
}

function describe(t: Token): string {
  if (t.kind === Tok.End) return 'the end of the metadata';
  if (t.kind === Tok.Str) return `string "${t.text.slice(0, 40)}"`;
  return `'${t.text.slice(0, 40)}'`;
}

function parseIntText(s: string): bigint {
  if (s.length > 1 && s[0] === '0' && s[1] !== 'x' && s[1] !== 'X') return BigInt(`0o${s.slice(1)}`);
  return BigInt(s);
}

/** `"69861fba-fe44-2b41-b75b-39acaf6930ec"` → 16 bytes in order, or undefined. */
export function parseUuid(s: string): Uint8Array | undefined {
  const hex = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const out = new Uint8Array(16);
  for (let k = 0; k < 16; k++) out[k] = Number.parseInt(hex.slice(2 * k, 2 * k + 2), 16);
  return out;
}

/**
 * Parses TSDL text into a trace model. Throws `CtfMetadataError` (file, byte offset, line, what is wrong) on any
 * syntax error or inconsistent declaration.
 */
export function parseTsdl(text: string, locate: TextLocator): CtfTrace {
  const failLex = (pos: number, msg: string): never => {
    throw metadataError(text, locate, pos, msg);
  };
  const toks = lex(text, failLex);
  return new Parser(text, toks, locate).parse();
}
