/**
 * The core of latency-tracker: pair a begin event with its end event by key, measure the time between them, and call
 * back when the pair is slower than its threshold or still unfinished after its timeout.
 *
 * After the `latency_tracker` kernel module (Desfossez & Dagenais, 2014): `event_in`, `event_out`, refcounted
 * `get_event`/`put_event`, preallocated memory. Here:
 * - all memory is allocated at construction (`capacity` slots, an open-addressing index twice that size);
 * - keys are exact (see `key.ts`); number keys and the `*Parts` methods allocate nothing per event;
 * - nothing on the recording path throws: unknown keys, negative deltas, a full table and invalid keys are counted;
 * - time is plain `number` nanoseconds on the caller's own time line (DESIGN §2).
 */
import { hashParts, joinKey, type Key, type KeyParts, splitKey } from './key.ts';

export type { Key } from './key.ts';

export type LatencyReason = 'threshold' | 'timeout';

/** What `onLatency` receives. Allocated only when a latency is reported (outliers and timeouts are rare). */
export interface LatencyEvent<D> {
  /** Name of the tracker that reported it. */
  tracker: string;
  key: Key;
  /** Begin time (the `ts` given to `eventIn`). */
  start: number;
  /** End time: the `eventOut` time, or for a timeout the `advance` time at which it fired. */
  end: number;
  /** `end - start`, ns. */
  latency: number;
  reason: LatencyReason;
  data: D | undefined;
}

export interface TrackerOptions<D> {
  /** Name used in reports and errors. */
  name?: string;
  /** Max events in flight, allocated up front; `eventIn` beyond it returns `'full'`. */
  capacity: number;
  /** Default threshold in ns: a pair whose latency is strictly greater is reported. Default 0 (report every pair). */
  threshold?: number;
  /** Default timeout in ns; 0 = none. */
  timeout?: number;
  /** Called for every latency over threshold (`reason: 'threshold'`) and every timeout (`reason: 'timeout'`). */
  onLatency?: (e: LatencyEvent<D>) => void;
  /** Clock used by `advance()` when it is called without a time. */
  now?: () => number;
}

export interface EventInOptions<D> {
  /** Threshold for this event only (ns); otherwise the tracker's threshold at `eventOut` time. */
  threshold?: number;
  /** Timeout for this event only (ns); 0 = none for this event; otherwise the tracker's timeout. */
  timeout?: number;
  /** Caller data kept with the event and handed back in `onLatency` and through `getEvent`. */
  data?: D;
  /** Replace an event already in flight with the same key (counted as `replaced`) instead of keeping the first. */
  unique?: boolean;
}

/** `'invalid'` is returned (and counted) for a key that cannot be represented exactly or a NaN time. */
export type EventInResult = 'ok' | 'full' | 'replaced' | 'exists' | 'invalid';

export interface TrackerStats {
  /** Events accepted by `eventIn` (`ok` + `replaced`). */
  tracked: number;
  /** Events in flight now. */
  inFlight: number;
  /** `eventIn` refused because every slot was in use. */
  full: number;
  /** In-flight events replaced by a `unique` `eventIn` (their end was never seen). */
  replaced: number;
  /** `eventIn` ignored because the key was already in flight (first event kept). */
  exists: number;
  /** Pairs measured by `eventOut`. */
  completed: number;
  /** `eventOut` of a key not in flight. */
  unmatchedOut: number;
  /** Pairs dropped because the end was before the begin. */
  negative: number;
  /** Pairs reported with `reason: 'threshold'`. */
  overThreshold: number;
  /** Timeouts reported. */
  timeouts: number;
  /** In-flight events dropped by `discardBefore` (e.g. after lost kernel events). */
  discarded: number;
  /** Keys or times refused as invalid. */
  invalid: number;
  /** `putEvent` of a handle that held no reference. */
  badPut: number;
}

/** Thrown at construction or by the setters for a bad configuration; never on the recording path. */
export class TrackerConfigError extends Error {
  override name = 'TrackerConfigError';
}

const FREE = 0;
const IN_FLIGHT = 1;
/** Ended or replaced, but still referenced through `getEvent`: the slot is not reused until `putEvent`. */
const DETACHED = 2;

