/**
 * Straight-line JavaScript for simple event programs, generated once per event class at open (as msgpackr and
 * HdrHistogramJS do for their hot paths). A run of fixed-size fields whose padding is known statically becomes one
 * bounds check and reads at constant offsets; there is no per-field dispatch. Programs with variants, loops,
 * sequences, bit fields or clock roles are left to the interpreter (`StreamDecoder.exec`), which gives the same
 * result.
 *
 * Only numbers taken from the compiled program (checked to be integers) are written into the generated source: no
 * name or string from the metadata reaches it.
 */
import {
  F_BE,
  F_CLOCK,
  F_CLOCK_SET,
  F_CLOCKMAP,
  F_FIXED,
  F_RWBS,
  F_RWBS_OLD,
  F_SIGNED,
  F_ZERO,
  MAX_PAYLOAD,
  OP_ALIGN,
  OP_BEGIN,
  OP_BYTES,
  OP_CONST,
  OP_END,
  OP_INT,
  OP_SKIP,
  OP_STRING,
  S_A,
  S_ALIGN,
  S_AUX,
  S_DST,
  S_DSTSIZE,
  S_FLAGS,
  S_REG,
  ST_OK,
  ST_OVERFLOW,
  W,
} from './ops.ts';

/** State the generated code reads and writes back. */
export interface GenState {
  pos: number;
  dyn: number;
  truncated: number;
}

export type RwbsFn = (v: number, old: boolean, out: Uint8Array, dst: number, size: number) => void;

/** A generated decoder: decodes from `pos`, writes `st.pos`/`st.dyn`, returns ST_OK or an error status. */
export type GeneratedDecoder = (
  st: GenState,
  buf: Uint8Array,
  dv: DataView,
  base: number,
  pos: number,
  end: number,
  out: Uint8Array,
  odv: DataView,
  regs: Float64Array,
) => number;

function n(v: number): string {
  if (!Number.isInteger(v)) throw new Error(`codegen: not an integer: ${v}`);
  return String(v);
}

/** Emit-to-output statement for a value held in lo/hi locals. */
function emitCode(dst: number, size: number, lo: string, hi: string): string {
  switch (size) {
    case 8:
      return `odv.setInt32(${n(dst)}, ${lo} | 0, true); odv.setInt32(${n(dst + 4)}, ${hi} | 0, true);`;
    case 4:
      return `odv.setInt32(${n(dst)}, ${lo} | 0, true);`;
    case 2:
      return `odv.setInt16(${n(dst)}, ${lo} | 0, true);`;
    case 1:
      return `odv.setInt8(${n(dst)}, ${lo} | 0);`;
    default:
      return '';
  }
}

