/**
 * Core tracker throughput: eventIn+eventOut pairs per second with integer, 64-bit and composite keys, each against a
 * straightforward Map-based tracker in the same run, plus heap growth over 10 M steady-state pairs.
 * Measures the built package (`dist/`, what users run; `npm run bench` builds it first).
 */
import { createTracker } from '../dist/index.js';
import { type BenchResult, bestOf, fmtRate } from './util.ts';

const KEYS = 4096; // distinct keys cycling through the table (like tids)
const IN_FLIGHT = 256; // pairs open at any time

/** Baseline 1, minimal: a Map from key to start time only (no per-event data, threshold or timeout). */
class MapTracker {
  private m = new Map<unknown, number>();
  constructor(private threshold: number) {}
  over = 0;
  eventIn(key: unknown, ts: number) {
    if (!this.m.has(key)) this.m.set(key, ts);
  }
  eventOut(key: unknown, ts: number) {
    const s = this.m.get(key);
    if (s === undefined) return -1;
    this.m.delete(key);
    const l = ts - s;
    if (l > this.threshold) this.over++;
    return l;
  }
}

/** Baseline 2, straightforward with the same per-event state: a Map from key to an entry object. */
class MapEntryTracker {
  private m = new Map<unknown, { start: number; threshold: number; data: unknown }>();
  constructor(private threshold: number) {}
  over = 0;
  eventIn(key: unknown, ts: number, data?: unknown) {
    if (!this.m.has(key)) this.m.set(key, { start: ts, threshold: this.threshold, data });
  }
  eventOut(key: unknown, ts: number) {
    const e = this.m.get(key);
    if (e === undefined) return -1;
    this.m.delete(key);
    const l = ts - e.start;
    if (l > e.threshold) this.over++;
    return l;
  }
}

export function trackerBench(n: number): BenchResult[] {
  const out: BenchResult[] = [];
  const threshold = 1e12;

  // Integer keys.
  const intOurs = bestOf(3, () => {
    const t = createTracker({ capacity: 65536, threshold });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      t.eventIn((i + IN_FLIGHT) % KEYS, i);
      t.eventOut(i % KEYS, i + 3);
    }
    return (n / (performance.now() - t0)) * 1000;
  });
  const intMap = bestOf(3, () => {
    const t = new MapTracker(threshold);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      t.eventIn((i + IN_FLIGHT) % KEYS, i);
      t.eventOut(i % KEYS, i + 3);
    }
    return (n / (performance.now() - t0)) * 1000;
  });
  const intEntry = bestOf(3, () => {
    const t = new MapEntryTracker(threshold);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      t.eventIn((i + IN_FLIGHT) % KEYS, i);
      t.eventOut(i % KEYS, i + 3);
    }
    return (n / (performance.now() - t0)) * 1000;
  });
  out.push({ name: 'pairs/s, integer keys vs Map<key,start>', value: intOurs, baseline: intMap });
  out.push({ name: 'pairs/s, integer keys vs Map<key,entry>', value: intOurs, baseline: intEntry });

  // 64-bit keys (kernel addresses): parts API vs a Map on bigint keys.
  const hiBase = 0xffff8881;
  const los = new Uint32Array(KEYS);
  const bigs: bigint[] = [];
  for (let i = 0; i < KEYS; i++) {
    los[i] = (0x4dc30000 + i * 0x100) >>> 0;
    bigs.push((BigInt(hiBase) << 32n) | BigInt(los[i]));
  }
  const u64Ours = bestOf(3, () => {
    const t = createTracker({ capacity: 65536, threshold });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      t.eventInParts(0, hiBase, los[(i + IN_FLIGHT) % KEYS], i);
      t.eventOutParts(0, hiBase, los[i % KEYS], i + 3);
    }
    return (n / (performance.now() - t0)) * 1000;
  });
  const u64Map = bestOf(3, () => {
    const t = new MapTracker(threshold);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      t.eventIn(bigs[(i + IN_FLIGHT) % KEYS], i);
      t.eventOut(bigs[i % KEYS], i + 3);
    }
    return (n / (performance.now() - t0)) * 1000;
  });
  out.push({ name: 'pairs/s, 64-bit keys vs Map<bigint,start>', value: u64Ours, baseline: u64Map });

  // Composite (dev, sector) keys: parts API vs a Map on a `${dev}:${sector}` string key.
  const dev = (254 << 20) | 0;
  const compOurs = bestOf(3, () => {
    const t = createTracker({ capacity: 65536, threshold });
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      t.eventInParts(dev, 0, ((i + IN_FLIGHT) % KEYS) * 8, i);
      t.eventOutParts(dev, 0, (i % KEYS) * 8, i + 3);
    }
    return (n / (performance.now() - t0)) * 1000;
  });
  const compMap = bestOf(3, () => {
    const t = new MapTracker(threshold);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      t.eventIn(`${dev}:${((i + IN_FLIGHT) % KEYS) * 8}`, i);
      t.eventOut(`${dev}:${(i % KEYS) * 8}`, i + 3);
    }
    return (n / (performance.now() - t0)) * 1000;
  });
  out.push({ name: 'pairs/s, composite keys vs Map<string,start>', value: compOurs, baseline: compMap });
  return out;
}

/** Heap growth over `n` steady-state pairs (after warm-up and a full GC on both sides). */
export function trackerHeapGrowth(n: number): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return Number.NaN;
  const t = createTracker({ capacity: 65536, threshold: 1e12 });
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      t.eventIn((i + IN_FLIGHT) % KEYS, i);
      t.eventOut(i % KEYS, i + 3);
    }
  };
  run(1_000_000);
  gc();
  const before = process.memoryUsage().heapUsed;
  run(n);
  gc();
  return process.memoryUsage().heapUsed - before;
}

export { fmtRate };
