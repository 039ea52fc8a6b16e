/**
 * Kernel symbol table from `/proc/kallsyms` text (given as a string: live, or the copy embedded in trace.dat).
 *
 * Lines are `<hex address> <type> <name>[\t[<module>]]`. Like libtraceevent `tep_parse_kallsyms` we skip absolute
 * symbols (types `A`/`a`, e.g. x86-64 per-CPU offsets) and names starting with `$` (ARM mapping symbols). A
 * kallsyms read without privilege (kptr_restrict) has all-zero addresses: zero addresses are skipped, so such a
 * table is empty (`restricted` tells). Lookup is by nearest lower address, exact on 64-bit addresses held as
 * u32 halves in sorted typed arrays.
 */
import type { Symbolizer } from './types.ts';

const TWO32 = 4294967296;

function hex(hi: number, lo: number): string {
  if (hi === 0) return `0x${lo.toString(16)}`;
  return `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}

export class Kallsyms implements Symbolizer {
  /** Sorted addresses, high and low halves. */
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly names: string[];
  /** Module name per symbol ('' for the core kernel). */
  readonly modules: string[];
  /** Lines that carried a zero address (the file was read without privilege when every line does). */
  readonly zeroAddresses: number;
  /** True when the text had symbols but all with zero addresses (kptr_restrict): nothing can be resolved. */
  readonly restricted: boolean;

  private constructor(
    hi: Uint32Array,
    lo: Uint32Array,
    names: string[],
    modules: string[],
    zero: number,
    restricted: boolean,
  ) {
    this.hi = hi;
    this.lo = lo;
    this.names = names;
    this.modules = modules;
    this.zeroAddresses = zero;
    this.restricted = restricted;
  }

  /** Parses kallsyms text. Malformed lines are skipped. */
  static parse(text: string): Kallsyms {
    const his: number[] = [];
    const los: number[] = [];
    const names: string[] = [];
    const mods: string[] = [];
    let zero = 0;
    let total = 0;
    let pos = 0;
    const n = text.length;
    while (pos < n) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = n;
      const line = text.slice(pos, eol);
      pos = eol + 1;
      const sp1 = line.indexOf(' ');
      if (sp1 <= 0 || sp1 > 16) continue;
      const type = line.charCodeAt(sp1 + 1);
      if (line.charCodeAt(sp1 + 2) !== 32) continue;
      if (type === 65 /* A */ || type === 97 /* a */) continue;
      let name = line.slice(sp1 + 3);
      let mod = '';
      const tab = name.indexOf('\t');
      if (tab >= 0) {
        const m = /^\s*\[([^\]]*)\]/.exec(name.slice(tab + 1));
        if (m) mod = m[1];
        name = name.slice(0, tab);
      }
      name = name.trimEnd();
      if (name === '' || name.startsWith('$')) continue;
      const addrText = line.slice(0, sp1);
      if (!/^[0-9a-fA-F]+$/.test(addrText)) continue;
      total++;
      const hiText = addrText.length > 8 ? addrText.slice(0, addrText.length - 8) : '0';
      const loText = addrText.length > 8 ? addrText.slice(addrText.length - 8) : addrText;
      const h = Number.parseInt(hiText, 16);
      const l = Number.parseInt(loText, 16);
      if (h === 0 && l === 0) {
        zero++;
        continue;
      }
      his.push(h);
      los.push(l);
      names.push(name);
      mods.push(mod);
    }
    const order = Array.from({ length: his.length }, (_, i) => i);
    order.sort((a, b) => his[a] - his[b] || los[a] - los[b] || a - b);
    const hi = new Uint32Array(order.length);
    const lo = new Uint32Array(order.length);
    const sn: string[] = new Array(order.length);
    const sm: string[] = new Array(order.length);
    for (let i = 0; i < order.length; i++) {
      const j = order[i];
      hi[i] = his[j];
      lo[i] = los[j];
      sn[i] = names[j];
      sm[i] = mods[j];
    }
    return new Kallsyms(hi, lo, sn, sm, zero, total > 0 && zero === total);
  }

  get size(): number {
    return this.names.length;
  }

  /**
   * Index of the symbol at or below the address, or -1 (below every symbol, or an empty table). Among symbols that
   * share an address (aliases), the first in file order wins, as in `trace-cmd report`.
   */
  find(hi: number, lo: number): number {
    let a = 0;
    let b = this.hi.length - 1;
    let found = -1;
    while (a <= b) {
      const m = (a + b) >>> 1;
      const mh = this.hi[m];
      if (mh < hi || (mh === hi && this.lo[m] <= lo)) {
        found = m;
        a = m + 1;
      } else {
        b = m - 1;
      }
    }
    while (found > 0 && this.hi[found - 1] === this.hi[found] && this.lo[found - 1] === this.lo[found]) found--;
    return found;
  }

  /** `symbol+0xoff` (with ` [module]` for module symbols), or the address in hex when unknown. */
  format(hi: number, lo: number): string {
    const i = this.find(hi, lo);
    if (i < 0) return hex(hi, lo);
    const off = (hi - this.hi[i]) * TWO32 + (lo - this.lo[i]);
    const mod = this.modules[i];
    return `${this.names[i]}+0x${off.toString(16)}${mod ? ` [${mod}]` : ''}`;
  }
}