// Per-slot integer fields, packed in one Int32Array with stride M (fewer array loads on the hot path).
const M = 8;
const M_HI = 0; // key: high 32 bits of the 64-bit part (stored `| 0`)
const M_LO = 1; // key: low 32 bits (stored `| 0`)
const M_HASH = 2; // full hash (stored `| 0`); home position = (hash >>> 0) >>> shift
const M_STATE = 3; // FREE | IN_FLIGHT | DETACHED
const M_FLAGS = 4; // F_LINKED | F_FIRED
const M_REFS = 5; // references held through getEvent
const M_PREV = 6; // default-timeout list
const M_NEXT = 7;
const F_LINKED = 1; // in the default-timeout list
const F_FIRED = 2; // its timeout has fired (a timeout fires at most once)
// Per-slot float fields, packed in one Float64Array with stride N.
const N = 4;
const N_START = 0;
const N_THR = 1; // per-event threshold, NaN = the tracker's
const N_TMO = 2; // per-event timeout: NaN = the tracker's, 0 = none, > 0 = explicit (kept in the heap)
const N_K0 = 3; // key: composite part

/**
 * A reference to an event obtained with `getEvent`. It stays valid (same key, same data) until `putEvent`, even if
 * the event ends in between. The caller owns one reference per successful `getEvent` and must `putEvent` it.
 */
export class EventHandle<D> {
  /** @internal */
  constructor(
    private readonly t: Tracker<D>,
    /** Slot index inside the tracker. */
    readonly slot: number,
  ) {}
  get key(): Key {
    return this.t.keyOfSlot(this.slot);
  }
  get start(): number {
    return this.t.startOfSlot(this.slot);
  }
  get data(): D | undefined {
    return this.t.dataOfSlot(this.slot);
  }
  set data(v: D | undefined) {
    this.t.setDataOfSlot(this.slot, v);
  }
  /** False once the event has ended (or was replaced) while this handle was held. */
  get inFlight(): boolean {
    return this.t.slotInFlight(this.slot);
  }
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function checkDuration(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new TrackerConfigError(`${what} must be a finite number of nanoseconds >= 0, got ${String(v)}`);
  }
  return v;
}

export class Tracker<D = unknown> {
  readonly name: string;
  readonly capacity: number;
  private thresholdNs: number;
  private timeoutNs: number;
  private readonly onLatency: ((e: LatencyEvent<D>) => void) | undefined;
  private readonly now: (() => number) | undefined;

  // Open-addressing index (linear probing, backward-shift deletion): slot + 1, 0 = empty. Sized 2x capacity.
  private readonly index: Int32Array;
  private readonly mask: number;
  /** Home position = top bits of the multiplicative hash: `(hash >>> 0) >>> shift`. */
  private readonly shift: number;
  private readonly m: Int32Array;
  private readonly f: Float64Array;
  private readonly data: (D | undefined)[];
  private readonly handles: (EventHandle<D> | undefined)[];
  private readonly free: Int32Array;
  private freeTop: number;
  // Events on the tracker's default timeout, while one is set: doubly linked list sorted by start (the oldest at the
  // head, whatever the timeout's value). Insertion scans from the tail: O(1) when events arrive in time order.
  private head = -1;
  private tail = -1;
  // Events with their own timeout: indexed binary min-heap on start + timeout.
  private readonly heap: Int32Array;
  private readonly heapPos: Int32Array;
  private heapSize = 0;

  private readonly parts: KeyParts = { k0: 0, hi: 0, lo: 0 };
  // Counters (plain fields: cheapest to bump on the hot path).
  private nTracked = 0;
  private nInFlight = 0;
  private nFull = 0;
  private nReplaced = 0;
  private nExists = 0;
  private nCompleted = 0;
  private nUnmatchedOut = 0;
  private nNegative = 0;
  private nOverThreshold = 0;
  private nTimeouts = 0;
  private nDiscarded = 0;
  private nInvalid = 0;
  private nBadPut = 0;

