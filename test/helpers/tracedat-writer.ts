/**
 * A minimal trace.dat writer for tests: re-packs real metadata and real ring-buffer pages into the layouts that
 * trace-cmd 3.1.6 cannot make here (v7 zlib, sparse CPU lists) and into very large files (streamed page by page).
 * Layout as trace-cmd writes it (shared/notes/trace-dat-format.md §3, §4, §5, §10).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import type { TraceDatInfo } from '../../src/sources/tracedat/header.ts';

export interface WriterCpu {
  cpu: number;
  /** Whole pages of `pageSize` bytes, produced lazily (files larger than memory). */
  pages(): Iterable<Uint8Array>;
}

export interface WriterBuffer {
  name: string;
  clock: string;
  pageSize: number;
  cpus: WriterCpu[];
}

export interface WriterOptions {
  version: 6 | 7;
  /** v7 only. */
  compression: 'none' | 'zlib';
  meta: Pick<TraceDatInfo, 'headerPage' | 'headerEvent' | 'formats' | 'kallsyms' | 'printk' | 'cmdlines'>;
  cpus: number;
  /** v6: only the first buffer is written, as the top-level one. */
  buffers: WriterBuffer[];
  /** v7 compressed: record each CPU's size 4 bytes short, like trace-cmd before 2023 (default true). */
  offBy4?: boolean;
}

class Out {
  pos = 0;
  constructor(readonly fd: number) {}
  bytes(b: Uint8Array) {
    writeSync(this.fd, b, 0, b.length, this.pos);
    this.pos += b.length;
  }
  u8(v: number) {
    this.bytes(Uint8Array.of(v));
  }
  u16(v: number) {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, true);
    this.bytes(b);
  }
  u32(v: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.bytes(b);
  }
  u64(v: number | bigint) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.bytes(b);
  }
  cstr(s: string) {
    this.bytes(new TextEncoder().encode(`${s}\0`));
  }
  text(s: string) {
    this.bytes(new TextEncoder().encode(s));
  }
  patchU64(at: number, v: number) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    writeSync(this.fd, b, 0, 8, at);
  }
  patchU32(at: number, v: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    writeSync(this.fd, b, 0, 4, at);
  }
  align(n: number) {
    const pad = (n - (this.pos % n)) % n;
    if (pad > 0) this.bytes(new Uint8Array(pad));
  }
}

const enc = new TextEncoder();

