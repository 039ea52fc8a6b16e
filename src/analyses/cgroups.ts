/**
 * Which cgroup every thread is in, kept current from the events, and what its cgroup's CPU quota and pressure did
 * (issue 15). Pure bookkeeping over a `CgroupReader` (the I/O is in `sources/cgroupfs.ts`):
 *
 * - Per thread, a direct-mapped table (tid -> cgroup path id, cpu-controller path id, state) like `CommTable`:
 *   bounded (a tid colliding with another replaces it, counted), nothing allocated on a lookup. A thread's cgroup is
 *   resolved from `/proc/<tid>/cgroup` on first need (first pair or outlier that asks), at most `RESOLVE_BUDGET`
 *   reads per read cycle (beyond: the inherited value or unknown, counted, retried later). From then on
 *   `cgroup:cgroup_attach_task`/`cgroup_transfer_tasks` move it in stream order (exact), `sched_process_fork` hands
 *   the parent's cgroup to the child (unverified: checked against /proc on the child's first need, since
 *   `clone3(CLONE_INTO_CGROUP)` starts a child elsewhere without an attach event), `sched_process_exit` forgets it.
 * - Paths are interned (at most `MAX_CGROUPS` distinct paths; when full everything starts over, counted) so that
 *   labels, container parses and filter matches are computed once per path, not per pair.
 * - Throttling: a cgroup whose thread had a pair in the last `ACTIVE_NS` is "active"; at the start of every read
 *   cycle the cpu.stat counters of the nearest cgroup with a CPU quota (itself or an ancestor; re-checked every
 *   `QUOTA_RECHECK_NS`) of every active cgroup are sampled (at most `MAX_THROTTLE_GROUPS` groups, least recently
 *   active evicted, counted) into a ring. An outlier's throttling is the difference between the last sample at or
 *   before its start and the first at or after its end: the window covers the outlier plus at most one read cycle
 *   (~100 ms) on each side, and says so (`from_ns`, `to_ns`).
 * - Pressure (`some avg10`) is read at report time, cached per cgroup for `PRESSURE_TTL_NS`.
 */
import { fieldSpan, intReader } from '../ftrace/fields.ts';
import type { EventSchema } from '../ftrace/schema.ts';
import type { TraceRecord } from '../ftrace/types.ts';
import type { CgroupReader, PressureInfo } from '../sources/types.ts';
import { type ContainerInfo, containerLabel, parseContainer } from './container.ts';

/** Events a live run enables to keep cgroups current (rare: moves, forks, exits). */
export const CGROUP_EVENTS = [
  'cgroup:cgroup_attach_task',
  'cgroup:cgroup_transfer_tasks',
  'sched:sched_process_fork',
  'sched:sched_process_exit',
];

const SLOTS = 1 << 16;
const MASK = SLOTS - 1;
/** Distinct cgroup paths kept (per hierarchy) before the tables start over. */
export const MAX_CGROUPS = 4096;
/** /proc/<tid>/cgroup reads per read cycle at most (a fork storm must not turn into a read storm). */
export const RESOLVE_BUDGET = 512;
/** A cgroup stays sampled this long after its last pair. */
export const ACTIVE_NS = 10e9;
/** How often the quota of an active cgroup (and its ancestors) is looked at again. */
export const QUOTA_RECHECK_NS = 10e9;
/** Quota groups whose throttling counters are sampled every read cycle, at most. */
export const MAX_THROTTLE_GROUPS = 64;
/** Samples kept per group: 12.8 s at the 100 ms read cycle. */
const RING = 128;
export const PRESSURE_TTL_NS = 1e9;

const S_NONE = 0;
const S_INHERITED = 1;
const S_RESOLVED = 2;

export interface CgroupTableStats {
  /** Threads whose cgroup was read from /proc, and reads that found no thread (it had exited). */
  resolved: number;
  resolveFailed: number;
  /** Lookups beyond the per-cycle read budget (answered with the inherited value or unknown, retried later). */
  deferred: number;
  /** Moves seen in `cgroup_attach_task`/`cgroup_transfer_tasks`. */
  moves: number;
  /** Children that inherited their parent's cgroup at fork. */
  inherited: number;
  /** Threads pushed out of the table by another tid in the same slot. */
  evicted: number;
  /** Times the path table was full and everything started over. */
  resets: number;
  /** Throttling: quota groups sampled now, groups evicted for room, outliers whose window had no earlier sample. */
  throttleGroups: number;
  throttleEvicted: number;
  throttleUncovered: number;
}

