/**
 * The flight recorder (issue 16): the live source's raw sub-buffers kept in a bounded ring (`ring.ts`); on an
 * outlier, a trace.dat covering [start − before, end + after] written into a directory, and its path put in the
 * outlier as `trace_file` — so `latency-tracker analyze FILE`, `trace-cmd report` or KernelShark show the moment.
 *
 * - Rate limit: at most `rate.files` new files per `rate.perNs` (a token bucket on the trace clock). An outlier
 *   whose whole pair lies inside the window of a file not yet written shares that file; others beyond the limit get
 *   none (counted).
 * - The file is written once the live source has read past `end + after` (or at the end of the run), from a pinned
 *   snapshot of the ring, asynchronously (the writer's async file I/O; at most one file at a time, a bounded queue),
 *   to a hidden temporary name renamed when complete: the directory holds only whole files.
 * - The directory is capped (`dirMaxBytes`): after each file, the oldest of our files (by name pattern and mtime)
 *   are removed until the total fits; removals are counted (`/metrics`).
 *
 * Names: `<analysis>-<start SEC.NSEC>-<tid>.dat`, e.g. `syscall-4946.913672162-24943.dat` (the start on the trace
 * clock, as the outlier and trace-cmd print it).
 */
import { readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { OutlierRecord } from '../../analyses/engine.ts';
import type { PageLayout } from '../../ftrace/types.ts';
import { type EncodedMeta, encodeCmdlines, writeTraceDat } from '../../sources/tracedat/writer.ts';
import type { FlightMetrics } from '../prometheus.ts';
import { PageRing, type RingSnapshot } from './ring.ts';

/** Names of the files the recorder writes (and the only ones it removes or serves). */
export const TRACE_FILE_RE = /^[a-z][a-z0-9-]{0,31}-\d{1,12}\.\d{9}-(\d{1,8}|none)\.dat$/;

export interface FlightSettings {
  dir: string;
  beforeNs: number;
  afterNs: number;
  /** Page memory bound, bytes. */
  memoryBytes: number;
  /** Pages older than this (ns) are freed even when memory allows. */
  maxAgeNs: number;
  rate: { files: number; perNs: number };
  dirMaxBytes: number;
  version: 6 | 7;
  compression: 'none' | 'zlib';
}

export interface FlightSource {
  layout: PageRingOptionsLayout;
  cpus: number;
  clock: string;
  traceClock: string;
  uname: string;
  tool: string;
  /** Metadata without the comm table (encoded once: kallsyms is megabytes). */
  meta: EncodedMeta;
  /** The comm table now. */
  cmdlines(): string;
  /** CPU statistics now (CPUSTAT options), while the instance exists. */
  cpuStats(): string[];
}

type PageRingOptionsLayout = Pick<
  PageLayout,
  'pageSize' | 'timestampOffset' | 'commitOffset' | 'commitSize' | 'littleEndian'
>;

export interface FlightStats {
  written: number;
  writtenBytes: number;
  /** Outliers that got no file (rate limit or a full queue). */
  skipped: number;
  /** Outliers that share a file written for an earlier outlier. */
  shared: number;
  /** Files removed to keep the directory under its cap. */
  removed: number;
  removedBytes: number;
  failed: number;
  /** Files whose window reached back further than the ring's memory. */
  truncated: number;
  /** Files in the directory now and their bytes. */
  dirFiles: number;
  dirBytes: number;
}

interface Pending {
  name: string;
  from: bigint;
  to: bigint;
  /** Pair bounds of the outliers sharing the file. */
  start: bigint;
  end: bigint;
}

const QUEUE = 16;

export class FlightRecorder {
  readonly ring: PageRing;
  readonly stats: FlightStats = {
    written: 0,
    writtenBytes: 0,
    skipped: 0,
    shared: 0,
    removed: 0,
    removedBytes: 0,
    failed: 0,
    truncated: 0,
    dirFiles: 0,
    dirBytes: 0,
  };
  /** The last write error, for the run's own output. */
  lastError: string | undefined;
  private readonly pending: Pending[] = [];
  private writing: Promise<void> | undefined;
  private tokens: number;
  private tokenTime: bigint | undefined;
  /** Our files in the directory, oldest first: name and size. */
  private readonly files: { name: string; size: number }[] = [];
  private upTo = 0n;
  private ended = false;
  private idle: (() => void)[] = [];

  constructor(
    readonly settings: FlightSettings,
    private readonly src: FlightSource,
  ) {
    this.ring = new PageRing({ layout: src.layout, cpus: src.cpus, maxBytes: settings.memoryBytes });
    this.tokens = settings.rate.files;
    this.scanDir();
    this.enforceCap();
  }

  /** Existing files of ours in the directory (a restart keeps counting them against the cap). */
  private scanDir(): void {
    let names: string[];
    try {
      names = readdirSync(this.settings.dir);
    } catch {
      return;
    }
    const found: { name: string; size: number; mtime: number }[] = [];
    for (const name of names) {
      if (!TRACE_FILE_RE.test(name)) continue;
      try {
        const st = statSync(join(this.settings.dir, name));
        if (st.isFile()) found.push({ name, size: st.size, mtime: st.mtimeMs });
      } catch {
        // gone meanwhile
      }
    }
    found.sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name));
    for (const f of found) this.files.push({ name: f.name, size: f.size });
    this.recount();
  }

  private recount(): void {
    this.stats.dirFiles = this.files.length;
    this.stats.dirBytes = this.files.reduce((a, f) => a + f.size, 0);
  }

  /** Removes our oldest files while the directory holds more than its cap. */
  private enforceCap(): void {
    while (this.files.length > 0 && this.stats.dirBytes > this.settings.dirMaxBytes) {
      const f = this.files.shift() as { name: string; size: number };
      try {
        unlinkSync(join(this.settings.dir, f.name));
        this.stats.removed++;
        this.stats.removedBytes += f.size;
      } catch {
        // already gone
      }
      this.recount();
    }
  }

  /** True when `name` is a file of ours in the directory now (what the daemon may serve). */
  has(name: string): boolean {
    return TRACE_FILE_RE.test(name) && this.files.some((f) => f.name === name);
  }

  /** Path of a file of ours, or undefined. */
  pathOf(name: string): string | undefined {
    return this.has(name) ? join(this.settings.dir, name) : undefined;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // PageObserver

  page(cpu: number, bytes: Uint8Array, offset: number, length: number): void {
    this.ring.add(cpu, bytes, offset, length);
  }

  cycle(upTo: bigint, final: boolean): void {
    this.upTo = upTo;
    if (final) this.ended = true;
    this.ring.expire(upTo - BigInt(Math.max(this.settings.maxAgeNs, this.settings.beforeNs + this.settings.afterNs)));
    this.pump(final);
  }

  // ---------------------------------------------------------------------------------------------------------------

  /**
   * Decides whether outlier `o` gets a file and sets `o.trace_file` (called as the outlier is reported, before it
   * is printed or stored). Never throws.
   */
  annotate(o: OutlierRecord): void {
    const { beforeNs, afterNs, rate } = this.settings;
    for (const p of this.pending) {
      if (o.start_ns >= p.from && o.end_ns <= p.to) {
        o.trace_file = join(this.settings.dir, p.name);
        this.stats.shared++;
        return;
      }
    }
    // Token bucket on the trace clock (the outlier's end): `files` tokens, refilled at files/perNs.
    const now = o.end_ns;
    if (this.tokenTime !== undefined && now > this.tokenTime) {
      this.tokens = Math.min(rate.files, this.tokens + (Number(now - this.tokenTime) * rate.files) / rate.perNs);
    }
    this.tokenTime = this.tokenTime === undefined || now > this.tokenTime ? now : this.tokenTime;
    if (this.tokens < 1 || this.pending.length >= QUEUE || this.ended) {
      this.stats.skipped++;
      return;
    }
    this.tokens -= 1;
    const sec = o.start_ns / 1_000_000_000n;
    const nsec = (o.start_ns % 1_000_000_000n).toString().padStart(9, '0');
    let name = `${o.analysis}-${sec}.${nsec}-${o.tid ?? 'none'}.dat`;
    if (!TRACE_FILE_RE.test(name)) name = `outlier-${sec}.${nsec}-none.dat`;
    this.pending.push({
      name,
      from: o.start_ns - BigInt(beforeNs),
      to: o.end_ns + BigInt(afterNs),
      start: o.start_ns,
      end: o.end_ns,
    });
    o.trace_file = join(this.settings.dir, name);
  }

  /** Starts the next due file when none is being written. */
  private pump(final: boolean): void {
    if (this.writing !== undefined) return;
    const p = this.pending[0];
    if (p === undefined) {
      this.notifyIdle();
      return;
    }
    if (!final && !this.ended && p.to > this.upTo) return;
    this.pending.shift();
    const snap = this.ring.snapshot(p.from, p.to);
    let cpuStats: string[] = [];
    let cmdlines = '';
    try {
      cpuStats = this.src.cpuStats();
      cmdlines = this.src.cmdlines();
    } catch {
      // the instance is gone: the file has no statistics
    }
    this.writing = this.write(p, snap, cpuStats, cmdlines).finally(() => {
      snap.release();
      this.writing = undefined;
      this.pump(this.ended);
    });
  }

  private async write(p: Pending, snap: RingSnapshot, cpuStats: string[], cmdlines: string): Promise<void> {
    const dir = this.settings.dir;
    const tmp = join(dir, `.${p.name}.tmp`);
    const final = join(dir, p.name);
    try {
      if (snap.pageCount() === 0) throw new Error('no pages in the window');
      const size = await writeTraceDat(tmp, {
        version: this.settings.version,
        compression: this.settings.version === 6 ? 'none' : this.settings.compression,
        meta: { ...this.src.meta, cmdlines: encodeCmdlines(cmdlines) },
        cpus: this.src.cpus,
        traceClock: this.src.traceClock,
        uname: this.src.uname,
        tool: this.src.tool,
        cpuStats,
        buffers: [
          {
            name: '',
            clock: this.src.clock,
            pageSize: this.ring.pageSize,
            cpus: snap.cpus.map((cpu) => ({ cpu, pages: () => snap.pages(cpu) })),
          },
        ],
      });
      renameSync(tmp, final);
      if (snap.truncated) this.stats.truncated++;
      this.stats.written++;
      this.stats.writtenBytes += size;
      const i = this.files.findIndex((f) => f.name === p.name);
      if (i >= 0) this.files.splice(i, 1);
      this.files.push({ name: p.name, size });
      this.recount();
      this.enforceCap();
    } catch (e) {
      this.stats.failed++;
      this.lastError = `${p.name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
      try {
        unlinkSync(tmp);
      } catch {
        // not created
      }
    }
  }

  private notifyIdle(): void {
    const w = this.idle;
    this.idle = [];
    for (const f of w) f();
  }

  /** Counters and gauges for `/metrics`. */
  metrics(): FlightMetrics {
    const r = this.ring;
    return {
      ...this.stats,
      queued: this.queued,
      memoryBytes: r.bytes,
      memoryLimitBytes: this.settings.memoryBytes,
      pages: r.pages,
      pagesEvicted: r.stats.evicted,
      pagesDropped: r.stats.dropped,
    };
  }

  /** Files waiting or being written. */
  get queued(): number {
    return this.pending.length + (this.writing === undefined ? 0 : 1);
  }

  /**
   * Writes what is still pending with the pages there are (the run is ending) and resolves when done. Call after
   * the source has stopped.
   */
  async flush(): Promise<void> {
    this.ended = true;
    if (this.queued === 0) return;
    const done = new Promise<void>((resolve) => this.idle.push(resolve));
    this.pump(true);
    await done;
  }
}
