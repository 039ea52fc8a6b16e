/**
 * The analysis interface: one small object per analysis (DESIGN §5), listed in one table (`index.ts`). An analysis
 * says which events it needs, and at setup compiles field readers and returns handlers that feed the core tracker
 * (`eventIn`/`eventOut`/`getEvent`). Everything else — dispatch, stacks, comm names, histograms, output — is the
 * engine's job.
 */

import type { TaskStateMask } from '../ftrace/format.ts';
import type { TraceRecord } from '../ftrace/types.ts';
import type { Tracker } from '../tracker/tracker.ts';
import type { CommTable } from './comm.ts';

/** Reads an integer field of a record (exact up to 2^53). Compiled once, allocation-free. */
export type IntField = (r: TraceRecord) => number;
/** Exact 64-bit value as unsigned 32-bit halves. */
export interface U64 {
  hi: number;
  lo: number;
}
/** Reads a 64-bit field into `out` exactly. Allocation-free. */
export type U64Field = (r: TraceRecord, out: U64) => void;
/** Reads a string field (allocates: for outliers and rare events only). */
export type StrField = (r: TraceRecord) => string;

/** Detail values; `bigint` for exact 64-bit integers (printed as JSON integers). */
export type DetailValue = string | number | bigint | boolean | null;
export type Detail = Record<string, DetailValue>;

/** A latency an analysis reports (the engine adds comm, pid, absolute times, the symbolized stack). */
export interface Outlier {
  analysis: string;
  reason: 'threshold' | 'timeout';
  /** Source-relative ns (see `TraceRecord.ts`). */
  start: number;
  end: number;
  latency: number;
  /** CPU of the end event; for a timeout, of the begin event where the analysis keeps it, else -1. */
  cpu: number;
  /** The thread the latency belongs to (-1 when none, e.g. a softirq). */
  tid: number;
  detail: Detail;
  /** Stack id in the engine's `StackTable`, or -1. */
  stack: number;
}

export interface TaskStateInfo {
  /** Mask of the real task-state bits in `prev_state` (0xff on 6.x kernels), bit of "preempted", and the letters. */
  mask: TaskStateMask;
}

export interface AnalysisContext {
  /** True when the source has this event (`system:name`). */
  has(event: string): boolean;
  /** Compiled readers; throw `SetupError` naming the event and field when the trace lacks them. */
  int(event: string, field: string): IntField;
  u64(event: string, field: string): U64Field;
  str(event: string, field: string): StrField;
  /** True when the event has this field. */
  hasField(event: string, field: string): boolean;
  /** Names of threads, fed from comm fields (`observeComm`) and the source. */
  readonly comms: CommTable;
  readonly taskState: TaskStateInfo;
  /** Name of a syscall number on the traced machine (falls back to `sys_<n>`). */
  syscallName(id: number): string;
  /** Creates this analysis's tracker with the configured threshold, timeout and capacity. */
  tracker<D>(onLatency: (e: import('../tracker/tracker.ts').LatencyEvent<D>) => void): Tracker<D>;
  /**
   * Records one matched pair into the profiles: every pair, not only outliers. `code` is the analysis's own group
   * value (syscall id, irq, vector, device), used by `--group-by <groupField>`.
   */
  pair(latency: number, tid: number, cpu: number, code: number): void;
  /** Reports an outlier (threshold or timeout). */
  report(o: Outlier): void;
  /**
   * For a latency reported over threshold: the record at hand, which is the pair's end event (its CPU, its fields).
   * Undefined for a timeout: it fires as time passes, with no record of its own.
   */
  endRecord(e: { reason: 'threshold' | 'timeout' }): TraceRecord | undefined;
}

/** What `setup` returns: handlers per event, and hooks the engine calls. */
export interface AnalysisRun {
  /** Handler per event (`system:name`); several analyses may handle the same event. */
  handlers: [event: string, fn: (r: TraceRecord) => void][];
  /** The tracker pairing begins with ends (its stats are shown; the engine calls `advance` for timeouts). */
  tracker: Tracker<number>;
  /** A kernel stack was captured as `tid` blocked (switch-out in S or D state). */
  onStack?(tid: number, stackId: number): void;
}

export interface Analysis {
  /** CLI name (`syscall`, `softirq-delay`, ...). */
  readonly name: string;
  /** One line for `list` and help. */
  readonly description: string;
  /** Default threshold, ns. */
  readonly defaultThreshold: number;
  /**
   * The events to enable/read given what the kernel or trace has, or a string saying what is missing.
   * `has` answers for `system:name`.
   */
  events(has: (event: string) => boolean): string[] | string;
  /**
   * Fields that name the subject thread, per event, for kernel-side `--pid` filters (`common_pid`, `prev_pid`...).
   * An event without an entry is not filtered (e.g. block completions run in interrupt context).
   */
  readonly tidFields: Record<string, string[]>;
  /** `--group-by` field of this analysis's own (besides comm, tid, cpu), and how to label its codes. */
  readonly groupField?: { name: string; label(code: number, syscallName: (id: number) => string): string };
  /** True when `--stacks` adds something (the stacktrace trigger on blocking switches). */
  readonly usesStacks: boolean;
  setup(ctx: AnalysisContext): AnalysisRun;
}
