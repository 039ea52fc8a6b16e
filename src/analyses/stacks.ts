/**
 * Kernel stacks, interned: each distinct stack is stored once (like a BPF stack-trace map) and referred to by a
 * small integer id, so in-flight events carry a number, not an array. Bounded: when the arena or the id space is
 * full, new stacks are refused (id -1) and counted; existing ids stay valid until `reset`.
 */

export class StackTable {
  /** Addresses as (hi, lo) u32 pairs, stacks back to back. */
  private readonly arena: Uint32Array;
  private used = 0;
  /** Per id: start (in u32 words) and depth. */
  private readonly startOf: Int32Array;
  private readonly depthOf: Int32Array;
  private count = 0;
  /** Open-addressing index: id + 1, 0 = empty. */
  private readonly index: Int32Array;
  private readonly hashOf: Int32Array;
  /** Stacks refused because the table was full. */
  refused = 0;

  /**
   * @param maxStacks distinct stacks kept
   * @param maxFrames total frames kept over all stacks
   */
  constructor(
    readonly maxStacks = 16384,
    readonly maxFrames = 16384 * 24,
  ) {
    this.arena = new Uint32Array(maxFrames * 2);
    this.startOf = new Int32Array(maxStacks);
    this.depthOf = new Int32Array(maxStacks);
    this.hashOf = new Int32Array(maxStacks);
    let size = 1;
    while (size < maxStacks * 2) size *= 2;
    this.index = new Int32Array(size);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Interns a stack given as `depth` (hi, lo) pairs in `frames` (from `frames[0]`), returns its id, or -1 when the
   * table is full. Allocation-free.
   */
  intern(frames: Uint32Array, depth: number): number {
    let h = 0x811c9dc5 ^ depth;
    for (let i = 0; i < depth * 2; i++) h = Math.imul(h ^ frames[i], 0x01000193);
    const mask = this.index.length - 1;
    let pos = (h >>> 0) & mask;
    for (;;) {
      const e = this.index[pos];
      if (e === 0) break;
      const id = e - 1;
      if (this.hashOf[id] === h && this.depthOf[id] === depth && this.same(id, frames, depth)) return id;
      pos = (pos + 1) & mask;
    }
    if (this.count >= this.maxStacks || this.used + depth * 2 > this.arena.length) {
      this.refused++;
      return -1;
    }
    const id = this.count++;
    this.startOf[id] = this.used;
    this.depthOf[id] = depth;
    this.hashOf[id] = h;
    this.arena.set(frames.subarray(0, depth * 2), this.used);
    this.used += depth * 2;
    this.index[pos] = id + 1;
    return id;
  }

  private same(id: number, frames: Uint32Array, depth: number): boolean {
    const s = this.startOf[id];
    for (let i = 0; i < depth * 2; i++) if (this.arena[s + i] !== frames[i]) return false;
    return true;
  }

  /** Depth of stack `id` (0 for an unknown id). */
  depth(id: number): number {
    return id >= 0 && id < this.count ? this.depthOf[id] : 0;
  }

  /** Frame `i` of stack `id` as its (hi, lo) halves. */
  frame(id: number, i: number, out: { hi: number; lo: number }): void {
    const p = this.startOf[id] + i * 2;
    out.hi = this.arena[p];
    out.lo = this.arena[p + 1];
  }

  /** Frees everything (ids become invalid). */
  reset(): void {
    this.index.fill(0);
    this.count = 0;
    this.used = 0;
  }
}
