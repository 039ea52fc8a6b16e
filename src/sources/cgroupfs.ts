/**
 * The cgroup file systems and `/proc/<tid>/cgroup`, for the live source (issue 15): which cgroup a thread is in,
 * whether a cgroup (or an ancestor) has a CPU quota, its CPU throttling counters, its pressure stall information.
 * All the I/O of the cgroup feature is here; the parsers are pure functions exported for tests, and the bounded
 * tables, the sampling policy and the output live in `analyses/cgroups.ts`.
 *
 * Layouts (every root under `Paths.cgroupfs`, `--cgroupfs DIR`):
 * - pure v2: `cgroupfs` is a cgroup2 mount (`cgroup.controllers` at its top);
 * - hybrid: v2 at `cgroupfs/unified`, v1 controllers at `cgroupfs/<controller>` (this machine);
 * - v1 only: `cgroupfs/<controller>` (`cpu`, `cpu,cpuacct`, ...), no unified hierarchy.
 * A thread's `cgroup` is its v2 path (the `0::` line) when there is a unified hierarchy, else its v1 `cpu` path.
 * Throttling comes from the hierarchy that has the `cpu` controller: v2 `cpu.stat` (`nr_throttled`,
 * `throttled_usec`) when the cpu controller is enabled at the v2 root, else v1 `cpu.stat` (`nr_throttled`,
 * `throttled_time` in ns). Pressure (`cpu.pressure`, `io.pressure`, `memory.pressure`) exists only in v2.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../paths.ts';
import type { CgroupReader, CgroupThrottle, PressureInfo } from './types.ts';

/** One line of `/proc/<tid>/cgroup`: `hierarchy-id:controller-list:path`. */
export interface ProcCgroupLine {
  hierarchy: number;
  controllers: string[];
  path: string;
}

/** Parses `/proc/<tid>/cgroup` (lines `N:ctrl,ctrl:/path`; `0::/path` is the unified hierarchy). Never throws. */
export function parseProcCgroup(text: string): ProcCgroupLine[] {
  const out: ProcCgroupLine[] = [];
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const h = line.slice(0, a);
    if (!/^\d{1,9}$/.test(h)) continue;
    const path = line.slice(b + 1);
    if (path[0] !== '/') continue;
    out.push({
      hierarchy: Number(h),
      controllers: line
        .slice(a + 1, b)
        .split(',')
        .filter(Boolean),
      path,
    });
  }
  return out;
}

/** `nr_throttled` and the throttled time in ns from a `cpu.stat` (v2 `throttled_usec`, v1 `throttled_time`). */
export function parseCpuStat(text: string): { nr: number; ns: number } | undefined {
  let nr: number | undefined;
  let ns: number | undefined;
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const k = line.slice(0, sp);
    const v = Number(line.slice(sp + 1));
    if (!Number.isFinite(v)) continue;
    if (k === 'nr_throttled') nr = v;
    else if (k === 'throttled_usec') ns = v * 1000;
    else if (k === 'throttled_time') ns = v;
  }
  return nr === undefined || ns === undefined ? undefined : { nr, ns };
}

/** `some avg10` of a PSI file (`some avg10=1.23 avg60=... total=...`), or undefined. */
export function parsePressureSome10(text: string): number | undefined {
  const m = /^some avg10=(\d+(?:\.\d+)?)/m.exec(text);
  return m === null ? undefined : Number(m[1]);
}

/** True when the quota file says there is a limit: v2 `cpu.max` `QUOTA PERIOD` (not `max`), v1 `cfs_quota_us` >= 0. */
export function parseQuota(text: string, v2: boolean): boolean {
  const t = text.trim();
  if (v2) return t !== '' && !t.startsWith('max');
  return /^\d+$/.test(t);
}

/** A cgroup path from the kernel, safe to join under a root: absolute, no `.`/`..` components, no NUL. */
export function safeCgroupPath(p: string): boolean {
  if (p.length === 0 || p.length > 4096 || p[0] !== '/' || p.includes('\0')) return false;
  for (const c of p.split('/')) if (c === '.' || c === '..') return false;
  return true;
}

/** v1 directories the cpu controller may be mounted at (alone, or co-mounted with cpuacct). */
const CPU_DIRS = ['cpu', 'cpu,cpuacct', 'cpuacct,cpu'];

export class Cgroupfs implements CgroupReader {
  readonly mode: 'v2' | 'hybrid' | 'v1';
  readonly pathHierarchy: number;
  readonly cpuHierarchy: number | undefined;
  /** Unified hierarchy root, when there is one. */
  readonly v2Root: string | undefined;
  /** Where `cpu.stat` and the quota files are: the v2 root when it has the cpu controller, else the v1 cpu mount. */
  readonly cpuRoot: string | undefined;
  readonly cpuIsV2: boolean;
  readonly stats = { reads: 0, failures: 0 };
  private origin = 0n;

  private constructor(
    private readonly paths: Paths,
    layout: { v2Root?: string; cpuV1Root?: string; cpuV1Hierarchy?: number; cpuInV2: boolean },
    private readonly clock: (() => number) | undefined,
  ) {
    this.v2Root = layout.v2Root;
    this.cpuIsV2 = layout.cpuInV2;
    this.cpuRoot = layout.cpuInV2 ? layout.v2Root : layout.cpuV1Root;
    this.mode = layout.v2Root === undefined ? 'v1' : layout.cpuV1Root !== undefined ? 'hybrid' : 'v2';
    this.pathHierarchy = layout.v2Root !== undefined ? 0 : (layout.cpuV1Hierarchy ?? -1);
    this.cpuHierarchy = layout.cpuInV2 ? 0 : layout.cpuV1Hierarchy;
  }