/** Generates a decoder for `code`, or returns undefined when the program uses what only the interpreter handles. */
export function generate(code: Int32Array, rwbs: RwbsFn): GeneratedDecoder | undefined {
  const lines: string[] = [];
  let known = 1; // pos is statically a multiple of `known` bits
  let tmp = 0;
  let pc = 0;
  // a pending run of fixed-size fields: statements use `p` (byte index of the run start)
  let run: string[] = [];
  let runBits = 0;
  let runAlign = 1;
  const flush = () => {
    if (runBits === 0 && run.length === 0) return;
    lines.push(`if (pos + ${n(runBits)} > end) { st.pos = pos; return ${ST_OVERFLOW}; }`);
    lines.push('p = base + (pos >>> 3);');
    lines.push(...run);
    lines.push(`pos += ${n(runBits)};`);
    // after the run, pos keeps the alignment common to its start and its length
    let a = runAlign;
    while (a > 1 && runBits % a !== 0) a >>= 1;
    known = a;
    run = [];
    runBits = 0;
    runAlign = 1;
  };
  /** Places a fixed field of `bits` aligned on `align` in the current run; returns its bit offset, or -1. */
  const place = (align: number, bits: number): number => {
    if (run.length === 0 && runBits === 0) {
      if (align > known) {
        lines.push(`pos = (pos + ${n(align - 1)}) & ${n(~(align - 1))};`);
        known = align;
      }
      runAlign = known;
    } else if (align > runAlign) {
      flush();
      return place(align, bits);
    }
    const off = Math.ceil(runBits / align) * align;
    runBits = off + bits;
    return off;
  };
  for (;;) {
    const op = code[pc];
    if (op === OP_END) {
      flush();
      lines.push('st.pos = pos; st.dyn = dyn;', `return ${ST_OK};`);
      break;
    }
    const align = code[pc + S_ALIGN];
    const a = code[pc + S_A];
    const flags = code[pc + S_FLAGS];
    const reg = code[pc + S_REG];
    const dst = code[pc + S_DST];
    const dsize = code[pc + S_DSTSIZE];
    switch (op) {
      case OP_BEGIN:
        lines.push(`odv.setUint32(0, ${n(a)}, true); odv.setInt32(4, 0, true); dyn = ${n(dsize)};`);
        if (flags & F_ZERO) lines.push(`out.fill(0, 8, ${n(dsize)});`);
        break;
      case OP_ALIGN:
        if (align > known) {
          flush();
          lines.push(`pos = (pos + ${n(align - 1)}) & ${n(~(align - 1))};`);
          known = align;
        }
        break;
      case OP_SKIP:
        place(align, a);
        break;
      case OP_CONST:
        lines.push(emitCode(dst, dsize, n(a), n(code[pc + S_AUX])));
        break;
      case OP_INT: {
        // Clock roles, and clock-mapped values `StreamDecoder.onClock64` reports: the interpreter.
        if (flags & (F_CLOCK | F_CLOCK_SET | F_CLOCKMAP)) return undefined;
        const off = place(align, a) / 8;
        const le = (flags & F_BE) === 0;
        const signed = (flags & F_SIGNED) !== 0;
        const lo = `l${tmp}`;
        const hi = `h${tmp++}`;
        const at = `p + ${n(off)}`;
        if (a === 64) {
          run.push(
            `const ${lo} = dv.getUint32(${le ? at : `${at} + 4`}, ${le});`,
            `const ${hi} = dv.${signed ? 'getInt32' : 'getUint32'}(${le ? `${at} + 4` : at}, ${le});`,
          );
        } else {
          const get =
            a === 32
              ? signed
                ? 'getInt32'
                : 'getUint32'
              : a === 16
                ? signed
                  ? 'getInt16'
                  : 'getUint16'
                : signed
                  ? 'getInt8'
                  : 'getUint8';
          run.push(`const ${lo} = dv.${get}(${at}${a === 8 ? '' : `, ${le}`});`);
          run.push(`const ${hi} = ${signed ? `${lo} < 0 ? -1 : 0` : '0'};`);
        }
        if (dst >= 0) {
          if (flags & F_RWBS)
            run.push(`rwbs(${lo} >>> 0, ${(flags & F_RWBS_OLD) !== 0}, out, ${n(dst)}, ${n(dsize)});`);
          else run.push(emitCode(dst, dsize, lo, hi));
        }
        if (reg >= 0) {
          run.push(
            signed
              ? `regs[${n(reg)}] = ${hi} * 4294967296 + (${lo} >>> 0);`
              : `regs[${n(reg)}] = (${hi} >>> 0) * 4294967296 + (${lo} >>> 0);`,
          );
        }
        break;
      }
      case OP_BYTES: {
        const off = place(align, a * 8) / 8;
        if (dst >= 0) {
          const c = Math.min(a, dsize);
          // Byte loops, not `out.set(buf.subarray(...))`: a subarray is an object allocated per event.
          if (c > 0) run.push(`for (let k = 0; k < ${n(c)}; k++) out[${n(dst)} + k] = buf[p + ${n(off)} + k];`);
          if (dsize > c) run.push(`out.fill(0, ${n(dst + c)}, ${n(dst + dsize)});`);
        }
        if (reg >= 0) run.push(`regs[${n(reg)}] = p + ${n(off)}; regs[${n(reg + 1)}] = ${n(a)};`);
        break;
      }
      case OP_STRING: {
        flush();
        if (known < 8) lines.push('pos = (pos + 7) & -8;');
        const t = tmp++;
        lines.push(
          `{ const s${t} = base + (pos >>> 3); const lim${t} = base + (end >>> 3); let q${t} = s${t};`,
          `while (q${t} < lim${t} && buf[q${t}] !== 0) q${t}++;`,
          `if (q${t} >= lim${t}) { st.pos = pos; return ${ST_OVERFLOW}; }`,
        );
        if (dst >= 0 && flags & F_FIXED) {
          lines.push(
            `const c${t} = Math.min(q${t} - s${t}, ${n(dsize - 1)});`,
            `for (let k = 0; k < c${t}; k++) out[${n(dst)} + k] = buf[s${t} + k];`,
            `out.fill(0, ${n(dst)} + c${t}, ${n(dst + dsize)});`,
          );
        } else if (dst >= 0) {
          lines.push(
            `let m${t} = q${t} - s${t} + 1;`,
            `if (dyn + m${t} > ${MAX_PAYLOAD}) { m${t} = ${MAX_PAYLOAD} - dyn; st.truncated++; }`,
            `if (m${t} > 0) { for (let k = 0; k < m${t} - 1; k++) out[dyn + k] = buf[s${t} + k]; out[dyn + m${t} - 1] = 0; } else m${t} = 0;`,
            `odv.setUint32(${n(dst)}, m${t} * 65536 + dyn, true); dyn += m${t};`,
          );
        }
        if (reg >= 0) lines.push(`regs[${n(reg)}] = s${t}; regs[${n(reg + 1)}] = q${t} - s${t};`);
        lines.push(`pos = (q${t} + 1 - base) * 8; }`);
        known = 8;
        break;
      }
      default:
        return undefined; // bit fields, arrays of wider integers, sequences, variants, loops: the interpreter
    }
    pc += W;
  }
  const body = [
    '"use strict";',
    'return function decode(st, buf, dv, base, pos, end, out, odv, regs) {',
    'let dyn = 0; let p = 0;', // event programs start with BEGIN, which sets dyn
    ...lines,
    '};',
  ].join('\n');
  return new Function('rwbs', body)(rwbs) as GeneratedDecoder;
}
