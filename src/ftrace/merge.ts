/**
 * Per-CPU merge (DESIGN §3): sub-buffers of every CPU go in (`addPage`), one timestamp-ordered record stream comes out
 * (`drain`), ties going to the lower CPU first as `trace-cmd report` does (`tracecmd_peek_next_data`). Serves both
 * trace.dat files and the live source.
 *
 * Memory is bounded and allocated up front: each CPU owns a pool of `maxPagesPerCpu` page slots (the caller's bytes
 * are copied in, so read buffers can be reused — or a live reader reads straight into the next slot, `slotFor` +
 * `addPageInPlace`) and a struct-of-arrays record index for them. Freed slots are reused most recent first, so a
 * reader that keeps a few pages queued cycles through a few warm slots instead of the whole (cold) pool. A full pool is
 * reported (`POOL_FULL`), never grown. Drain delivers one reused `TraceRecord` per record (valid during the
 * callback only), in runs: after choosing the CPU with the smallest head it delivers from that CPU while its
 * records stay before every other CPU's head, so the per-record cost is a few typed-array reads and the call.
 *
 * Ordering contract: `drain(sink, limit)` delivers every queued record with `ts <= limit`. Pages added later must
 * not hold records earlier than records already delivered; a live source drains to a watermark (the smallest
 * "read up to" time over CPUs) and the trace.dat reader keeps one page ahead on every CPU.
 */
import {
  maxRecordsPerPage,
  PAGE_STATUS_NAMES,
  PageResult,
  PageStatus,
  type PageStatusCode,
  RecordBatch,
  walkPage,
} from './page.ts';
import type { EventSchema } from './schema.ts';
import type { EventFormat, PageLayout, RecordSink, TraceRecord } from './types.ts';

export interface CpuMergerOptions {
  /** Number of CPUs (valid cpu arguments are 0 .. cpus-1). */
  cpus: number;
  layout: PageLayout;
  schema: EventSchema;
  /** Absolute time (trace clock ns) of `TraceRecord.ts === 0`; must be in [0, 2^64). */
  origin: bigint;
  /** Page slots per CPU (default 64). Memory ≈ cpus × slots × (pageSize + 24 × pageSize / 12) bytes. */
  maxPagesPerCpu?: number;
}

/** Counters in the shape of `SourceStats` (the merger's part of them). */
export interface MergeStats {
  records: number;
  lostPerCpu: number[];
  lossReports: number;
  errors: Record<string, number>;
}

class CpuQueue {
  readonly pool: Uint8Array;
  readonly view: DataView;
  readonly batch: RecordBatch;
  /** Per slot: first and one-past-last index in `batch`, and the stored lost count for a loss marker. */
  readonly slotStart: Int32Array;
  readonly slotEnd: Int32Array;
  readonly slotLost: Float64Array;
  /** Slots in use, oldest first: a ring of slot numbers (`ring[ringHead]` is the head slot), `used` of them. */
  readonly ring: Int32Array;
  ringHead = 0;
  used = 0;
  /** Free slot numbers, a stack: the most recently freed slot (still in cache) is taken first. */
  readonly free: Int32Array;
  freeTop: number;
  /** Next entry to deliver (index in batch, inside the head slot). */
  next = 0;
  /** Time of the last queued entry (-Infinity when nothing was ever queued). */
  lastTs = Number.NEGATIVE_INFINITY;
  constructor(
    readonly slots: number,
    readonly pageSize: number,
    readonly perSlot: number,
  ) {
    this.pool = new Uint8Array(slots * pageSize);
    this.view = new DataView(this.pool.buffer);
    this.batch = new RecordBatch(slots * perSlot);
    this.slotStart = new Int32Array(slots);
    this.slotEnd = new Int32Array(slots);
    this.slotLost = new Float64Array(slots);
    this.ring = new Int32Array(slots);
    this.free = new Int32Array(slots);
    for (let i = 0; i < slots; i++) this.free[i] = slots - 1 - i;
    this.freeTop = slots;
  }