function metaBlob(kind: string, meta: WriterOptions['meta']): Uint8Array {
  const parts: Uint8Array[] = [];
  const u32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    parts.push(b);
  };
  const u64 = (v: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    parts.push(b);
  };
  const text = (s: string) => parts.push(enc.encode(s));
  switch (kind) {
    case 'header': {
      text('header_page\0');
      u64(enc.encode(meta.headerPage).length);
      text(meta.headerPage);
      text('header_event\0');
      u64(enc.encode(meta.headerEvent).length);
      text(meta.headerEvent);
      break;
    }
    case 'ftrace': {
      const f = meta.formats.filter((x) => x.system === 'ftrace');
      u32(f.length);
      for (const x of f) {
        u64(enc.encode(x.text).length);
        text(x.text);
      }
      break;
    }
    case 'events': {
      const systems = new Map<string, string[]>();
      for (const x of meta.formats) {
        if (x.system === 'ftrace') continue;
        systems.set(x.system, [...(systems.get(x.system) ?? []), x.text]);
      }
      u32(systems.size);
      for (const [sys, texts] of systems) {
        text(`${sys}\0`);
        u32(texts.length);
        for (const t of texts) {
          u64(enc.encode(t).length);
          text(t);
        }
      }
      break;
    }
    case 'kallsyms':
      u32(enc.encode(meta.kallsyms).length);
      text(meta.kallsyms);
      break;
    case 'printk':
      u32(enc.encode(meta.printk).length);
      text(meta.printk);
      break;
    case 'cmdlines':
      u64(enc.encode(meta.cmdlines).length);
      text(meta.cmdlines);
      break;
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function writeTraceDat(path: string, opts: WriterOptions): void {
  const fd = openSync(path, 'w');
  try {
    const o = new Out(fd);
    o.bytes(Uint8Array.of(0x17, 0x08, 0x44));
    o.text('tracing');
    o.cstr(String(opts.version));
    o.u8(0);
    o.u8(8);
    o.u32(4096);
    if (opts.version === 6) writeV6(o, opts);
    else writeV7(o, opts);
  } finally {
    closeSync(fd);
  }
}

function writeV6(o: Out, opts: WriterOptions) {
  for (const k of ['header', 'ftrace', 'events', 'kallsyms', 'printk', 'cmdlines']) o.bytes(metaBlob(k, opts.meta));
  o.u32(opts.cpus);
  o.text('options  \0');
  o.u16(4); // TRACECLOCK
  const clock = `[${opts.buffers[0]?.clock ?? 'local'}] global\n\0`;
  o.u32(enc.encode(clock).length);
  o.text(clock);
  o.u16(0);
  o.text('flyrecord\0');
  const table = o.pos;
  for (let c = 0; c < opts.cpus; c++) {
    o.u64(0);
    o.u64(0);
  }
  o.u64(7);
  o.text('[local]');
  const b = opts.buffers[0];
  for (const cd of b?.cpus ?? []) {
    o.align(4096);
    const start = o.pos;
    for (const p of cd.pages()) o.bytes(p);
    o.patchU64(table + cd.cpu * 16, start);
    o.patchU64(table + cd.cpu * 16 + 8, o.pos - start);
  }
}

function section(o: Out, id: number, flags: number, body: () => void): number {
  const at = o.pos;
  o.u16(id);
  o.u16(flags);
  o.u32(0xffffffff);
  o.u64(0);
  body();
  o.patchU64(at + 8, o.pos - at - 16);
  return at;
}

function writeV7(o: Out, opts: WriterOptions) {
  const z = opts.compression === 'zlib';
  o.cstr(opts.compression);
  o.cstr(z ? '1.2.13' : '');
  const firstOptions = o.pos;
  o.u64(0);
  const metaAt: [number, number][] = [];
  const kinds: [number, string][] = [
    [16, 'header'],
    [17, 'ftrace'],
    [18, 'events'],
    [19, 'kallsyms'],
    [20, 'printk'],
    [21, 'cmdlines'],
  ];
  for (const [id, kind] of kinds) {
    const blob = metaBlob(kind, opts.meta);
    metaAt.push([
      id,
      section(o, id, z ? 1 : 0, () => {
        if (!z) return o.bytes(blob);
        const c = deflateSync(blob);
        o.u32(c.length);
        o.u32(blob.length);
        o.bytes(c);
      }),
    ]);
  }
  // First OPTIONS section: where the metadata is, the clock, the CPU count.
  o.patchU64(firstOptions, o.pos);
  let doneAt = 0;
  section(o, 0, 0, () => {
    for (const [id, at] of metaAt) {
      o.u16(id);
      o.u32(8);
      o.u64(at);
    }
    const clock = '[local] global\n\0';
    o.u16(4);
    o.u32(clock.length);
    o.text(clock);
    o.u16(8);
    o.u32(4);
    o.u32(opts.cpus);
    o.u16(0);
    o.u32(8);
    doneAt = o.pos;
    o.u64(0);
  });
  for (const b of opts.buffers) {
    const entries: [number, number, number][] = [];
    const secAt = section(o, 3, z ? 1 : 0, () => {
      for (const cd of b.cpus) {
        o.align(b.pageSize);
        const start = o.pos;
        if (!z) {
          for (const p of cd.pages()) o.bytes(p);
          entries.push([cd.cpu, start, o.pos - start]);
          continue;
        }
        o.u32(0);
        let n = 0;
        let pending: Uint8Array[] = [];
        const flush = () => {
          if (pending.length === 0) return;
          const raw = Buffer.concat(pending);
          const c = deflateSync(raw);
          o.u32(c.length);
          o.u32(raw.length);
          o.bytes(c);
          n++;
          pending = [];
        };
        for (const p of cd.pages()) {
          pending.push(p);
          if (pending.length === 10) flush();
        }
        flush();
        o.patchU32(start, n);
        entries.push([cd.cpu, start, o.pos - start - (opts.offBy4 === false ? 0 : 4)]);
      }
    });
    // The buffer's OPTIONS section, chained from the previous DONE.
    o.patchU64(doneAt, o.pos);
    section(o, 0, 0, () => {
      const name = enc.encode(`${b.name}\0`);
      const clock = enc.encode(`${b.clock}\0`);
      o.u16(3);
      o.u32(8 + name.length + clock.length + 4 + 4 + entries.length * 20);
      o.u64(secAt);
      o.bytes(name);
      o.bytes(clock);
      o.u32(b.pageSize);
      o.u32(entries.length);
      for (const [cpu, off, size] of entries) {
        o.u32(cpu);
        o.u64(off);
        o.u64(size);
      }
      o.u16(0);
      o.u32(8);
      doneAt = o.pos;
      o.u64(0);
    });
  }
}
