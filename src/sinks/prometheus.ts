/**
 * The daemon's `/metrics` page (Prometheus text format 0.0.4), as a pure function of a snapshot: no registry, no
 * clock, no I/O, so a golden-file test pins the whole output. The HTTP side (`server/`) takes the snapshot and
 * serves the text. Histogram buckets use the fixed `le` ladder of `histogram/prometheus.ts`.
 *
 * Conventions: `latency_tracker_` prefix, base units (seconds, bytes), `_total` counters, one `# HELP`/`# TYPE` per
 * family. Label values are bounded by construction: `analysis` comes from the analysis table (9 values), `reason`
 * has 2, `cpu` one per traced CPU (capped at `MAX_CPU_SERIES`, the rest summed into `cpu="other"`), `code` the
 * few HTTP statuses the server answers, `cgroup` (only with `--metrics-by cgroup`) the first `--metrics-limit`
 * cgroups per analysis, then `other` (the overflow counted in `cgroup_overflow_*`).
 */

import type { HistogramGroups } from '../histogram/groups.ts';
import type { Histogram } from '../histogram/histogram.ts';
import { formatPrometheusHistogram, prometheusBuckets } from '../histogram/prometheus.ts';
import type { TrackerStats } from '../tracker/tracker.ts';

/** CPUs shown one series each; beyond, one `other` series. */
export const MAX_CPU_SERIES = 512;

export interface AnalysisMetrics {
  analysis: string;
  /** Runs on this kernel (its events exist). */
  available: boolean;
  enabled: boolean;
  /** Enabled and the source is reading. */
  up: boolean;
  thresholdNs: number;
  timeoutNs: number;
  /** Every matched pair since start (undefined when the analysis does not run). */
  histogram: Histogram | undefined;
  stats: TrackerStats | undefined;
  /** Unix time (s) of the read cycle in which this analysis last saw an event; 0 when never. */
  lastEventUnixSeconds: number;
  /** With `--metrics-by cgroup`: the pairs' histograms per cgroup (capped; the rest in the overflow). */
  byCgroup?: HistogramGroups<string>;
}

/** The threads' cgroup table's counters (live with cgroups). */
export interface CgroupMetrics {
  resolved: number;
  resolveFailed: number;
  deferred: number;
  moves: number;
  evicted: number;
  resets: number;
  throttleGroups: number;
  throttleEvicted: number;
  throttleUncovered: number;
}

export interface MetricsSnapshot {
  version: string;
  analyses: AnalysisMetrics[];
  /** Records delivered by the source. */
  records: number;
  lostPerCpu: readonly number[];
  /** Loss reports whose count the kernel did not give. */
  lostUnknown: number;
  /** Unix time (s) of the last read cycle; 0 before the first. */
  lastReadUnixSeconds: number;
  /** The in-memory history ring (`--no-store`), when there is one. */
  history?: { size: number; capacity: number; evicted: number };
  /** The outlier store's backlog and losses, when there is one. */
  store?: { queued: number; dropped: number };
  /** The flight recorder (`--flight-recorder`), when there is one. */
  flight?: FlightMetrics;
  stream: { clients: number; accepted: number; rejected: number; dropped: number; skipped: number; sent: number };
  /** HTTP responses by status code. */
  http: ReadonlyMap<number, number>;
  /** HTTP connections the server closed: no request headers in time, evicted for a new client, refused. */
  connections: { timedOut: number; evicted: number; refused: number };
  cgroups?: CgroupMetrics;
  process: { cpuSeconds: number; residentBytes: number; heapBytes: number; startUnixSeconds: number };
}

