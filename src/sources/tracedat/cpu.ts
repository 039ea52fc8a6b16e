/**
 * Streams one CPU's ring-buffer pages out of a trace.dat, in bounded blocks (the file is never read whole).
 *
 * - Uncompressed (v6, v7 `none`): `size` bytes of whole pages at `offset`; read `READ_BYTES` at a time.
 * - Compressed (v7 zstd/zlib; trace-cmd `tracecmd_compress_copy_from`): `u32 nchunks`, then per chunk
 *   `u32 csize, u32 usize, csize bytes` (one frame of whole pages, 10 pages each from trace-cmd). The recorded
 *   size is 4 bytes short in files from trace-cmd before mid-2023 (it leaves out `nchunks`), so, like libtracecmd,
 *   we ignore it and walk the chunk headers, bounded by the buffer section's end.
 *
 * Problems in the data (truncation, a chunk that does not decompress, a partial page) end this CPU's stream and are
 * counted in `errors` by name; what came before is delivered.
 */
import type { Decompressor } from './decompress.ts';
import type { TraceFile } from './file.ts';
import type { CpuData } from './header.ts';

const READ_BYTES = 256 * 1024;
/** Largest chunk we accept (trace-cmd writes 10 pages; 64 MiB bounds memory against corrupt headers). */
const MAX_CHUNK = 64 * 1024 * 1024;

export class CpuPages {
  /** Current block and the next page in it. */
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  /** Valid bytes in buf. */
  len = 0;
  done = false;

  private fileOff: number;
  private readonly fileEnd: number;
  private chunksLeft = -1;
  private comp: Uint8Array = new Uint8Array(0);
  private compStart = 0;
  private compLen = 0;

  constructor(
    private readonly file: TraceFile,
    readonly data: CpuData,
    readonly pageSize: number,
    private readonly decompressor: Decompressor | undefined,
    /** End of the buffer's data region (section end for v7). */
    regionEnd: number,
    private readonly errors: Record<string, number>,
  ) {
    this.fileOff = data.offset;
    if (decompressor === undefined) {
      const want = data.offset + data.size;
      this.fileEnd = Math.min(want, file.size);
      if (want > file.size) this.count('TRUNCATED_CPU_DATA', 1);
    } else {
      this.fileEnd = Math.min(regionEnd, file.size);
    }
    if (this.fileOff > this.fileEnd) {
      this.count('TRUNCATED_CPU_DATA', 1);
      this.done = true;
    }
  }

  private count(name: string, n: number): void {
    this.errors[name] = (this.errors[name] ?? 0) + n;
  }

  /** Bytes of the next page in `buf` (offset `pos`), or 0 when the block is used up (call `fill`). */
  pageBytes(): number {
    const left = this.len - this.pos;
    return Math.min(left, this.pageSize);
  }

  /** Advances past the current page. */
  skipPage(): void {
    this.pos += this.pageBytes();
  }

  /** Loads the next block; sets `done` at the end of the data (or at the first error). */
  async fill(): Promise<void> {
    if (this.done) return;
    this.pos = 0;
    this.len = 0;
    if (this.decompressor === undefined) await this.fillRaw();
    else await this.fillChunk(this.decompressor);
  }

  private async fillRaw(): Promise<void> {
    const left = this.fileEnd - this.fileOff;
    if (left <= 0) {
      this.done = true;
      return;
    }
    const want = Math.min(left, Math.max(this.pageSize, READ_BYTES - (READ_BYTES % this.pageSize)));
    if (this.buf.length < want) this.buf = new Uint8Array(Math.max(want, this.pageSize));
    const n = await this.file.readSome(this.fileOff, this.buf, want);
    this.fileOff += n;
    this.len = n;
    if (n < want) {
      this.count('TRUNCATED_CPU_DATA', 1);
      this.done = true; // what was read is still delivered
      this.fileOff = this.fileEnd;
    }
    if (n % this.pageSize !== 0 && this.fileOff >= this.fileEnd) this.count('PARTIAL_PAGE', 1);
  }

  /** Makes `n` compressed bytes at `fileOff` available in `comp`; false when the region ends first. */
  private async needComp(n: number): Promise<boolean> {
    if (this.fileOff >= this.compStart && this.fileOff + n <= this.compStart + this.compLen) return true;
    if (this.fileOff + n > this.fileEnd) return false;
    const want = Math.min(this.fileEnd - this.fileOff, Math.max(n, READ_BYTES));
    if (this.comp.length < want) this.comp = new Uint8Array(want);
    const got = await this.file.readSome(this.fileOff, this.comp, want);
    this.compStart = this.fileOff;
    this.compLen = got;
    return got >= n;
  }

  private u32(at: number): number {
    const o = at - this.compStart;
    const b = this.comp;
    return this.file.le
      ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
      : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  private async fillChunk(d: Decompressor): Promise<void> {
    if (this.chunksLeft < 0) {
      if (!(await this.needComp(4))) {
        this.count('TRUNCATED_CPU_DATA', 1);
        this.done = true;
        return;
      }
      this.chunksLeft = this.u32(this.fileOff);
      this.fileOff += 4;
      if (this.chunksLeft > (this.fileEnd - this.fileOff) / 8) {
        this.count('BAD_CHUNK_COUNT', 1);
        this.chunksLeft = Math.floor((this.fileEnd - this.fileOff) / 8);
      }
    }
    if (this.chunksLeft === 0) {
      this.done = true;
      return;
    }
    if (!(await this.needComp(8))) {
      this.count('TRUNCATED_CPU_DATA', 1);
      this.done = true;
      return;
    }
    const csize = this.u32(this.fileOff);
    const usize = this.u32(this.fileOff + 4);
    if (usize === 0 || usize > MAX_CHUNK || csize > MAX_CHUNK) {
      this.count('BAD_CHUNK_HEADER', 1);
      this.done = true;
      return;
    }
    if (!(await this.needComp(8 + csize))) {
      this.count('TRUNCATED_CPU_DATA', 1);
      this.done = true;
      return;
    }
    const o = this.fileOff + 8 - this.compStart;
    const out = d.decompress(this.comp.subarray(o, o + csize), usize);
    this.fileOff += 8 + csize;
    this.chunksLeft--;
    if (out === undefined) {
      // Skip the frame (its size is known) and go on with the next chunk; its pages are counted as lost here.
      this.count('CORRUPT_CHUNK', 1);
      if (this.chunksLeft === 0) this.done = true;
      return;
    }
    this.buf = out;
    this.len = out.length;
    if (out.length % this.pageSize !== 0) this.count('PARTIAL_PAGE', 1);
  }
}
