/**
 * Process names (comm) per thread id, learned from the events themselves (`prev_comm`, `next_comm`, `comm`...)
 * without building a string per event: a direct-mapped table keeps each tid's 16 comm bytes, compares the incoming
 * bytes, and decodes a string only when someone asks and the bytes changed since the last decode. Bounded (a tid that
 * collides with another in the table replaces it); a fallback (trace.dat cmdlines, CTF statedump, /proc) fills gaps.
 */

const SLOTS = 1 << 16;
/** Words are stored in host order so that `bytes` keeps the name's byte order. */
const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const COMM_LEN = 16;

export class CommTable {
  private readonly tids = new Int32Array(SLOTS).fill(-1);
  private readonly bytes = new Uint8Array(SLOTS * COMM_LEN);
  /** The same memory as `bytes`, four words per slot. */
  private readonly words = new Uint32Array(this.bytes.buffer);
  private readonly strings: (string | undefined)[] = new Array(SLOTS).fill(undefined);
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  /** @param fallback consulted when the events have not named a tid (it may allocate; not on the hot path). */
  constructor(private readonly fallback?: (tid: number) => string | undefined) {}

  /**
   * Notes that `tid` is named by the NUL-padded comm at `bytes[off .. off+len)` (len <= 16). Allocation-free.
   */
  observe(tid: number, src: Uint8Array, off: number, len: number): void {
    if (tid <= 0) return;
    const slot = tid & (SLOTS - 1);
    const base = slot * COMM_LEN;
    let n = Math.min(len, COMM_LEN);
    for (let i = 0; i < n; i++) {
      if (src[off + i] === 0) {
        n = i;
        break;
      }
    }
    const b = this.bytes;
    if (this.tids[slot] === tid) {
      let same = true;
      for (let i = 0; i < COMM_LEN; i++) {
        if (b[base + i] !== (i < n ? src[off + i] : 0)) {
          same = false;
          break;
        }
      }
      if (same) return;
    }
    this.tids[slot] = tid;
    let i = 0;
    for (; i < n; i++) b[base + i] = src[off + i];
    for (; i < COMM_LEN; i++) b[base + i] = 0;
    this.strings[slot] = undefined;
  }

  /**
   * `observe` for a fixed `char comm[16]` field at `view[pos]` (the scheduler events): four word compares, no
   * allocation. The kernel pads comm with NULs, so the 16 bytes are the whole name.
   */
  observe16(tid: number, view: DataView, pos: number): void {
    if (tid <= 0) return;
    const slot = tid & (SLOTS - 1);
    const w = slot * 4;
    const words = this.words;
    const a = view.getUint32(pos, HOST_LE);
    const b = view.getUint32(pos + 4, HOST_LE);
    const c = view.getUint32(pos + 8, HOST_LE);
    const d = view.getUint32(pos + 12, HOST_LE);
    if (this.tids[slot] === tid && words[w] === a && words[w + 1] === b && words[w + 2] === c && words[w + 3] === d)
      return;
    this.tids[slot] = tid;
    words[w] = a;
    words[w + 1] = b;
    words[w + 2] = c;
    words[w + 3] = d;
    this.strings[slot] = undefined;
  }

  /** Sets a name from a string (statedump, exec events). */
  set(tid: number, comm: string): void {
    if (tid <= 0) return;
    const enc = new TextEncoder().encode(comm);
    this.observe(tid, enc, 0, Math.min(enc.length, COMM_LEN - 1));
    this.strings[tid & (SLOTS - 1)] = comm.slice(0, COMM_LEN - 1);
  }

  /** The comm of `tid`: from the events, else from the fallback, else undefined. */
  get(tid: number): string | undefined {
    if (tid === 0) return 'swapper';
    const slot = tid & (SLOTS - 1);
    if (this.tids[slot] === tid) {
      let s = this.strings[slot];
      if (s === undefined) {
        const base = slot * COMM_LEN;
        let end = base;
        while (end < base + COMM_LEN && this.bytes[end] !== 0) end++;
        s = this.decoder.decode(this.bytes.subarray(base, end));
        this.strings[slot] = s;
      }
      return s;
    }
    return this.fallback?.(tid);
  }
}
