/**
 * The self-contained HTML report (issue 16): the data of a run — per analysis its summary (the very records of
 * `--json --summary`), histogram, latency over time (heatmap cells and percentiles per time bin), the worst outliers
 * with their stacks and budget (`detail.breakdown`), and what was lost — embedded as JSON into the report page built
 * from the dashboard's own components (`ui/report.html`, one inlined file: `ui/dist-report/report.html`).
 *
 * Pure: the caller reads the template and writes the result (`analyze --report`, the daemon's `GET /api/report`).
 */
import type { Engine, OutlierRecord } from '../analyses/engine.ts';
import { drawingBuckets } from '../histogram/drawing.ts';
import { PER_OCTAVE } from '../histogram/timeline.ts';
import type { SourceStats } from '../sources/types.ts';
import { summaryRecords } from './summary.ts';

/** Worst outliers kept per analysis for the report. */
export const WORST_PER_ANALYSIS = 20;
/** The placeholder of the template that the data replaces (inside a `<script type="application/json">`). */
export const DATA_PLACEHOLDER = '"__LATENCY_TRACKER_REPORT_DATA__"';

/** The slowest outliers per analysis (bounded: `limit` per analysis name). */
export class WorstOutliers {
  private readonly by = new Map<string, OutlierRecord[]>();
  constructor(readonly limit = WORST_PER_ANALYSIS) {}

  /** Offers one outlier (O(limit) at most; most are rejected after one comparison). */
  add(o: OutlierRecord): void {
    let list = this.by.get(o.analysis);
    if (list === undefined) {
      if (this.by.size >= 64) return;
      list = [];
      this.by.set(o.analysis, list);
    }
    if (list.length >= this.limit && o.latency_ns <= list[list.length - 1].latency_ns) return;
    let i = list.length;
    while (i > 0 && list[i - 1].latency_ns < o.latency_ns) i--;
    list.splice(i, 0, o);
    if (list.length > this.limit) list.pop();
  }

  of(analysis: string): OutlierRecord[] {
    return this.by.get(analysis) ?? [];
  }
}

export interface ReportMeta {
  /** What the report is about: a file path, or `host` for the daemon. */
  title: string;
  /** `trace.dat file`, `LTTng CTF trace`, `live kernel`... */
  source: string;
  /** `latency-tracker 0.1.0`. */
  tool: string;
  /** Wall clock of the report, ms since the epoch. */
  generatedMs: number;
  /** unix_ns − trace clock ns, when known (live): the page then shows wall-clock times. */
  unixOffsetNs?: bigint;
}

/** JSON text with bigints as decimal strings (exact) and `<` escaped (the text sits inside a `<script>`). */
export function reportJson(obj: unknown): string {
  return JSON.stringify(obj, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)).replace(/</g, '\\u003c');
}

/** The report's data for an engine that has run (or is running) over a source. */
export function reportData(
  engine: Engine,
  stats: SourceStats,
  meta: ReportMeta,
  worst: WorstOutliers,
): Record<string, unknown> {
  const summaries = summaryRecords(engine, stats) as Record<string, unknown>[];
  const origin = engine.source.originNs;
  return {
    version: 1,
    title: meta.title,
    source: meta.source,
    tool: meta.tool,
    generated: new Date(meta.generatedMs).toISOString(),
    cpus: engine.source.cpus,
    clock: engine.source.clock,
    origin_ns: origin,
    unix_offset_ns: meta.unixOffsetNs ?? null,
    records: stats.records,
    losses: {
      lost_per_cpu: stats.lostPerCpu,
      loss_reports: stats.lossReports,
      unknown_counts: engine.lostUnknown,
      errors: stats.errors,
    },
    skipped: engine.skipped,
    analyses: engine.states.map((st) => {
      const name = st.analysis.name;
      const t = st.tracker.stats;
      const tl = engine.profiles.timeline(name);
      let timeline: Record<string, unknown> | null = null;
      if (tl !== undefined && tl.bins > 0) {
        const per = (f: (k: number) => number | null) => Array.from({ length: tl.bins }, (_, k) => f(k));
        timeline = {
          t0_ns: tl.t0,
          bin_ns: tl.binNs,
          bins: tl.bins,
          per_octave: PER_OCTAVE,
          cells: tl.cells(),
          count: per((k) => tl.count(k)),
          max_ns: per((k) => (tl.count(k) > 0 ? tl.maxOf(k) : null)),
          p50_ns: per((k) => tl.percentile(k, 50)),
          p90_ns: per((k) => tl.percentile(k, 90)),
          p99_ns: per((k) => tl.percentile(k, 99)),
        };
      }
      return {
        name,
        description: st.analysis.description,
        threshold_ns: st.settings.threshold,
        timeout_ns: st.settings.timeout,
        summary: summaries.find((s) => s.analysis === name && s.group === null) ?? null,
        tracker: {
          pairs: t.completed,
          over_threshold: t.overThreshold,
          timeouts: t.timeouts,
          unmatched: t.unmatchedOut,
          replaced: t.replaced,
          discarded: t.discarded,
          table_full: t.full,
          outliers: st.outliers,
        },
        histogram: drawingBuckets(engine.profiles.total(name)),
        timeline,
        worst: worst.of(name),
      };
    }),
  };
}

/** The report page: the template with the data in place. Throws when the template has no placeholder. */
export function renderReport(template: string, data: Record<string, unknown>): string {
  const at = template.indexOf(DATA_PLACEHOLDER);
  if (at < 0) throw new Error('the report template has no data placeholder');
  return template.slice(0, at) + reportJson(data) + template.slice(at + DATA_PLACEHOLDER.length);
}
