/**
 * Every filesystem root latency-tracker touches, resolved in one place (DESIGN §1). No other module spells out
 * `/sys/` or `/proc/`: they take a `Paths` and join under it, so tests can point them at fixture trees.
 */
import { existsSync } from 'node:fs';

export interface Paths {
  /** tracefs mount point (`/sys/kernel/tracing`, or the debugfs fallback). */
  tracefs: string;
  /** procfs mount point. */
  procfs: string;
  /**
   * Where the cgroup hierarchies are mounted: a cgroup2 file system itself (pure v2), or a directory holding
   * `unified/` (hybrid) and/or one directory per v1 controller (`cpu/`, `cpu,cpuacct/`).
   */
  cgroupfs: string;
}

export const DEFAULT_TRACEFS = '/sys/kernel/tracing';
export const DEBUGFS_TRACEFS = '/sys/kernel/debug/tracing';
export const DEFAULT_PROCFS = '/proc';
export const DEFAULT_CGROUPFS = '/sys/fs/cgroup';

/**
 * Resolves the roots: explicit options win; otherwise tracefs is `/sys/kernel/tracing` (or the old debugfs path
 * when only that one is mounted), procfs is `/proc`, cgroupfs is `/sys/fs/cgroup`.
 */
export function resolvePaths(opts: Partial<Paths> = {}): Paths {
  let tracefs = opts.tracefs;
  if (tracefs === undefined) {
    tracefs =
      !existsSync(`${DEFAULT_TRACEFS}/instances`) && existsSync(`${DEBUGFS_TRACEFS}/instances`)
        ? DEBUGFS_TRACEFS
        : DEFAULT_TRACEFS;
  }
  return { tracefs, procfs: opts.procfs ?? DEFAULT_PROCFS, cgroupfs: opts.cgroupfs ?? DEFAULT_CGROUPFS };
}
