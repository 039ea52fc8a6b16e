/**
 * What every source of kernel events (live tracefs, trace.dat files, LTTng CTF traces) offers to the analyses.
 * A source decodes its input into `TraceRecord`s in timestamp order (all CPUs merged) and pushes them to a sink.
 */
import type { EventSchema } from '../ftrace/schema.ts';
import type { RecordSink, Symbolizer } from '../ftrace/types.ts';

export type { RecordSink, Symbolizer } from '../ftrace/types.ts';

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
  /**
   * Added to an absolute time of this source, gives Unix time (ns): known live (the mono clock against the wall
   * clock at start) and for LTTng traces whose clock has an epoch offset; undefined when the trace has no wall-clock
   * reference (trace.dat's mono/local clocks).
   */
  readonly unixOffsetNs?: bigint;
  /** Machine architecture when known (`x86_64`, `aarch64`, `arm`), for syscall names. */
  readonly arch: string | undefined;
  /** Command name of a thread known from outside the events (trace.dat cmdlines, CTF statedump, /proc). */
  comm(tid: number): string | undefined;
  /** Kernel symbols, when the source has them (live /proc/kallsyms, trace.dat kallsyms). */
  readonly symbols: Symbolizer | undefined;
  /** Process id (thread group) of a thread, when known (live /proc, CTF statedump). */
  tgid?(tid: number): number | undefined;
  /** Name of a syscall id when the source defines its own numbering (CTF), else undefined. */
  syscallName?(id: number): string | undefined;
  /** Pushes every record to `sink`; resolves when the input ends (files) or after `stop()` (live). */
  run(sink: RecordSink): Promise<SourceStats>;
  /** Asks a running source to finish (flushes what it has read). */
  stop(): void;
}