/** CPU throttling of an outlier's cgroup over a window that covers the outlier. */
export interface ThrottleWindow {
  /** The cgroup whose quota applies (the thread's own, or the nearest ancestor with a quota). */
  cgroup: string;
  nr_throttled: number;
  throttled_ns: number;
  /** Source-relative sample times bracketing the outlier. */
  from: number;
  to: number;
}

class Interner {
  strings: string[] = [];
  map = new Map<string, number>();
  id(s: string): number {
    let id = this.map.get(s);
    if (id === undefined) {
      if (this.strings.length >= MAX_CGROUPS) return -2;
      id = this.strings.length;
      this.strings.push(s);
      this.map.set(s, id);
    }
    return id;
  }
  clear(): void {
    this.strings = [];
    this.map.clear();
  }
}

interface Ring {
  t: Float64Array;
  nr: Float64Array;
  ns: Float64Array;
  head: number;
  n: number;
  lastUse: number;
}

export class CgroupTable {
  readonly stats: CgroupTableStats = {
    resolved: 0,
    resolveFailed: 0,
    deferred: 0,
    moves: 0,
    inherited: 0,
    evicted: 0,
    resets: 0,
    throttleGroups: 0,
    throttleEvicted: 0,
    throttleUncovered: 0,
  };
  private readonly tids = new Int32Array(SLOTS).fill(-1);
  private readonly ids = new Int32Array(SLOTS).fill(-1);
  private readonly cpuIds = new Int32Array(SLOTS).fill(-1);
  private readonly state = new Uint8Array(SLOTS);
  private readonly paths = new Interner();
  private readonly cpuPaths: Interner;
  private readonly sameHierarchy: boolean;
  /** Per path id: parsed container (undefined = not parsed yet), `--cgroup` match (0 unknown, 1 yes, 2 no). */
  private containers: (ContainerInfo | null | undefined)[] = [];
  private unitLabels: (string | undefined)[] = [];
  private containerLabels: (string | undefined)[] = [];
  private readonly match = new Uint8Array(MAX_CGROUPS);
  /** Per cpu path id: last pair (source ns), quota group and when it was looked up. */
  private readonly lastActive = new Float64Array(MAX_CGROUPS).fill(Number.NEGATIVE_INFINITY);
  private readonly quotaAt = new Float64Array(MAX_CGROUPS).fill(Number.NEGATIVE_INFINITY);
  private quotaGroup: (string | null)[] = [];
  private readonly rings = new Map<string, Ring>();
  /** Per path id: pressure and when it was read. */
  private readonly pressureAt = new Float64Array(MAX_CGROUPS).fill(Number.NEGATIVE_INFINITY);
  private pressures: (PressureInfo | null)[] = [];
  private budget = RESOLVE_BUDGET;

  /**
   * @param reader the machine's cgroups
   * @param prefix `--cgroup`: paths equal to it or below it match (`matches`)
   */
  constructor(
    readonly reader: CgroupReader,
    private readonly prefix?: string,
  ) {
    this.sameHierarchy = reader.cpuHierarchy === reader.pathHierarchy;
    this.cpuPaths = this.sameHierarchy ? this.paths : new Interner();
  }

  /** The cgroup path id of `tid` now (-1 unknown). Resolves on first need; allocation-free once known. */
  idOf(tid: number): number {
    if (tid <= 0) return -1;
    const slot = tid & MASK;
    if (this.tids[slot] === tid && this.state[slot] === S_RESOLVED) return this.ids[slot];
    return this.resolve(tid, slot) ? this.ids[slot] : -1;
  }

  /** The cpu-controller path id of `tid` (-1 unknown). */
  cpuIdOf(tid: number): number {
    if (tid <= 0) return -1;
    const slot = tid & MASK;
    if (this.tids[slot] === tid && this.state[slot] === S_RESOLVED) return this.cpuIds[slot];
    return this.resolve(tid, slot) ? this.cpuIds[slot] : -1;
  }

  path(id: number): string | null {
    return id >= 0 ? (this.paths.strings[id] ?? null) : null;
  }

  cpuPath(id: number): string | null {
    return id >= 0 ? (this.cpuPaths.strings[id] ?? null) : null;
  }

  container(id: number): ContainerInfo | null {
    if (id < 0) return null;
    let c = this.containers[id];
    if (c === undefined) {
      c = parseContainer(this.paths.strings[id]);
      this.containers[id] = c;
    }
    return c;
  }