  /**
   * Finds the hierarchies under `paths.cgroupfs`; undefined when there is none (no cgroups: every `cgroup` is null).
   * The v1 cpu hierarchy's id (for `cgroup_attach_task`'s `dst_root`) comes from `<procfs>/cgroups`. `now` replaces
   * the monotonic clock (tests).
   */
  static open(paths: Paths, opts: { now?: () => number } = {}): Cgroupfs | undefined {
    const root = paths.cgroupfs;
    let v2Root: string | undefined;
    if (existsSync(join(root, 'cgroup.controllers'))) v2Root = root;
    else if (existsSync(join(root, 'unified', 'cgroup.controllers'))) v2Root = join(root, 'unified');
    let cpuV1Root: string | undefined;
    if (v2Root !== root) {
      for (const d of CPU_DIRS) {
        if (existsSync(join(root, d, 'cpu.cfs_quota_us'))) {
          cpuV1Root = join(root, d);
          break;
        }
      }
    }
    let cpuInV2 = false;
    if (v2Root !== undefined) {
      try {
        cpuInV2 = readFileSync(join(v2Root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu');
      } catch {
        cpuInV2 = false;
      }
    }
    if (cpuInV2) cpuV1Root = undefined;
    let cpuV1Hierarchy: number | undefined;
    if (cpuV1Root !== undefined) {
      try {
        const m = /^cpu\s+(\d+)\s/m.exec(readFileSync(join(paths.procfs, 'cgroups'), 'utf8'));
        if (m !== null && Number(m[1]) > 0) cpuV1Hierarchy = Number(m[1]);
      } catch {
        cpuV1Hierarchy = undefined;
      }
      if (cpuV1Hierarchy === undefined) cpuV1Root = undefined;
    }
    if (v2Root === undefined && cpuV1Root === undefined) return undefined;
    return new Cgroupfs(paths, { v2Root, cpuV1Root, cpuV1Hierarchy, cpuInV2 }, opts.now);
  }

  /** The live source's time origin (monotonic ns at `TraceRecord.ts === 0`): sample times are relative to it. */
  setOrigin(ns: bigint): void {
    this.origin = ns;
  }

  /** Now on the source's time line (the injected clock in tests). */
  now(): number {
    return this.clock !== undefined ? this.clock() : Number(process.hrtime.bigint() - this.origin);
  }

  resolve(tid: number): { path: string; cpuPath: string | null } | undefined {
    const text = this.read(join(this.paths.procfs, String(tid), 'cgroup'));
    if (text === undefined) return undefined;
    let unified: string | undefined;
    let cpu: string | undefined;
    for (const l of parseProcCgroup(text)) {
      if (l.hierarchy === 0 && l.controllers.length === 0) unified = l.path;
      else if (l.hierarchy === this.cpuHierarchy && l.controllers.includes('cpu')) cpu = l.path;
    }
    const path = this.v2Root !== undefined ? unified : cpu;
    if (path === undefined) return undefined;
    const cpuPath = this.cpuIsV2 ? (unified ?? null) : (cpu ?? null);
    return { path, cpuPath };
  }

  threadsOf(pid: number): number[] {
    const status = this.read(join(this.paths.procfs, String(pid), 'status'));
    const m = status === undefined ? null : /^Tgid:\s*(\d+)/m.exec(status);
    if (m === null || Number(m[1]) !== pid) return [];
    try {
      this.stats.reads++;
      return readdirSync(join(this.paths.procfs, String(pid), 'task'))
        .map(Number)
        .filter((t) => Number.isInteger(t) && t > 0 && t !== pid);
    } catch {
      this.stats.failures++;
      return [];
    }
  }

  hasQuota(cpuPath: string): boolean {
    if (this.cpuRoot === undefined || !safeCgroupPath(cpuPath)) return false;
    const text = this.read(join(this.cpuRoot, cpuPath, this.cpuIsV2 ? 'cpu.max' : 'cpu.cfs_quota_us'));
    return text !== undefined && parseQuota(text, this.cpuIsV2);
  }

  throttle(cpuPath: string): CgroupThrottle | undefined {
    if (this.cpuRoot === undefined || !safeCgroupPath(cpuPath)) return undefined;
    const text = this.read(join(this.cpuRoot, cpuPath, 'cpu.stat'));
    const t = this.now();
    const s = text === undefined ? undefined : parseCpuStat(text);
    return s === undefined ? undefined : { t, nr: s.nr, ns: s.ns };
  }

  pressure(path: string): PressureInfo | undefined {
    if (this.v2Root === undefined || !safeCgroupPath(path)) return undefined;
    const one = (f: string) => {
      const text = this.read(join(this.v2Root as string, path, f));
      return text === undefined ? null : (parsePressureSome10(text) ?? null);
    };
    const p = { cpu: one('cpu.pressure'), io: one('io.pressure'), memory: one('memory.pressure') };
    return p.cpu === null && p.io === null && p.memory === null ? undefined : p;
  }

  private read(file: string): string | undefined {
    this.stats.reads++;
    try {
      return readFileSync(file, 'utf8');
    } catch {
      this.stats.failures++;
      return undefined;
    }
  }
}