  /** The oldest slot in use (valid when `used > 0`). */
  get head(): number {
    return this.ring[this.ringHead];
  }
}

export class CpuMerger {
  readonly cpus: number;
  readonly layout: PageLayout;
  readonly schema: EventSchema;
  readonly origin: bigint;
  readonly maxPagesPerCpu: number;
  readonly stats: MergeStats;
  private readonly originHi: number;
  private readonly originLo: number;
  /** Per-CPU queues, allocated on a CPU's first page (a CPU that never has data costs nothing). */
  private readonly queues: (CpuQueue | undefined)[];
  /** CPUs that have a queue, in increasing order (what drain scans). */
  private active: CpuQueue[] = [];
  private activeCpu: number[] = [];
  private readonly perSlot: number;
  private readonly known: Uint8Array;
  private readonly res = new PageResult();
  private readonly rec: TraceRecord;
  private queuedRecords = 0;

  constructor(opts: CpuMergerOptions) {
    const { cpus, layout, schema, origin } = opts;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 8192) throw new RangeError(`cpus must be 1..8192, not ${cpus}`);
    if (origin < 0n || origin >= 1n << 64n) throw new RangeError(`origin ${origin} is not a 64-bit time`);
    if (layout.pageSize < layout.dataOffset + 8 || layout.pageSize > 1 << 26) {
      throw new RangeError(`page size ${layout.pageSize} is not a ring-buffer sub-buffer size`);
    }
    const slots = opts.maxPagesPerCpu ?? 64;
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`maxPagesPerCpu must be >= 1, not ${slots}`);
    checkCommonFields(schema);
    this.cpus = cpus;
    this.layout = layout;
    this.schema = schema;
    this.origin = origin;
    this.maxPagesPerCpu = slots;
    this.originHi = Number(origin >> 32n);
    this.originLo = Number(origin & 0xffffffffn);
    this.perSlot = maxRecordsPerPage(layout) + 1; // + 1 for a loss marker
    this.queues = new Array(cpus).fill(undefined);
    this.known = new Uint8Array(65536);
    for (const f of schema.formats) if (f.id >= 0 && f.id < 65536) this.known[f.id] = 1;
    this.stats = { records: 0, lostPerCpu: new Array(cpus).fill(0), lossReports: 0, errors: {} };
    const none = new Uint8Array(0);
    this.rec = { cpu: 0, ts: 0, id: 0, pid: 0, bytes: none, view: new DataView(none.buffer), off: 0, len: 0 };
  }

  /** Free page slots of `cpu` (0 = the next addPage returns POOL_FULL). */
  freePages(cpu: number): number {
    if (!(cpu >= 0 && cpu < this.cpus)) return 0;
    const q = this.queues[cpu];
    return q === undefined ? this.maxPagesPerCpu : q.slots - q.used;
  }

  private queue(cpu: number): CpuQueue {
    let q = this.queues[cpu];
    if (q === undefined) {
      q = new CpuQueue(this.maxPagesPerCpu, this.layout.pageSize, this.perSlot);
      this.queues[cpu] = q;
      const cpusWith = [...this.activeCpu, cpu].sort((a, b) => a - b);
      this.activeCpu = cpusWith;
      this.active = cpusWith.map((c) => this.queues[c] as CpuQueue);
    }
    return q;
  }

  /** Records of all CPUs not yet delivered. */
  get queued(): number {
    return this.queuedRecords;
  }

  /** Time of the last record queued for `cpu` (also after it was delivered); -Infinity before any. */
  lastTs(cpu: number): number {
    return this.queues[cpu]?.lastTs ?? Number.NEGATIVE_INFINITY;
  }

  /** Time of the next record `cpu` would deliver, or +Infinity when its queue is empty. */
  headTs(cpu: number): number {
    const q = this.queues[cpu];
    if (q === undefined || q.used === 0) return Number.POSITIVE_INFINITY;
    return q.batch.ts[q.next];
  }

  /**
   * Copies the sub-buffer at `bytes[offset .. offset + length)` (length defaults to the page size; shorter means a
   * truncated page) into `cpu`'s pool and indexes its records. Returns the page status: `POOL_FULL` (nothing taken;
   * drain first), `BAD_CPU`, or the walk status (records before a fatal ABI violation are kept). Every non-OK status
   * is also counted in `stats.errors`.
   */
  addPage(cpu: number, bytes: Uint8Array, offset = 0, length = this.layout.pageSize): PageStatusCode {
    const at = this.slotFor(cpu);
    if (at < 0) return at === -1 ? PageStatus.POOL_FULL : this.count(PageStatus.BAD_CPU, 1);
    let n = Math.min(length, this.layout.pageSize);
    if (offset + n > bytes.length) n = Math.max(0, bytes.length - offset);
    (this.queues[cpu] as CpuQueue).pool.set(bytes.subarray(offset, offset + n), at);
    return this.addPageInPlace(cpu, n);
  }

  /** The page pool of `cpu` (what `slotFor` offsets point into). */
  poolOf(cpu: number): Uint8Array {
    return this.queue(cpu).pool;
  }

  /**
   * Byte offset in `poolOf(cpu)` where `cpu`'s next page goes, so that a reader can read the sub-buffer straight into
   * the pool (no copy) and then call `addPageInPlace`. -1 when the pool is full, -2 for a bad CPU.
   */
  slotFor(cpu: number): number {
    if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < this.cpus)) return -2;
    const q = this.queue(cpu);
    if (q.freeTop === 0) return -1;
    return q.free[q.freeTop - 1] * this.layout.pageSize;
  }

  /**
   * Indexes the page of `length` bytes the caller put at `slotFor(cpu)` (see `addPage` for the statuses). Call
   * `slotFor` first: it is what makes the slot the next one.
   */
  addPageInPlace(cpu: number, length: number): PageStatusCode {
    if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < this.cpus)) return this.count(PageStatus.BAD_CPU, 1);
    const q = this.queue(cpu);
    if (q.freeTop === 0) return PageStatus.POOL_FULL;
    const pageSize = this.layout.pageSize;
    const n = Math.max(0, Math.min(length, pageSize));
    const slot = q.free[q.freeTop - 1];
    const pageOff = slot * pageSize;
    if (n < pageSize) q.pool.fill(0, pageOff + n, pageOff + pageSize);
    const base = slot * this.perSlot;
    const res = this.res;
    const status = walkPage(q.view, pageOff, n, this.layout, this.originHi, this.originLo, q.batch, base + 1, res);
    if (res.shortRecords > 0) this.count(PageStatus.SHORT_RECORD, res.shortRecords);
    let start = base + 1;
    if (res.missed) {
      start = base;
      q.batch.ts[base] = res.records > 0 ? q.batch.ts[base + 1] : res.firstTs;
      q.batch.id[base] = -1;
      q.slotLost[slot] = res.lost;
    }
    const end = base + 1 + res.records;
    if (end > start) {
      const ids = q.batch.id;
      const known = this.known;
      let unknown = 0;
      for (let i = base + 1; i < end; i++) if (known[ids[i]] === 0) unknown++;
      if (unknown > 0) this.count(PageStatus.UNKNOWN_EVENT_ID, unknown);
      q.slotStart[slot] = start;
      q.slotEnd[slot] = end;
      if (q.used === 0) q.next = start;
      q.freeTop--;
      q.ring[(q.ringHead + q.used) % q.slots] = slot;
      q.used++;
      q.lastTs = q.batch.ts[end - 1];
      this.queuedRecords += end - start;
    }
    if (status !== PageStatus.OK) this.count(status, 1);
    return status as PageStatusCode;
  }

  private count(status: number, n: number): PageStatusCode {
    const name = PAGE_STATUS_NAMES[status];
    this.stats.errors[name] = (this.stats.errors[name] ?? 0) + n;
    return status as PageStatusCode;
  }

  /**
   * Delivers, in timestamp order (ties: lower CPU first), every queued record with `ts <= limit`, and every loss
   * marker (`sink.lost(cpu, count, ts)`) at the position of the page that carried the missed-events flag.
   * Returns the number of records delivered. Records after `limit` stay queued.
   */
  drain(sink: RecordSink, limit = Number.POSITIVE_INFINITY): number {
    const queues = this.active;
    const cpuOf = this.activeCpu;
    const ncpu = queues.length;
    const r = this.rec;
    let delivered = 0;
    for (;;) {
      // The CPU with the smallest head (lowest CPU on ties) and the runner-up.
      let best = -1;
      let bestTs = Number.POSITIVE_INFINITY;
      let second = -1;
      let secondTs = Number.POSITIVE_INFINITY;
      for (let k = 0; k < ncpu; k++) {
        const q = queues[k];
        if (q.used === 0) continue;
        const t = q.batch.ts[q.next];
        if (best < 0 || t < bestTs) {
          second = best;
          secondTs = bestTs;
          best = k;
          bestTs = t;
        } else if (second < 0 || t < secondTs) {
          second = k;
          secondTs = t;
        }
      }
      if (best < 0 || !(bestTs <= limit)) break;
      // Deliver from `best` while its records come before the runner-up's head and within the limit.
      const runLimit = Math.min(secondTs, limit);
      const inclusive = second < 0 || best < second || secondTs > limit; // a tie at secondTs goes to the lower CPU
      const q = queues[best];
      const cpu = cpuOf[best];
      const batch = q.batch;
      const tsA = batch.ts;
      const idA = batch.id;
      r.cpu = cpu;
      r.bytes = q.pool;
      r.view = q.view;
      let i = q.next;
      let head = q.ring[q.ringHead];
      let slotEnd = q.slotEnd[head];
      for (;;) {
        const t = tsA[i];
        if (t > runLimit || (t === runLimit && !inclusive)) break;
        const id = idA[i];
        if (id >= 0) {
          r.ts = t;
          r.id = id;
          r.pid = batch.pid[i];
          r.off = batch.off[i];
          r.len = batch.len[i];
          sink.record(r);
          delivered++;
        } else {
          const lost = q.slotLost[head];
          this.stats.lossReports++;
          if (lost > 0) this.stats.lostPerCpu[cpu] += lost;
          sink.lost?.(cpu, lost, t);
        }
        i++;
        this.queuedRecords--;
        if (i === slotEnd) {
          // Page done: release its slot (to the top of the free stack: the next page reuses it while warm).
          q.free[q.freeTop++] = head;
          q.used--;
          q.ringHead = q.ringHead + 1 === q.slots ? 0 : q.ringHead + 1;
          if (q.used === 0) break;
          head = q.ring[q.ringHead];
          i = q.slotStart[head];
          slotEnd = q.slotEnd[head];
        }
      }
      q.next = i;
    }
    this.stats.records += delivered;
    return delivered;
  }
}

/**
 * The page walker reads `common_type` (u16 at 0) and `common_pid` (s32 at 4) directly, as every kernel since
 * 2.6.31 lays them out (include/linux/trace_events.h `struct trace_entry`). What is wrong with a format that says
 * otherwise, or undefined. Sources refuse such formats with their own errors; the merger refuses a schema with one.
 */
export function commonFieldsProblem(f: EventFormat): string | undefined {
  const type = f.byName.get('common_type');
  const pid = f.byName.get('common_pid');
  if (type !== undefined && (type.offset !== 0 || type.size !== 2)) {
    return `common_type at ${type.offset}/${type.size}, expected 0/2`;
  }
  if (pid !== undefined && (pid.offset !== 4 || pid.size !== 4)) {
    return `common_pid at ${pid.offset}/${pid.size}, expected 4/4`;
  }
  return undefined;
}

function checkCommonFields(schema: EventSchema): void {
  for (const f of schema.formats) {
    const problem = commonFieldsProblem(f);
    if (problem !== undefined) throw new RangeError(`${f.system}:${f.name}: ${problem}`);
  }
}