  /** The container label or unit of path `id` ('-' when none), cached per path. */
  label(field: 'container' | 'unit', id: number): string {
    const cache = field === 'unit' ? this.unitLabels : this.containerLabels;
    let l = cache[id];
    if (l === undefined) {
      const c = this.container(id);
      l = (field === 'unit' ? c?.unit : containerLabel(c)) ?? '-';
      cache[id] = l;
    }
    return l;
  }

  /** True when path `id` is the `--cgroup` path or below it (false when unknown). */
  matches(id: number): boolean {
    if (this.prefix === undefined) return true;
    if (id < 0) return false;
    let m = this.match[id];
    if (m === 0) {
      const p = this.paths.strings[id];
      const pre = this.prefix;
      m = p === pre || pre === '/' || p.startsWith(pre.endsWith('/') ? pre : `${pre}/`) ? 1 : 2;
      this.match[id] = m;
    }
    return m === 1;
  }

  /** A pair of `tid` ended at source time `ts`: its cpu cgroup is active (sampled for throttling). */
  touch(tid: number, ts: number): void {
    const id = this.cpuIdOf(tid);
    if (id >= 0) this.lastActive[id] = ts;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Events (rare): moves, forks, exits

  /**
   * `tid` moved to `path` in hierarchy `hierarchy` (`dst_root`); other hierarchies are ignored. When `tid` leads a
   * process, its other threads known here move too (a `cgroup.procs` write moves them all but traces only the
   * leader; the thread list is read from /proc: rare events). A per-thread move of a leader alone (v1 `tasks`, v2
   * threaded groups) is taken for the whole process until its threads are looked at again.
   */
  attach(tid: number, hierarchy: number, path: string): void {
    if (tid <= 0) return;
    const r = this.reader;
    if (hierarchy !== r.pathHierarchy && hierarchy !== r.cpuHierarchy) return;
    this.stats.moves++;
    this.attachOne(tid, hierarchy, path);
    for (const t of r.threadsOf(tid)) {
      const slot = t & MASK;
      if (this.tids[slot] === t) this.attachOne(t, hierarchy, path);
    }
  }

  private attachOne(tid: number, hierarchy: number, path: string): void {
    const r = this.reader;
    const own = hierarchy === r.pathHierarchy;
    const cpu = hierarchy === r.cpuHierarchy;
    const slot = this.claim(tid);
    if (own) {
      const id = this.intern(this.paths, path);
      if (id < 0) return;
      this.ids[slot] = id;
    }
    if (cpu) {
      const id = this.intern(this.cpuPaths, path);
      if (id < 0) return;
      this.cpuIds[slot] = id;
    }
    // Knowing one hierarchy of a thread seen for the first time is not knowing both: resolve the other on need.
    if (this.state[slot] === S_NONE && !this.sameHierarchy) return;
    this.state[slot] = S_RESOLVED;
  }

  fork(parent: number, child: number): void {
    if (child <= 0) return;
    const ps = parent & MASK;
    const known = parent > 0 && this.tids[ps] === parent && this.state[ps] !== S_NONE;
    const id = known ? this.ids[ps] : -1;
    const cpuId = known ? this.cpuIds[ps] : -1;
    const slot = this.claim(child);
    this.ids[slot] = id;
    this.cpuIds[slot] = cpuId;
    this.state[slot] = known ? S_INHERITED : S_NONE;
    if (known) this.stats.inherited++;
  }

  exit(tid: number): void {
    if (tid <= 0) return;
    const slot = tid & MASK;
    if (this.tids[slot] !== tid) return;
    this.tids[slot] = -1;
    this.state[slot] = S_NONE;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Read cycles: throttling samples

  /** A read cycle starts at source time `ts` (`RecordSink.cycle`): refills the read budget, samples throttling. */
  cycle(ts: number): void {
    this.budget = RESOLVE_BUDGET;
    const n = this.cpuPaths.strings.length;
    const since = ts - ACTIVE_NS;
    for (let id = 0; id < n; id++) {
      if (this.lastActive[id] < since) continue;
      const group = this.quotaGroupOf(id, ts);
      if (group !== null) this.sample(group, ts);
    }
    this.stats.throttleGroups = this.rings.size;
  }

  /**
   * Throttling of cpu path `cpuId` over [start, end] (source ns): undefined when no quota applies (nothing can have
   * been throttled), null when the samples do not reach back to the start (counted).
   */
  throttle(cpuId: number, start: number, end: number): ThrottleWindow | null | undefined {
    if (cpuId < 0) return undefined;
    const group = this.quotaGroupOf(cpuId, this.reader.now());
    if (group === null) return undefined;
    let ring = this.rings.get(group);
    // The newest sample must be at or after the end: read one now if the last cycle's is older.
    if (ring === undefined || ring.n === 0 || ring.t[(ring.head - 1 + RING) % RING] < end) {
      this.sample(group, Number.NEGATIVE_INFINITY);
      ring = this.rings.get(group);
    }
    if (ring === undefined || ring.n === 0) return null;
    let i0 = -1;
    let i1 = -1;
    for (let k = 0; k < ring.n; k++) {
      const i = (ring.head - ring.n + k + RING) % RING;
      if (ring.t[i] <= start) i0 = i;
      if (i1 < 0 && ring.t[i] >= end) i1 = i;
    }
    if (i0 < 0 || i1 < 0) {
      this.stats.throttleUncovered++;
      return null;
    }
    return {
      cgroup: group,
      nr_throttled: ring.nr[i1] - ring.nr[i0],
      throttled_ns: ring.ns[i1] - ring.ns[i0],
      from: ring.t[i0],
      to: ring.t[i1],
    };
  }

  /** Pressure stall information of path `id`, read at most once per `PRESSURE_TTL_NS`. */
  pressure(id: number): PressureInfo | null {
    if (id < 0) return null;
    const now = this.reader.now();
    if (now - this.pressureAt[id] < PRESSURE_TTL_NS) return this.pressures[id] ?? null;
    const p = this.reader.pressure(this.paths.strings[id]) ?? null;
    this.pressures[id] = p;
    this.pressureAt[id] = now;
    return p;
  }

  /** The nearest cgroup with a CPU quota from cpu path `id` up (the root has none), cached for a while. */
  private quotaGroupOf(id: number, ts: number): string | null {
    if (ts - this.quotaAt[id] < QUOTA_RECHECK_NS && this.quotaGroup[id] !== undefined) return this.quotaGroup[id];
    let p: string | null = this.cpuPaths.strings[id] ?? null;
    let found: string | null = null;
    for (let depth = 0; p !== null && p !== '/' && p !== '' && depth < 64; depth++) {
      if (this.reader.hasQuota(p)) {
        found = p;
        break;
      }
      const cut = p.lastIndexOf('/');
      p = cut <= 0 ? null : p.slice(0, cut);
    }
    this.quotaGroup[id] = found;
    this.quotaAt[id] = Number.isFinite(ts) ? ts : this.reader.now();
    return found;
  }

  private sample(group: string, ts: number): void {
    let ring = this.rings.get(group);
    if (ring === undefined) {
      if (this.rings.size >= MAX_THROTTLE_GROUPS) {
        let oldest: string | undefined;
        let at = Number.POSITIVE_INFINITY;
        for (const [g, r] of this.rings) {
          if (r.lastUse < at) {
            at = r.lastUse;
            oldest = g;
          }
        }
        if (oldest !== undefined) this.rings.delete(oldest);
        this.stats.throttleEvicted++;
      }
      ring = {
        t: new Float64Array(RING),
        nr: new Float64Array(RING),
        ns: new Float64Array(RING),
        head: 0,
        n: 0,
        lastUse: ts,
      };
      this.rings.set(group, ring);
    }
    const s = this.reader.throttle(group);
    if (s === undefined) return;
    if (Number.isFinite(ts)) ring.lastUse = ts;
    ring.t[ring.head] = s.t;
    ring.nr[ring.head] = s.nr;
    ring.ns[ring.head] = s.ns;
    ring.head = (ring.head + 1) % RING;
    if (ring.n < RING) ring.n++;
  }

  // -------------------------------------------------------------------------------------------------------------

  /** The slot of `tid`, taken over from another tid if needed (counted). */
  private claim(tid: number): number {
    const slot = tid & MASK;
    if (this.tids[slot] !== tid) {
      if (this.tids[slot] >= 0) this.stats.evicted++;
      this.tids[slot] = tid;
      this.ids[slot] = -1;
      this.cpuIds[slot] = -1;
      this.state[slot] = S_NONE;
    }
    return slot;
  }

  /** Reads /proc/<tid>/cgroup for a thread not resolved yet; true when `ids[slot]` is to be used. */
  private resolve(tid: number, slot: number): boolean {
    const mine = this.tids[slot] === tid;
    if (this.budget <= 0) {
      this.stats.deferred++;
      return mine && this.state[slot] === S_INHERITED;
    }
    this.budget--;
    const r = this.reader.resolve(tid);
    const s = this.claim(tid);
    if (r === undefined) {
      // Gone already: keep what the fork handed down (or unknown), and do not read again for this thread.
      this.stats.resolveFailed++;
      this.state[s] = S_RESOLVED;
      return true;
    }
    this.stats.resolved++;
    let id = this.intern(this.paths, r.path);
    if (id === -3) return false; // the tables started over: this thread is gone with them
    let cpuId = r.cpuPath === null ? -1 : this.sameHierarchy ? id : this.intern(this.cpuPaths, r.cpuPath);
    if (cpuId === -3) return false;
    if (id < 0) id = -1;
    if (cpuId < 0) cpuId = -1;
    this.ids[s] = id;
    this.cpuIds[s] = cpuId;
    this.state[s] = S_RESOLVED;
    return true;
  }

  /** Interns a path; when the table is full, everything starts over (counted) and -3 is returned. */
  private intern(t: Interner, path: string): number {
    const id = t.id(path);
    if (id !== -2) return id;
    this.reset();
    return -3;
  }

  private reset(): void {
    this.stats.resets++;
    this.paths.clear();
    this.cpuPaths.clear();
    this.tids.fill(-1);
    this.state.fill(S_NONE);
    this.containers = [];
    this.unitLabels = [];
    this.containerLabels = [];
    this.match.fill(0);
    this.lastActive.fill(Number.NEGATIVE_INFINITY);
    this.quotaAt.fill(Number.NEGATIVE_INFINITY);
    this.quotaGroup = [];
    this.pressureAt.fill(Number.NEGATIVE_INFINITY);
    this.pressures = [];
  }
}

/**
 * Short human label of a path id for `--group-by`: the path, the container, or the systemd unit ('-': none).
 * Computed once per path (no string per pair).
 */
export function cgroupLabel(t: CgroupTable, field: 'cgroup' | 'container' | 'unit', id: number): string {
  if (id < 0) return '-';
  if (field === 'cgroup') return t.path(id) ?? '-';
  return t.label(field, id);
}

/**
 * Handlers keeping `t` current: moves (`cgroup_attach_task`, `cgroup_transfer_tasks`: `dst_root`, `pid`,
 * `dst_path`), forks (`parent_pid`, `child_pid`) and exits (`pid`). Rare events: the path string is built per event.
 */
export function cgroupObservers(schema: EventSchema, t: CgroupTable): [string, (r: TraceRecord) => void][] {
  const out: [string, (r: TraceRecord) => void][] = [];
  const le = schema.littleEndian;
  const span = { start: 0, end: 0 };
  const dec = new TextDecoder('utf-8', { fatal: false });
  for (const ev of ['cgroup:cgroup_attach_task', 'cgroup:cgroup_transfer_tasks']) {
    const f = schema.find(ev);
    const pathField = f?.byName.get('dst_path');
    if (f === undefined || pathField === undefined || !f.byName.has('dst_root') || !f.byName.has('pid')) continue;
    const root = intReader(f, 'dst_root', schema);
    const pid = intReader(f, 'pid', schema);
    out.push([
      ev,
      (r) => {
        fieldSpan(pathField, r, le, span);
        let end = span.start;
        while (end < span.end && r.bytes[r.off + end] !== 0) end++;
        if (end <= span.start) return;
        t.attach(pid(r), root(r), dec.decode(r.bytes.subarray(r.off + span.start, r.off + end)));
      },
    ]);
  }
  const fork = schema.find('sched:sched_process_fork');
  if (fork?.byName.has('parent_pid') && fork.byName.has('child_pid')) {
    const parent = intReader(fork, 'parent_pid', schema);
    const child = intReader(fork, 'child_pid', schema);
    out.push(['sched:sched_process_fork', (r) => t.fork(parent(r), child(r))]);
  }
  const exit = schema.find('sched:sched_process_exit');
  if (exit?.byName.has('pid')) {
    const pid = intReader(exit, 'pid', schema);
    out.push(['sched:sched_process_exit', (r) => t.exit(pid(r))]);
  }
  return out;
}
