/**
 * What every source of kernel events (live tracefs, trace.dat files, LTTng CTF traces) offers to the analyses.
 * A source decodes its input into `TraceRecord`s in timestamp order (all CPUs merged) and pushes them to a sink.
 */
import type { EventSchema } from '../ftrace/schema.ts';
import type { TraceRecord } from '../ftrace/types.ts';

/** Resolves kernel addresses to `symbol+0xoff` (from kallsyms). */
export interface Symbolizer {
  /** `symbol+0xoff`, or the address in hex when unknown. */
  format(hi: number, lo: number): string;
}

export interface RecordSink {
  /** One record, in timestamp order across CPUs (ties: lower CPU first). `r` is reused after the call returns. */
  record(r: TraceRecord): void;
  /**
   * Events were lost on `cpu` before time `ts` (page flag, ring-buffer overrun). `count` is -1 when the kernel did
   * not say how many.
   */
  lost?(cpu: number, count: number, ts: number): void;
  /**
   * Time has advanced to `ts` (source time) with no record pending before it: live sources call this after every
   * read cycle so that timeouts fire even when nothing happens.
   */
  tick?(ts: number): void;
  /**
   * A live read cycle starts at source time `ts`: every record delivered until the next `cycle` call is earlier
   * than `ts` (the reads that follow find only events committed before them). Off the record path: the engine
   * samples cgroup counters here.
   */
  cycle?(ts: number): void;
}

/** CPU throttling counters of one cgroup, read at source time `t`. */
export interface CgroupThrottle {
  t: number;
  /** `nr_throttled`: periods in which the group was throttled. */
  nr: number;
  /** Time throttled, ns (v2 `throttled_usec` x 1000, v1 `throttled_time`). */
  ns: number;
}

/** `some avg10` of the cgroup's PSI files (percent of the last 10 s some task stalled), null when absent. */
export interface PressureInfo {
  cpu: number | null;
  io: number | null;
  memory: number | null;
}

/**
 * The live machine's cgroups (`sources/cgroupfs.ts`): every call reads files, so callers cache (the engine's
 * tables in `analyses/cgroups.ts` do). Paths are relative to their hierarchy's root and start with `/`.
 */
export interface CgroupReader {
  /** `v2` (one unified hierarchy), `hybrid` (v2 plus v1 controllers), `v1` (no unified hierarchy). */
  readonly mode: 'v2' | 'hybrid' | 'v1';
  /** Hierarchy id (`dst_root` of `cgroup:cgroup_attach_task`) whose paths are the threads' `cgroup`. */
  readonly pathHierarchy: number;
  /** Hierarchy id of the cpu controller (throttling), when one is mounted. */
  readonly cpuHierarchy: number | undefined;
  /** The thread's cgroup path and cpu-controller path, from `/proc/<tid>/cgroup`; undefined when it is gone. */
  resolve(tid: number): { path: string; cpuPath: string | null } | undefined;
  /**
   * The other threads of process `pid` when `pid` is a thread-group leader (`/proc/<pid>/task`), else []: a write to
   * `cgroup.procs` moves every thread but traces one `cgroup_attach_task`, for the leader.
   */
  threadsOf(pid: number): number[];
  /** True when the cpu cgroup has a bandwidth limit (`cpu.max`, v1 `cpu.cfs_quota_us`). */
  hasQuota(cpuPath: string): boolean;
  /** Its throttling counters now. */
  throttle(cpuPath: string): CgroupThrottle | undefined;
  /** Pressure stall information now (v2 only). */
  pressure(path: string): PressureInfo | undefined;
  /** Now, on the source's time line (the time `throttle` samples carry). */
  now(): number;
  /** Files read and reads that failed (a thread or group that went away). */
  readonly stats: { reads: number; failures: number };
}

export interface SourceStats {
  /** Records delivered. */
  records: number;
  /** Events the kernel reported lost, per CPU (unknown counts add 0 here and 1 to `lossReports`). */
  lostPerCpu: number[];
  /** How many loss reports (pages with the missed-events flag, overrun increments) were seen. */
  lossReports: number;
  /** Records or bytes that could not be decoded, by named status (ABI violations, truncation). */
  errors: Record<string, number>;
}

export interface TraceSource {
  readonly kind: 'tracefs' | 'tracedat' | 'ctf';
  /** Formats of every event this source can deliver. */
  readonly schema: EventSchema;
  /** Number of CPUs of the traced machine. */
  readonly cpus: number;
  /** Absolute time (ns, in the trace clock) of `TraceRecord.ts === 0`. */
  readonly originNs: bigint;
  /** Trace clock name (`mono`, `local`, `boot`, ...). */
  readonly clock: string;
  /** Machine architecture when known (`x86_64`, `aarch64`, `arm`), for syscall names. */
  readonly arch: string | undefined;
  /** Command name of a thread known from outside the events (trace.dat cmdlines, CTF statedump, /proc). */
  comm(tid: number): string | undefined;
  /** Kernel symbols, when the source has them (live /proc/kallsyms, trace.dat kallsyms). */
  readonly symbols: Symbolizer | undefined;
  /** Process id (thread group) of a thread, when known (live /proc, CTF statedump). */
  tgid?(tid: number): number | undefined;
  /** The machine's cgroups (live only): trace files have none, so their outliers say `cgroup: null`. */
  readonly cgroups?: CgroupReader;
  /** Name of a syscall id when the source defines its own numbering (CTF), else undefined. */
  syscallName?(id: number): string | undefined;
  /** Pushes every record to `sink`; resolves when the input ends (files) or after `stop()` (live). */
  run(sink: RecordSink): Promise<SourceStats>;
  /** Asks a running source to finish (flushes what it has read). */
  stop(): void;
}