export interface FlightMetrics {
  written: number;
  writtenBytes: number;
  skipped: number;
  shared: number;
  removed: number;
  removedBytes: number;
  failed: number;
  truncated: number;
  dirFiles: number;
  dirBytes: number;
  queued: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pages: number;
  pagesEvicted: number;
  pagesDropped: number;
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

class Page {
  private readonly lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, labels: Record<string, string>, v: number): void {
    const l = Object.entries(labels)
      .map(([k, x]) => `${k}="${esc(x)}"`)
      .join(',');
    this.lines.push(`${name}${l === '' ? '' : `{${l}}`} ${num(v)}`);
  }
  /** A family with one unlabeled sample. */
  scalar(name: string, type: 'counter' | 'gauge', help: string, v: number): void {
    this.family(name, type, help);
    this.sample(name, {}, v);
  }
  raw(text: string): void {
    this.lines.push(text.endsWith('\n') ? text.slice(0, -1) : text);
  }
  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

const P = 'latency_tracker_';

/** Per-analysis counters taken from the tracker's statistics. */
const TRACKER_COUNTERS: [suffix: string, help: string, pick: (s: TrackerStats) => number][] = [
  ['pairs_total', 'Begin/end pairs measured (every pair, whatever the threshold).', (s) => s.completed],
  [
    'timeouts_total',
    'Events still unfinished after their timeout (also in outliers_total{reason="timeout"}).',
    (s) => s.timeouts,
  ],
  ['unmatched_events_total', 'End events with no begin in flight (counted, never measured).', (s) => s.unmatchedOut],
  ['table_full_total', 'Begin events refused because the in-flight table was full.', (s) => s.full],
  [
    'replaced_events_total',
    'In-flight begins replaced by a newer begin of the same key (their end was lost).',
    (s) => s.replaced,
  ],
  [
    'discarded_events_total',
    'In-flight begins dropped unmeasured (after lost events, when disabled).',
    (s) => s.discarded,
  ],
];

export function formatMetrics(m: MetricsSnapshot): string {
  const p = new Page();
  p.family(`${P}build_info`, 'gauge', 'Version of latency-tracker serving these metrics.');
  p.sample(`${P}build_info`, { version: m.version }, 1);

  const running = m.analyses.filter((a) => a.histogram !== undefined && a.stats !== undefined);

  const byCgroup = running.some((a) => a.byCgroup !== undefined);
  p.family(
    `${P}latency_seconds`,
    'histogram',
    byCgroup
      ? `Latency of every matched begin/end pair since start, by analysis and cgroup (the first ${running.find((a) => a.byCgroup)?.byCgroup?.limit} per analysis; later ones in cgroup="other", threads not known in "unknown").`
      : 'Latency of every matched begin/end pair since start, by analysis.',
  );
  for (const a of running) {
    const g = a.byCgroup;
    if (g === undefined) {
      p.raw(
        formatPrometheusHistogram(
          `${P}latency_seconds`,
          { analysis: a.analysis },
          prometheusBuckets(a.histogram as Histogram),
        ),
      );
      continue;
    }
    const keys = [...g.entries()].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    for (const [cgroup, h] of keys) {
      p.raw(formatPrometheusHistogram(`${P}latency_seconds`, { analysis: a.analysis, cgroup }, prometheusBuckets(h)));
    }
    if (g.overflow.count > 0) {
      p.raw(
        formatPrometheusHistogram(
          `${P}latency_seconds`,
          { analysis: a.analysis, cgroup: 'other' },
          prometheusBuckets(g.overflow),
        ),
      );
    }
  }
  if (byCgroup) {
    p.family(`${P}cgroup_series`, 'gauge', 'Cgroups with their own latency_seconds series, per analysis.');
    for (const a of running) if (a.byCgroup) p.sample(`${P}cgroup_series`, { analysis: a.analysis }, a.byCgroup.size);
    p.family(
      `${P}cgroup_overflow_pairs_total`,
      'counter',
      'Pairs counted in cgroup="other" because the cgroup series limit (--metrics-limit) was reached.',
    );
    for (const a of running) {
      if (a.byCgroup)
        p.sample(`${P}cgroup_overflow_pairs_total`, { analysis: a.analysis }, a.byCgroup.stats.overflowRecords);
    }
    p.family(
      `${P}cgroup_overflow_cgroups`,
      'gauge',
      'Distinct cgroups folded into cgroup="other" (a lower bound past 4096).',
    );
    for (const a of running) {
      if (a.byCgroup)
        p.sample(`${P}cgroup_overflow_cgroups`, { analysis: a.analysis }, a.byCgroup.stats.overflowDistinct);
    }
  }

  p.family(`${P}outliers_total`, 'counter', 'Outliers reported: pairs over the threshold, events past their timeout.');
  for (const a of running) {
    const s = a.stats as TrackerStats;
    p.sample(`${P}outliers_total`, { analysis: a.analysis, reason: 'threshold' }, s.overThreshold);
    p.sample(`${P}outliers_total`, { analysis: a.analysis, reason: 'timeout' }, s.timeouts);
  }
  for (const [suffix, help, pick] of TRACKER_COUNTERS) {
    p.family(`${P}${suffix}`, 'counter', help);
    for (const a of running) p.sample(`${P}${suffix}`, { analysis: a.analysis }, pick(a.stats as TrackerStats));
  }
  p.family(`${P}in_flight`, 'gauge', 'Begin events waiting for their end.');
  for (const a of running) p.sample(`${P}in_flight`, { analysis: a.analysis }, (a.stats as TrackerStats).inFlight);

  p.family(`${P}threshold_seconds`, 'gauge', 'Current threshold: slower pairs are reported.');
  for (const a of m.analyses)
    if (a.available) p.sample(`${P}threshold_seconds`, { analysis: a.analysis }, a.thresholdNs / 1e9);
  p.family(`${P}timeout_seconds`, 'gauge', 'Current timeout (0 = none).');
  for (const a of m.analyses)
    if (a.available) p.sample(`${P}timeout_seconds`, { analysis: a.analysis }, a.timeoutNs / 1e9);

  p.family(`${P}analysis_available`, 'gauge', '1 when this kernel has the events the analysis needs.');
  for (const a of m.analyses) p.sample(`${P}analysis_available`, { analysis: a.analysis }, a.available ? 1 : 0);
  p.family(`${P}analysis_enabled`, 'gauge', '1 when the analysis is switched on (PUT /api/analyses/{name}).');
  for (const a of m.analyses) p.sample(`${P}analysis_enabled`, { analysis: a.analysis }, a.enabled ? 1 : 0);
  p.family(`${P}analysis_up`, 'gauge', '1 when the analysis is enabled and its events are being read.');
  for (const a of m.analyses) p.sample(`${P}analysis_up`, { analysis: a.analysis }, a.up ? 1 : 0);
  p.family(
    `${P}analysis_last_event_timestamp_seconds`,
    'gauge',
    'Unix time of the read cycle in which the analysis last saw one of its events (0 = never).',
  );
  for (const a of running) {
    p.sample(`${P}analysis_last_event_timestamp_seconds`, { analysis: a.analysis }, a.lastEventUnixSeconds);
  }

  p.scalar(`${P}records_total`, 'counter', 'Kernel events read and decoded.', m.records);
  p.family(`${P}lost_events_total`, 'counter', 'Events the kernel lost (ring-buffer overruns), by CPU.');
  let other = 0;
  m.lostPerCpu.forEach((n, cpu) => {
    if (cpu < MAX_CPU_SERIES) p.sample(`${P}lost_events_total`, { cpu: String(cpu) }, n);
    else other += n;
  });
  if (m.lostPerCpu.length > MAX_CPU_SERIES) p.sample(`${P}lost_events_total`, { cpu: 'other' }, other);
  p.scalar(
    `${P}loss_reports_unknown_total`,
    'counter',
    'Losses the kernel flagged without saying how many events.',
    m.lostUnknown,
  );
  p.scalar(
    `${P}last_read_timestamp_seconds`,
    'gauge',
    'Unix time of the last read of the kernel buffers.',
    m.lastReadUnixSeconds,
  );

  if (m.history !== undefined) {
    p.scalar(`${P}history_outliers`, 'gauge', 'Outliers kept for GET /api/events.', m.history.size);
    p.scalar(`${P}history_capacity`, 'gauge', 'Outliers the history keeps at most.', m.history.capacity);
    p.scalar(
      `${P}history_evicted_total`,
      'counter',
      'Outliers pushed out of the history by newer ones.',
      m.history.evicted,
    );
  }
  if (m.store !== undefined) {
    p.scalar(
      `${P}store_queued_outliers`,
      'gauge',
      'Outliers accepted by the outlier store and not yet committed.',
      m.store.queued,
    );
    p.scalar(
      `${P}store_dropped_total`,
      'counter',
      'Outliers the outlier store dropped (fell behind or failed).',
      m.store.dropped,
    );
  }

  const f = m.flight;
  if (f !== undefined) {
    const F = `${P}flight_`;
    p.scalar(`${F}files_written_total`, 'counter', 'Flight recorder: trace.dat files written.', f.written);
    p.scalar(`${F}written_bytes_total`, 'counter', 'Flight recorder: bytes of trace.dat written.', f.writtenBytes);
    p.scalar(
      `${F}outliers_skipped_total`,
      'counter',
      'Flight recorder: outliers without a file (rate limit).',
      f.skipped,
    );
    p.scalar(
      `${F}outliers_shared_total`,
      'counter',
      'Flight recorder: outliers in a file written for another.',
      f.shared,
    );
    p.scalar(
      `${F}files_removed_total`,
      'counter',
      'Flight recorder: old files removed by the directory cap.',
      f.removed,
    );
    p.scalar(
      `${F}removed_bytes_total`,
      'counter',
      'Flight recorder: bytes removed by the directory cap.',
      f.removedBytes,
    );
    p.scalar(`${F}files_failed_total`, 'counter', 'Flight recorder: files that could not be written.', f.failed);
    p.scalar(
      `${F}windows_truncated_total`,
      'counter',
      'Flight recorder: files whose window reached back past the memory.',
      f.truncated,
    );
    p.scalar(`${F}dir_files`, 'gauge', 'Flight recorder: its files in the directory.', f.dirFiles);
    p.scalar(`${F}dir_bytes`, 'gauge', 'Flight recorder: bytes of its files in the directory.', f.dirBytes);
    p.scalar(`${F}files_queued`, 'gauge', 'Flight recorder: files waiting or being written.', f.queued);
    p.scalar(`${F}memory_bytes`, 'gauge', 'Flight recorder: memory holding raw pages now.', f.memoryBytes);
    p.scalar(`${F}memory_limit_bytes`, 'gauge', 'Flight recorder: memory bound (--flight-memory).', f.memoryLimitBytes);
    p.scalar(`${F}pages`, 'gauge', 'Flight recorder: raw pages held.', f.pages);
    p.scalar(
      `${F}pages_evicted_total`,
      'counter',
      'Flight recorder: pages pushed out by newer ones (memory bound).',
      f.pagesEvicted,
    );
    p.scalar(
      `${F}pages_dropped_total`,
      'counter',
      'Flight recorder: pages not kept while files held the memory (marked as a loss).',
      f.pagesDropped,
    );
  }

  p.scalar(`${P}stream_clients`, 'gauge', 'Open event streams (GET /api/events/stream).', m.stream.clients);
  p.scalar(`${P}stream_clients_accepted_total`, 'counter', 'Event streams opened.', m.stream.accepted);
  p.scalar(`${P}stream_clients_rejected_total`, 'counter', 'Event streams refused: too many open.', m.stream.rejected);
  p.scalar(
    `${P}stream_clients_dropped_total`,
    'counter',
    'Event streams closed because the client read too slowly.',
    m.stream.dropped,
  );
  p.scalar(
    `${P}stream_skipped_outliers_total`,
    'counter',
    'Outliers not streamed during an outlier storm.',
    m.stream.skipped,
  );
  p.scalar(`${P}stream_sent_outliers_total`, 'counter', 'Outliers sent on the event streams.', m.stream.sent);

  const cg = m.cgroups;
  if (cg !== undefined) {
    p.scalar(`${P}cgroup_lookups_total`, 'counter', 'Threads whose cgroup was read from /proc.', cg.resolved);
    p.scalar(
      `${P}cgroup_lookup_failures_total`,
      'counter',
      'Cgroup reads that found the thread gone (its cgroup stays what its fork said, or unknown).',
      cg.resolveFailed,
    );
    p.scalar(
      `${P}cgroup_lookups_deferred_total`,
      'counter',
      'Cgroup lookups beyond the per-cycle read budget (answered as inherited or unknown, retried).',
      cg.deferred,
    );
    p.scalar(`${P}cgroup_moves_total`, 'counter', 'Thread moves between cgroups seen in the trace.', cg.moves);
    p.scalar(
      `${P}cgroup_threads_evicted_total`,
      'counter',
      'Threads pushed out of the cgroup table by another thread id (resolved again on need).',
      cg.evicted,
    );
    p.scalar(
      `${P}cgroup_table_resets_total`,
      'counter',
      'Times the cgroup path table was full and started over.',
      cg.resets,
    );
    p.scalar(
      `${P}cgroup_throttle_groups`,
      'gauge',
      'CPU-quota cgroups whose throttling is sampled.',
      cg.throttleGroups,
    );
    p.scalar(
      `${P}cgroup_throttle_groups_evicted_total`,
      'counter',
      'Quota cgroups dropped from throttling sampling for room.',
      cg.throttleEvicted,
    );
    p.scalar(
      `${P}cgroup_throttle_uncovered_total`,
      'counter',
      'Outliers in a quota cgroup whose throttling could not be told (no sample before their start).',
      cg.throttleUncovered,
    );
  }

  p.family(`${P}http_responses_total`, 'counter', 'HTTP responses by status code.');
  for (const [code, n] of [...m.http].sort((a, b) => a[0] - b[0]))
    p.sample(`${P}http_responses_total`, { code: String(code) }, n);
  p.family(
    `${P}http_connections_closed_total`,
    'counter',
    'HTTP connections the daemon closed: no request headers in time, idle ones evicted for new clients, refused.',
  );
  p.sample(`${P}http_connections_closed_total`, { reason: 'header_timeout' }, m.connections.timedOut);
  p.sample(`${P}http_connections_closed_total`, { reason: 'evicted' }, m.connections.evicted);
  p.sample(`${P}http_connections_closed_total`, { reason: 'refused' }, m.connections.refused);

  p.scalar('process_cpu_seconds_total', 'counter', 'User and system CPU time of the daemon.', m.process.cpuSeconds);
  p.scalar('process_resident_memory_bytes', 'gauge', 'Resident memory of the daemon.', m.process.residentBytes);
  p.scalar('process_start_time_seconds', 'gauge', 'Unix time the daemon started.', m.process.startUnixSeconds);
  p.scalar(`${P}heap_used_bytes`, 'gauge', 'JavaScript heap in use.', m.process.heapBytes);
  return p.toString();
}