  constructor(o: TrackerOptions<D>) {
    if (o === null || typeof o !== 'object') throw new TrackerConfigError('tracker options must be an object');
    this.name = o.name ?? 'tracker';
    if (typeof this.name !== 'string') throw new TrackerConfigError('name must be a string');
    const cap = o.capacity;
    if (typeof cap !== 'number' || !Number.isInteger(cap) || cap <= 0 || cap > 1 << 24) {
      throw new TrackerConfigError(`capacity must be an integer in 1..${1 << 24}, got ${String(cap)}`);
    }
    this.capacity = cap;
    this.thresholdNs = checkDuration('threshold', o.threshold ?? 0);
    this.timeoutNs = checkDuration('timeout', o.timeout ?? 0);
    if (o.onLatency !== undefined && typeof o.onLatency !== 'function') {
      throw new TrackerConfigError('onLatency must be a function');
    }
    if (o.now !== undefined && typeof o.now !== 'function') throw new TrackerConfigError('now must be a function');
    this.onLatency = o.onLatency;
    this.now = o.now;

    const size = nextPow2(cap * 2);
    this.index = new Int32Array(size);
    this.mask = size - 1;
    this.shift = 32 - Math.log2(size);
    this.m = new Int32Array(cap * M);
    this.f = new Float64Array(cap * N);
    this.data = new Array<D | undefined>(cap).fill(undefined);
    this.handles = new Array<EventHandle<D> | undefined>(cap).fill(undefined);
    this.free = new Int32Array(cap);
    for (let i = 0; i < cap; i++) this.free[i] = cap - 1 - i;
    this.freeTop = cap;
    this.heap = new Int32Array(cap);
    this.heapPos = new Int32Array(cap).fill(-1);
  }

  /**
   * The data of the event ended by the latest successful `eventOut` (valid until the next one): lets a caller that
   * records every pair read what it stored at `eventIn` without a second lookup.
   */
  lastData: D | undefined = undefined;

  get threshold(): number {
    return this.thresholdNs;
  }
  get timeout(): number {
    return this.timeoutNs;
  }

  /** Changes the default threshold; applies from the next `eventOut`, including to events already in flight. */
  setThreshold(ns: number): void {
    this.thresholdNs = checkDuration('threshold', ns);
  }

  /** Changes the default timeout (0 = none); applies from the next `advance`, including to events in flight. */
  setTimeout(ns: number): void {
    const t = checkDuration('timeout', ns);
    const was = this.timeoutNs;
    this.timeoutNs = t;
    if (was > 0 && t === 0) {
      while (this.head >= 0) this.listUnlink(this.head);
    } else if (was === 0 && t > 0) {
      // The default-timeout list is kept only while a default timeout is set; rebuild it from the events in flight
      // (those that already timed out once stay out: a timeout fires at most once).
      const m = this.m;
      const f = this.f;
      for (let s = 0; s < this.capacity; s++) {
        const tmo = f[s * N + N_TMO];
        if (m[s * M + M_STATE] === IN_FLIGHT && Number.isNaN(tmo) && (m[s * M + M_FLAGS] & F_FIRED) === 0) {
          this.listInsert(s);
        }
      }
    }
  }

