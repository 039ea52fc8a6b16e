/**
 * The flight recorder's memory: the raw sub-buffers of the last moments, as the live source read them, in a ring
 * bounded by bytes and by age (Go's runtime flight recorder keeps its trace the same way).
 *
 * - Pages are copied (the source reuses its buffers) into chunks of `chunkBytes` (1 MiB); chunks form a queue, oldest
 *   first. At most `floor(maxBytes / chunkBytes)` chunks exist: when the newest is full and none may be added, the
 *   oldest is reused (its pages are forgotten, counted as `evicted`). `expire(t)` frees chunks whose pages are all
 *   older than `t`, so an idle recorder gives its memory back.
 * - A snapshot (the pages of a time window, for a file being written) pins the chunks it uses; a pinned chunk is
 *   never reused. When the oldest chunk is pinned and no chunk may be added, an incoming page is dropped (counted)
 *   and the next page kept for that CPU carries the ring buffer's "events lost before this page" flag: a file never
 *   hides a gap (DESIGN §5: missing events end in a counted uncertainty).
 * - Times: page time stamps (the first record's time) are kept exactly as offsets from the first page's time.
 */
import type { PageLayout } from '../../ftrace/types.ts';

const TWO32 = 4294967296;
/** RB_MISSED_EVENTS in the low 32 bits of `commit` (include/linux/ring_buffer.h). */
const MISSED_EVENTS = 0x80000000;

export interface PageRingOptions {
  layout: Pick<PageLayout, 'pageSize' | 'timestampOffset' | 'commitOffset' | 'commitSize' | 'littleEndian'>;
  cpus: number;
  /** Upper bound of the page memory, bytes. */
  maxBytes: number;
  /** Bytes per chunk (default 1 MiB; at least one page). */
  chunkBytes?: number;
}

export interface PageRingStats {
  /** Pages kept since start. */
  pages: number;
  /** Pages pushed out by newer ones (the memory bound). */
  evicted: number;
  /** Pages freed by age. */
  expired: number;
  /** Pages not kept because every chunk that could be reused was pinned by a file being written. */
  dropped: number;
}

class Chunk {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly cpu: Uint16Array;
  readonly ts: Float64Array;
  used = 0;
  pins = 0;
  newest = Number.NEGATIVE_INFINITY;
  constructor(pages: number, pageSize: number) {
    this.bytes = new Uint8Array(pages * pageSize);
    this.view = new DataView(this.bytes.buffer);
    this.cpu = new Uint16Array(pages);
    this.ts = new Float64Array(pages);
  }
}

/** The pages of one time window, per CPU, in time order; valid until `release()`. */
export class RingSnapshot {
  private released = false;
  constructor(
    private readonly chunks: Chunk[],
    /** Per CPU: [chunk index in `chunks`, slot] pairs, flattened. */
    private readonly refs: number[][],
    private readonly pageSize: number,
    /** The ring held nothing as old as the window's start. */
    readonly truncated: boolean,
  ) {
    for (const c of chunks) c.pins++;
  }

  /** CPUs with pages. */
  get cpus(): number[] {
    const out: number[] = [];
    this.refs.forEach((r, c) => {
      if (r.length > 0) out.push(c);
    });
    return out;
  }

  /** Number of pages of `cpu` (all CPUs when omitted). */
  pageCount(cpu?: number): number {
    if (cpu !== undefined) return (this.refs[cpu]?.length ?? 0) / 2;
    return this.refs.reduce((a, r) => a + r.length / 2, 0);
  }

  /** The pages of `cpu` (views into the ring: valid until `release`). */
  *pages(cpu: number): Iterable<Uint8Array> {
    const r = this.refs[cpu] ?? [];
    for (let i = 0; i < r.length; i += 2) {
      if (this.released) throw new Error('ring snapshot used after release');
      const ch = this.chunks[r[i]];
      const at = r[i + 1] * this.pageSize;
      yield ch.bytes.subarray(at, at + this.pageSize);
    }
  }

  /** Unpins the chunks (idempotent). */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const c of this.chunks) c.pins--;
  }
}

export class PageRing {
  readonly stats: PageRingStats = { pages: 0, evicted: 0, expired: 0, dropped: 0 };
  readonly pageSize: number;
  readonly maxChunks: number;
  private readonly perChunk: number;
  private readonly chunks: Chunk[] = [];
  private spare: Chunk | undefined;
  private readonly gap: Uint8Array;
  private originHi = 0;
  private originLo = 0;
  private originSet = false;
  private readonly layout: PageRingOptions['layout'];

  constructor(opts: PageRingOptions) {
    this.layout = opts.layout;
    this.pageSize = opts.layout.pageSize;
    const chunkBytes = Math.max(this.pageSize, opts.chunkBytes ?? 1 << 20);
    this.perChunk = Math.floor(chunkBytes / this.pageSize);
    this.maxChunks = Math.floor(opts.maxBytes / (this.perChunk * this.pageSize));
    if (this.maxChunks < 2) {
      throw new RangeError(`a page ring needs room for two chunks of ${this.perChunk * this.pageSize} bytes`);
    }
    this.gap = new Uint8Array(opts.cpus);
  }

  /** Bytes of page memory allocated now (never more than `maxChunks` chunks). */
  get bytes(): number {
    return (this.chunks.length + (this.spare === undefined ? 0 : 1)) * this.perChunk * this.pageSize;
  }

  /** Pages held now. */
  get pages(): number {
    let n = 0;
    for (const c of this.chunks) n += c.used;
    return n;
  }