  get stats(): TrackerStats {
    return {
      tracked: this.nTracked,
      inFlight: this.nInFlight,
      full: this.nFull,
      replaced: this.nReplaced,
      exists: this.nExists,
      completed: this.nCompleted,
      unmatchedOut: this.nUnmatchedOut,
      negative: this.nNegative,
      overThreshold: this.nOverThreshold,
      timeouts: this.nTimeouts,
      discarded: this.nDiscarded,
      invalid: this.nInvalid,
      badPut: this.nBadPut,
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Recording path

  /** Begins an event. See `EventInResult`. */
  eventIn(key: Key, ts: number, opts?: EventInOptions<D>): EventInResult {
    if (typeof key === 'number' && key >>> 0 === key) return this.eventInParts(0, 0, key, ts, opts);
    const p = this.keyParts(key);
    return p === undefined ? 'invalid' : this.eventInParts(p.k0, p.hi, p.lo, ts, opts);
  }

  /**
   * Ends an event: returns its latency in ns, or -1 when the key is not in flight (counted as `unmatchedOut`) or
   * the end is before the begin (counted as `negative`). Reports it through `onLatency` when over threshold.
   */
  eventOut(key: Key, ts: number): number {
    if (typeof key === 'number' && key >>> 0 === key) return this.eventOutParts(0, 0, key, ts);
    const p = this.keyParts(key);
    return p === undefined ? -1 : this.eventOutParts(p.k0, p.hi, p.lo, ts);
  }

  /** Takes a reference to an in-flight event, or returns undefined. The caller must `putEvent` it. */
  getEvent(key: Key): EventHandle<D> | undefined {
    if (typeof key === 'number' && key >>> 0 === key) return this.getEventParts(0, 0, key);
    const p = this.keyParts(key);
    return p === undefined ? undefined : this.getEventParts(p.k0, p.hi, p.lo);
  }

  /**
   * `eventIn` with the key given as its exact parts (see `key.ts`): `k0` the composite part (0 for plain keys),
   * `hi`/`lo` the 64-bit value's unsigned 32-bit halves. Allocation-free: for 64-bit and composite keys on hot paths.
   */
  eventInParts(k0: number, hi: number, lo: number, ts: number, opts?: EventInOptions<D>): EventInResult {
    // Kept under V8's inlining size limit (so it inlines into callers): rare paths live in separate methods.
    const h = hashParts(k0, hi, lo);
    const p = this.probe(k0, hi | 0, lo | 0, h);
    if (p >= 0) return this.inExisting(this.index[p] - 1, p, ts, opts);
    if (this.freeTop === 0 || Number.isNaN(ts)) return this.inRefused(ts);
    const s = this.free[--this.freeTop];
    this.index[-p - 1] = s + 1;
    const m = this.m;
    const b = s * M;
    m[b + M_HI] = hi;
    m[b + M_LO] = lo;
    m[b + M_HASH] = h;
    m[b + M_STATE] = IN_FLIGHT;
    this.f[s * N + N_K0] = k0;
    this.nTracked++;
    this.nInFlight++;
    this.init(s, ts, opts);
    return 'ok';
  }

  /** `eventOut` with the key given as its exact parts (see `eventInParts`). */
  eventOutParts(k0: number, hi: number, lo: number, ts: number): number {
    // Kept under V8's inlining size limit (so it inlines into callers): rare paths live in separate methods.
    const p = this.probe(k0, hi | 0, lo | 0, hashParts(k0, hi, lo));
    if (p < 0) {
      this.nUnmatchedOut++;
      return -1;
    }
    const s = this.index[p] - 1;
    this.removeAt(p);
    this.nInFlight--;
    const m = this.m;
    const f = this.f;
    const b = s * M;
    const fb = s * N;
    if (m[b + M_FLAGS] !== 0 || f[fb + N_TMO] > 0) this.unlinkTimeout(s);
    const latency = ts - f[fb + N_START];
    const thr = f[fb + N_THR];
    this.lastData = this.data[s];
    if (m[b + M_REFS] !== 0) m[b + M_STATE] = DETACHED;
    else {
      m[b + M_STATE] = FREE;
      this.free[this.freeTop++] = s;
    }
    if (!(latency >= 0)) return this.outNegative(s);
    this.nCompleted++;
    if (latency > (Number.isNaN(thr) ? this.thresholdNs : thr)) this.report(s, k0, hi, lo, ts, latency);
    else if (m[b + M_STATE] === FREE && this.data[s] !== undefined) this.data[s] = undefined;
    return latency;
  }

  /**
   * Drops an in-flight event without measuring it (counted as `discarded`), e.g. the begin of a task that exits
   * inside a system call. Returns true when the key was in flight.
   */
  discard(key: Key): boolean {
    if (typeof key === 'number' && key >>> 0 === key) return this.discardParts(0, 0, key);
    const p = this.keyParts(key);
    return p === undefined ? false : this.discardParts(p.k0, p.hi, p.lo);
  }

  /** `discard` with the key given as its exact parts. */
  discardParts(k0: number, hi: number, lo: number): boolean {
    const pos = this.probe(k0, hi | 0, lo | 0, hashParts(k0, hi, lo));
    if (pos < 0) return false;
    const s = this.index[pos] - 1;
    this.removeAt(pos);
    this.unlinkTimeout(s);
    this.nInFlight--;
    this.nDiscarded++;
    if (this.m[s * M + M_REFS] > 0) this.m[s * M + M_STATE] = DETACHED;
    else this.release(s);
    return true;
  }

  /** `getEvent` with the key given as its exact parts. */
  getEventParts(k0: number, hi: number, lo: number): EventHandle<D> | undefined {
    const p = this.probe(k0, hi | 0, lo | 0, hashParts(k0, hi, lo));
    if (p < 0) return undefined;
    const s = this.index[p] - 1;
    this.m[s * M + M_REFS]++;
    let hd = this.handles[s];
    if (hd === undefined) {
      hd = new EventHandle<D>(this, s);
      this.handles[s] = hd;
    }
    return hd;
  }

  /** Releases a reference taken by `getEvent`. The slot is reused only when no reference is left. */
  putEvent(h: EventHandle<D> | undefined): void {
    if (h === undefined) return;
    const s = h.slot;
    const b = s * M;
    if (this.handles[s] !== h || this.m[b + M_REFS] <= 0) {
      this.nBadPut++;
      return;
    }
    if (--this.m[b + M_REFS] === 0 && this.m[b + M_STATE] === DETACHED) this.release(s);
  }

  /**
   * Fires the timeouts due by `ts` (trace time), or by the injected clock when `ts` is omitted. Each event times out
   * at most once and stays in flight. Returns the number fired.
   */
  advance(ts?: number): number {
    let now: number;
    if (ts !== undefined) now = ts;
    else if (this.now !== undefined) now = this.now();
    else return 0;
    if (Number.isNaN(now)) return 0;
    let fired = 0;
    const t = this.timeoutNs;
    const f = this.f;
    if (t > 0) {
      while (this.head >= 0 && f[this.head * N + N_START] + t <= now) {
        const s = this.head;
        this.listUnlink(s);
        this.fire(s, now);
        fired++;
      }
    }
    while (this.heapSize > 0 && this.deadlineOf(this.heap[0]) <= now) {
      const s = this.heap[0];
      this.heapRemove(s);
      this.fire(s, now);
      fired++;
    }
    return fired;
  }

  /**
   * Drops every in-flight event that began before `ts` (counted as `discarded`): used after lost kernel events,
   * whose missing ends would otherwise be reported as giant false latencies. O(capacity); returns the count.
   */
  discardBefore(ts: number): number {
    let n = 0;
    const m = this.m;
    for (let s = 0; s < this.capacity; s++) {
      if (m[s * M + M_STATE] !== IN_FLIGHT || !(this.f[s * N + N_START] < ts)) continue;
      this.removeAt(this.positionOf(s));
      this.unlinkTimeout(s);
      this.nInFlight--;
      if (m[s * M + M_REFS] > 0) m[s * M + M_STATE] = DETACHED;
      else this.release(s);
      n++;
    }
    this.nDiscarded += n;
    return n;
  }

  /** Calls `fn` for every in-flight event (not on the hot path: reports, debugging). */
  forEachInFlight(fn: (key: Key, start: number, data: D | undefined) => void): void {
    for (let s = 0; s < this.capacity; s++) {
      if (this.m[s * M + M_STATE] === IN_FLIGHT) fn(this.keyOfSlot(s), this.f[s * N + N_START], this.data[s]);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Slot accessors for EventHandle

  /** @internal */
  keyOfSlot(s: number): Key {
    return joinKey(this.f[s * N + N_K0], this.m[s * M + M_HI] >>> 0, this.m[s * M + M_LO] >>> 0);
  }
  /** @internal */
  startOfSlot(s: number): number {
    return this.f[s * N + N_START];
  }
  /** @internal */
  dataOfSlot(s: number): D | undefined {
    return this.data[s];
  }
  /** @internal */
  setDataOfSlot(s: number, v: D | undefined): void {
    if (this.m[s * M + M_STATE] !== FREE) this.data[s] = v;
  }
  /** @internal */
  slotInFlight(s: number): boolean {
    return this.m[s * M + M_STATE] === IN_FLIGHT;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Internals

  /** A key other than a uint32 (the callers' fast path) as its parts, or undefined (counted as invalid). */
  private keyParts(key: Key): KeyParts | undefined {
    const p = this.parts;
    if (splitKey(key, p)) return p;
    this.nInvalid++;
    return undefined;
  }

  /** eventIn of a key already in flight: kept (`exists`) or, with `unique`, replaced. */
  private inExisting(s: number, pos: number, ts: number, opts: EventInOptions<D> | undefined): EventInResult {
    if (Number.isNaN(ts)) return this.inRefused(ts);
    if (opts === undefined || opts.unique !== true) {
      this.nExists++;
      return 'exists';
    }
    const m = this.m;
    const b = s * M;
    if (m[b + M_REFS] > 0) {
      // Someone holds the old event: detach it and give the key a fresh slot (none free: 'full', counted there).
      this.removeAt(pos);
      this.unlinkTimeout(s);
      m[b + M_STATE] = DETACHED;
      this.nInFlight--;
      if (!this.insertNew(this.f[s * N + N_K0], m[b + M_HI], m[b + M_LO], m[b + M_HASH] >>> 0, ts, opts)) return 'full';
      this.nReplaced++;
      this.nTracked++;
      return 'replaced';
    }
    this.nReplaced++;
    this.nTracked++;
    this.unlinkTimeout(s);
    this.init(s, ts, opts);
    return 'replaced';
  }

  private inRefused(ts: number): EventInResult {
    if (Number.isNaN(ts)) {
      this.nInvalid++;
      return 'invalid';
    }
    this.nFull++;
    return 'full';
  }

  private outNegative(s: number): number {
    this.nNegative++;
    if (this.m[s * M + M_STATE] === FREE) this.data[s] = undefined;
    return -1;
  }

  /** A pair over threshold: count it and call back (allocates the report: outliers are rare). */
  private report(s: number, k0: number, hi: number, lo: number, end: number, latency: number): void {
    this.nOverThreshold++;
    const data = this.data[s];
    if (this.m[s * M + M_STATE] === FREE) this.data[s] = undefined;
    const cb = this.onLatency;
    if (cb !== undefined) {
      cb({
        tracker: this.name,
        key: joinKey(k0, hi >>> 0, lo >>> 0),
        start: end - latency,
        end,
        latency,
        reason: 'threshold',
        data,
      });
    }
  }

  /**
   * Looks a key up: its index position (>= 0) when in flight, else `-(p + 1)` with `p` the empty position where it
   * would go. `hi32`/`lo32` are the halves as stored (`| 0`).
   */
  private probe(k0: number, hi32: number, lo32: number, h: number): number {
    const index = this.index;
    const m = this.m;
    let pos = h >>> this.shift;
    for (;;) {
      const e = index[pos];
      if (e === 0) return -pos - 1;
      const b = (e - 1) * M;
      if (m[b + M_LO] === lo32 && m[b + M_HI] === hi32 && this.f[(e - 1) * N + N_K0] === k0) return pos;
      pos = (pos + 1) & this.mask;
    }
  }

  private positionOf(s: number): number {
    let pos = (this.m[s * M + M_HASH] >>> 0) >>> this.shift;
    while (this.index[pos] !== s + 1) pos = (pos + 1) & this.mask;
    return pos;
  }

  private insertNew(k0: number, hi32: number, lo32: number, h: number, ts: number, opts?: EventInOptions<D>): boolean {
    if (this.freeTop === 0) {
      this.nFull++;
      return false;
    }
    const s = this.free[--this.freeTop];
    let pos = h >>> this.shift;
    while (this.index[pos] !== 0) pos = (pos + 1) & this.mask;
    const b = s * M;
    this.m[b + M_HI] = hi32;
    this.m[b + M_LO] = lo32;
    this.m[b + M_HASH] = h;
    this.m[b + M_STATE] = IN_FLIGHT;
    this.f[s * N + N_K0] = k0;
    this.index[pos] = s + 1;
    this.init(s, ts, opts);
    this.nInFlight++;
    return true;
  }

  private init(s: number, ts: number, opts: EventInOptions<D> | undefined): void {
    const f = this.f;
    const fb = s * N;
    f[fb + N_START] = ts;
    this.m[s * M + M_FLAGS] = 0;
    if (opts === undefined) {
      f[fb + N_THR] = Number.NaN;
      f[fb + N_TMO] = Number.NaN;
      // A freed slot's data is always cleared (eventOut, release); only an in-place replacement can hold some.
      if (this.data[s] !== undefined) this.data[s] = undefined;
      if (this.timeoutNs > 0) this.listInsert(s);
      return;
    }
    const thr = opts.threshold;
    f[fb + N_THR] = typeof thr === 'number' && thr >= 0 ? thr : Number.NaN;
    this.data[s] = opts.data;
    const t = opts.timeout;
    if (typeof t === 'number' && t >= 0) {
      f[fb + N_TMO] = t;
      if (t > 0) this.heapPush(s);
    } else {
      f[fb + N_TMO] = Number.NaN;
      if (this.timeoutNs > 0) this.listInsert(s);
    }
  }

  private release(s: number): void {
    this.m[s * M + M_STATE] = FREE;
    this.data[s] = undefined;
    this.free[this.freeTop++] = s;
  }

  private deadlineOf(s: number): number {
    return this.f[s * N + N_START] + this.f[s * N + N_TMO];
  }

  private fire(s: number, now: number): void {
    this.m[s * M + M_FLAGS] |= F_FIRED;
    this.nTimeouts++;
    const cb = this.onLatency;
    if (cb !== undefined) {
      const start = this.f[s * N + N_START];
      cb({
        tracker: this.name,
        key: this.keyOfSlot(s),
        start,
        end: now,
        latency: now - start,
        reason: 'timeout',
        data: this.data[s],
      });
    }
  }

  /** Removes index entry `pos` with backward-shift deletion (keeps probe chains intact without tombstones). */
  private removeAt(pos: number): void {
    const index = this.index;
    const mask = this.mask;
    const m = this.m;
    const shift = this.shift;
    let i = pos;
    let j = pos;
    for (;;) {
      j = (j + 1) & mask;
      const e = index[j];
      if (e === 0) break;
      const home = (m[(e - 1) * M + M_HASH] >>> 0) >>> shift;
      // Move entry j back to the hole i unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        index[i] = e;
        i = j;
      }
    }
    index[i] = 0;
  }

  private unlinkTimeout(s: number): void {
    if (this.m[s * M + M_FLAGS] & F_LINKED) this.listUnlink(s);
    else if (this.heapPos[s] >= 0) this.heapRemove(s);
  }

  private listInsert(s: number): void {
    const m = this.m;
    const f = this.f;
    const ts = f[s * N + N_START];
    let p = this.tail;
    while (p >= 0 && f[p * N + N_START] > ts) p = m[p * M + M_PREV];
    // insert after p (p = -1: at head)
    const n = p >= 0 ? m[p * M + M_NEXT] : this.head;
    m[s * M + M_PREV] = p;
    m[s * M + M_NEXT] = n;
    if (p >= 0) m[p * M + M_NEXT] = s;
    else this.head = s;
    if (n >= 0) m[n * M + M_PREV] = s;
    else this.tail = s;
    m[s * M + M_FLAGS] |= F_LINKED;
  }

  private listUnlink(s: number): void {
    const m = this.m;
    const p = m[s * M + M_PREV];
    const n = m[s * M + M_NEXT];
    if (p >= 0) m[p * M + M_NEXT] = n;
    else this.head = n;
    if (n >= 0) m[n * M + M_PREV] = p;
    else this.tail = p;
    m[s * M + M_FLAGS] &= ~F_LINKED;
  }

  private heapPush(s: number): void {
    const i = this.heapSize++;
    this.heap[i] = s;
    this.heapPos[s] = i;
    this.siftUp(i);
  }

  private heapRemove(s: number): void {
    const i = this.heapPos[s];
    const last = this.heap[--this.heapSize];
    this.heapPos[s] = -1;
    if (i === this.heapSize) return;
    this.heap[i] = last;
    this.heapPos[last] = i;
    this.siftUp(i);
    this.siftDown(this.heapPos[last]);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const s = heap[i];
    const d = this.deadlineOf(s);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ps = heap[p];
      if (this.deadlineOf(ps) <= d) break;
      heap[i] = ps;
      this.heapPos[ps] = i;
      i = p;
    }
    heap[i] = s;
    this.heapPos[s] = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = this.heapSize;
    const s = heap[i];
    const d = this.deadlineOf(s);
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.deadlineOf(heap[r]) < this.deadlineOf(heap[l]) ? r : l;
      if (this.deadlineOf(heap[c]) >= d) break;
      heap[i] = heap[c];
      this.heapPos[heap[i]] = i;
      i = c;
    }
    heap[i] = s;
    this.heapPos[s] = i;
  }
}

/** Creates a tracker; throws `TrackerConfigError` for a bad configuration. See `Tracker`. */
export function createTracker<D = unknown>(opts: TrackerOptions<D>): Tracker<D> {
  return new Tracker<D>(opts);
}