  /** Absolute time (ns) of offset 0, or undefined before the first page. */
  get origin(): bigint | undefined {
    return this.originSet ? (BigInt(this.originHi) << 32n) | BigInt(this.originLo) : undefined;
  }

  /** Time of the oldest page held, as an absolute time (ns), or undefined when empty. */
  get oldest(): bigint | undefined {
    const c = this.chunks.find((x) => x.used > 0);
    const o = this.origin;
    if (c === undefined || o === undefined) return undefined;
    let t = Number.POSITIVE_INFINITY;
    for (let s = 0; s < c.used; s++) t = Math.min(t, c.ts[s]);
    return o + BigInt(t);
  }

  /** Offset of an absolute time from the ring's origin (exact below 2^53 ns of difference). */
  rel(abs: bigint): number {
    const o = this.origin;
    return o === undefined ? 0 : Number(abs - o);
  }

  /** Copies one sub-buffer (a `PageObserver.page` callback: no throw; a page without data is skipped). */
  add(cpu: number, bytes: Uint8Array, offset: number, length: number): void {
    const L = this.layout;
    const ps = this.pageSize;
    if (length < 16 || cpu < 0 || cpu >= this.gap.length) return;
    const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, Math.min(length, ps));
    const le = L.littleEndian;
    const lo = dv.getUint32(L.timestampOffset + (le ? 0 : 4), le);
    const hi = dv.getUint32(L.timestampOffset + (le ? 4 : 0), le);
    const commitAt = L.commitOffset + (L.commitSize === 8 && !le ? 4 : 0);
    if ((dv.getUint32(commitAt, le) & 0x07ffffff) === 0) return;
    if (!this.originSet) {
      this.originHi = hi;
      this.originLo = lo;
      this.originSet = true;
    }
    let ch = this.chunks[this.chunks.length - 1];
    if (ch === undefined || ch.used === this.perChunk) {
      const next = this.newChunk();
      if (next === undefined) {
        this.stats.dropped++;
        this.gap[cpu] = 1;
        return;
      }
      ch = next;
    }
    const s = ch.used++;
    const at = s * ps;
    const n = Math.min(length, ps);
    ch.bytes.set(bytes.subarray(offset, offset + n), at);
    if (n < ps) ch.bytes.fill(0, at + n, at + ps);
    if (this.gap[cpu] === 1) {
      // Pages of this CPU were dropped before this one: say so the way the kernel does.
      ch.view.setUint32(at + commitAt, ch.view.getUint32(at + commitAt, le) | MISSED_EVENTS, le);
      this.gap[cpu] = 0;
    }
    const t = (hi - this.originHi) * TWO32 + (lo - this.originLo);
    ch.cpu[s] = cpu;
    ch.ts[s] = t;
    if (t > ch.newest) ch.newest = t;
    this.stats.pages++;
  }

  /** A chunk to fill: a new one while the bound allows, else the oldest unpinned one (its pages evicted). */
  private newChunk(): Chunk | undefined {
    let c: Chunk | undefined;
    if (this.chunks.length < this.maxChunks) {
      c = this.spare ?? new Chunk(this.perChunk, this.pageSize);
      this.spare = undefined;
    } else {
      const oldest = this.chunks[0];
      if (oldest.pins > 0) return undefined;
      this.chunks.shift();
      this.stats.evicted += oldest.used;
      c = oldest;
    }
    c.used = 0;
    c.newest = Number.NEGATIVE_INFINITY;
    this.chunks.push(c);
    return c;
  }

  /** Frees the chunks whose pages are all older than `before` (absolute ns); one is kept for reuse. */
  expire(before: bigint): void {
    if (!this.originSet) return;
    const t = this.rel(before);
    while (this.chunks.length > 1) {
      const c = this.chunks[0];
      if (c.pins > 0 || !(c.newest < t)) break;
      this.chunks.shift();
      this.stats.expired += c.used;
      c.used = 0;
      if (this.spare === undefined) this.spare = c;
    }
  }

  /**
   * The pages that cover [from, to] (absolute ns) on every CPU: each CPU's last page that starts before `from` (it
   * may hold records at or after `from`) and every page that starts up to `to`. Pins them until `release()`.
   */
  snapshot(from: bigint, to: bigint): RingSnapshot {
    const cpus = this.gap.length;
    const refs: number[][] = Array.from({ length: cpus }, () => []);
    const before: number[] = new Array(cpus * 2).fill(-1);
    const f = this.rel(from);
    const t = this.rel(to);
    const used: Chunk[] = [];
    const index = new Map<Chunk, number>();
    let oldest = Number.POSITIVE_INFINITY;
    const idx = (c: Chunk) => {
      let i = index.get(c);
      if (i === undefined) {
        i = used.length;
        used.push(c);
        index.set(c, i);
      }
      return i;
    };
    for (const c of this.chunks) {
      for (let s = 0; s < c.used; s++) {
        const ts = c.ts[s];
        const cpu = c.cpu[s];
        if (ts < oldest) oldest = ts;
        if (ts < f) {
          before[cpu * 2] = idx(c);
          before[cpu * 2 + 1] = s;
        } else if (ts <= t) {
          refs[cpu].push(idx(c), s);
        }
      }
    }
    for (let cpu = 0; cpu < cpus; cpu++) {
      if (before[cpu * 2] >= 0) refs[cpu].unshift(before[cpu * 2], before[cpu * 2 + 1]);
    }
    // Chunks only referenced by a discarded "before" candidate stay in `used` (pinned briefly): harmless.
    return new RingSnapshot(used, refs, this.pageSize, !this.originSet || oldest > f);
  }
}
