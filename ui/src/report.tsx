// The self-contained report (issue 16): one run's analyses drawn with the dashboard's components from the data
// embedded in the page — summary, histogram, latency heatmap, percentiles over time, worst outliers with stacks and
// budget, losses. No request leaves the page (its CSP forbids it).
import { useState } from 'preact/hooks';
import { type Detail, formatNs } from './api.ts';
import { Heatmap, Histogram, Lines } from './charts.tsx';

export interface SummaryRecord {
  analysis: string;
  count: number;
  min_ns: number | null;
  max_ns: number | null;
  mean_ns: number | null;
  p50_ns: number | null;
  p90_ns: number | null;
  p99_ns: number | null;
  p999_ns: number | null;
  over_threshold: number;
  timeouts: number;
  unmatched: number;
  lost_events: number;
}

export interface ReportOutlier {
  analysis: string;
  reason: string;
  /** Exact nanoseconds as decimal strings. */
  start_ns: string;
  end_ns: string;
  latency_ns: number;
  cpu: number | null;
  tid: number | null;
  pid: number | null;
  comm: string | null;
  detail: Detail & { breakdown?: unknown };
  stack?: string[];
  trace_file?: string;
}

export interface ReportTimeline {
  t0_ns: number;
  bin_ns: number;
  bins: number;
  per_octave: number;
  cells: number[];
  count: number[];
  max_ns: (number | null)[];
  p50_ns: (number | null)[];
  p90_ns: (number | null)[];
  p99_ns: (number | null)[];
}

export interface ReportAnalysis {
  name: string;
  description: string;
  threshold_ns: number;
  timeout_ns: number;
  summary: SummaryRecord | null;
  tracker: Record<string, number>;
  histogram: [number, number, number][];
  timeline: ReportTimeline | null;
  worst: ReportOutlier[];
}

export interface ReportData {
  version: number;
  title: string;
  source: string;
  tool: string;
  generated: string;
  cpus: number;
  clock: string;
  origin_ns: string;
  unix_offset_ns: string | null;
  records: number;
  losses: {
    lost_per_cpu: number[];
    loss_reports: number;
    unknown_counts: number;
    errors: Record<string, number>;
  };
  skipped: string[];
  analyses: ReportAnalysis[];
}

/** SEC.NSEC of an exact nanosecond string. */
function secNs(ns: string): string {
  const s = ns.padStart(10, '0');
  return `${s.slice(0, -9)}.${s.slice(-9)}`;
}

function Ns(props: { v: number | null | undefined; testid?: string }) {
  return (
    <td class="num" data-testid={props.testid} data-ns={props.v ?? ''}>
      {formatNs(props.v)}
    </td>
  );
}

export function Report(props: { data: ReportData }) {
  const d = props.data;
  const timelines = d.analyses.map((a) => a.timeline).filter((t): t is ReportTimeline => t !== null);
  const base = timelines.length > 0 ? Math.min(...timelines.map((t) => t.t0_ns)) : 0;
  const offset = d.unix_offset_ns === null ? null : Number(BigInt(d.origin_ns) + BigInt(d.unix_offset_ns));
  // x values: seconds since the first time bin; labels: wall time when the trace clock maps to it, else +seconds.
  const xLabel = (v: number) =>
    offset === null
      ? `+${v.toFixed(v < 10 ? 1 : 0)}s`
      : new Date((offset + base) / 1e6 + v * 1000).toLocaleTimeString('en-GB');
  const lost = d.losses.lost_per_cpu.reduce((a, b) => a + b, 0);
  return (
    <div class="page report">
      <header>
        <h1>latency-tracker report</h1>
        <span class="host" data-testid="report-title">
          {d.title}
        </span>
        <span class="conn ok">{d.source}</span>
      </header>
      <main>
        <section>
          <p class="muted">
            {d.records.toLocaleString('en-US')} events from {d.cpus} CPUs (clock {d.clock}); generated {d.generated} by{' '}
            {d.tool}. Percentiles from log-linear histograms (error ≤ 1 %); counts, min and max exact.
          </p>
          <table class="grid" data-testid="summary-table">
            <thead>
              <tr>
                <th>analysis</th>
                <th>pairs</th>
                <th>min</th>
                <th>p50</th>
                <th>p90</th>
                <th>p99</th>
                <th>p99.9</th>
                <th>max</th>
                <th>over threshold</th>
                <th>timeouts</th>
                <th>unmatched</th>
              </tr>
            </thead>
            <tbody>
              {d.analyses.map((a) => {
                const s = a.summary;
                return (
                  <tr key={a.name} data-testid="summary-row" data-analysis={a.name}>
                    <td>
                      <a href={`#a-${a.name}`}>{a.name}</a>
                    </td>
                    <td class="num" data-testid="count" data-value={s?.count ?? 0}>
                      {(s?.count ?? 0).toLocaleString('en-US')}
                    </td>
                    <Ns v={s?.min_ns} testid="min" />
                    <Ns v={s?.p50_ns} testid="p50" />
                    <Ns v={s?.p90_ns} testid="p90" />
                    <Ns v={s?.p99_ns} testid="p99" />
                    <Ns v={s?.p999_ns} testid="p999" />
                    <Ns v={s?.max_ns} testid="max" />
                    <td class="num">{s?.over_threshold ?? 0}</td>
                    <td class="num">{s?.timeouts ?? 0}</td>
                    <td class="num">{s?.unmatched ?? 0}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <Losses data={d} lost={lost} />
        </section>
        {d.analyses.map((a) => (
          <AnalysisSection key={a.name} a={a} base={base} xLabel={xLabel} />
        ))}
      </main>
    </div>
  );
}

function Losses(props: { data: ReportData; lost: number }) {
  const { data: d, lost } = props;
  const errors = Object.entries(d.losses.errors).filter(([, n]) => n > 0);
  return (
    <div data-testid="losses">
      <h3>What was lost</h3>
      {lost === 0 && d.losses.loss_reports === 0 ? (
        <p class="muted" data-testid="no-loss">
          The kernel reported no lost events.
        </p>
      ) : (
        <p class="err" data-testid="lost">
          The kernel lost {lost.toLocaleString('en-US')} events ({d.losses.loss_reports} reports
          {d.losses.unknown_counts > 0 ? `, ${d.losses.unknown_counts} without a count` : ''}):{' '}
          {d.losses.lost_per_cpu.map((n, c) => `cpu${c}=${n}`).join(' ')}. Pairs that may have lost their end were
          dropped, not reported.
        </p>
      )}
      {errors.length > 0 && <p class="err">Undecodable data: {errors.map(([k, n]) => `${k}=${n}`).join(' ')}</p>}
      {d.skipped.length > 0 && <p class="muted">Not run: {d.skipped.join('; ')}</p>}
    </div>
  );
}

function AnalysisSection(props: { a: ReportAnalysis; base: number; xLabel: (v: number) => string }) {
  const { a, base, xLabel } = props;
  const tl = a.timeline;
  const xs = tl === null ? [] : Array.from({ length: tl.bins }, (_, k) => (tl.t0_ns + k * tl.bin_ns - base) / 1e9);
  const t = a.tracker;
  return (
    <section id={`a-${a.name}`} data-testid={`analysis-${a.name}`}>
      <div class="title">
        <h2>{a.name}</h2>
        <span class="muted">
          {a.description} · threshold {formatNs(a.threshold_ns)}
          {a.timeout_ns > 0 ? ` · timeout ${formatNs(a.timeout_ns)}` : ''}
        </span>
      </div>
      <p class="muted">
        {t.pairs?.toLocaleString('en-US')} pairs, {t.outliers} outliers reported, {t.unmatched} ends without a begin,{' '}
        {t.replaced} begins replaced, {t.discarded} dropped after losses, {t.table_full} refused (table full).
      </p>
      {a.histogram.length === 0 ? (
        <p class="muted">No pairs.</p>
      ) : (
        <>
          <h3>Histogram (every pair)</h3>
          <Histogram buckets={a.histogram} />
        </>
      )}
      {tl !== null && (
        <>
          <h3>Latency over time ({formatNs(tl.bin_ns)} bins; darker = fewer pairs)</h3>
          <Heatmap
            xs={xs}
            binS={tl.bin_ns / 1e9}
            cells={tl.cells}
            perOctave={tl.per_octave}
            threshold={a.threshold_ns}
            xLabel={xLabel}
          />
          <h3>Percentiles over time</h3>
          <Lines
            xs={xs}
            xLabel={xLabel}
            series={[
              { label: 'p50', values: tl.p50_ns },
              { label: 'p90', values: tl.p90_ns },
              { label: 'p99', values: tl.p99_ns },
              { label: 'max', values: tl.max_ns },
            ]}
          />
        </>
      )}
      <h3>Worst outliers</h3>
      <WorstTable outliers={a.worst} />
    </section>
  );
}

function detailText(d: Detail & { breakdown?: unknown }): string {
  return Object.entries(d)
    .filter(([k, v]) => k !== 'breakdown' && (v === null || typeof v !== 'object'))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** Where the time went (`detail.breakdown`): a bar of its `*_ns` parts, and its other fields as text. */
function Budget(props: { breakdown: unknown; latency: number }) {
  const b = props.breakdown;
  if (b === null || typeof b !== 'object') return null;
  const entries = Object.entries(b as Record<string, unknown>);
  const parts = entries.filter(([k, v]) => k.endsWith('_ns') && typeof v === 'number' && (v as number) > 0) as [
    string,
    number,
  ][];
  const colors = ['#3e63dd', '#f5a524', '#e5484d', '#30a46c', '#9aa4b2'];
  const total = props.latency > 0 ? props.latency : parts.reduce((s, [, v]) => s + v, 0);
  return (
    <div class="budget" data-testid="budget">
      <div class="bar">
        {parts.map(([k, v], i) => (
          <span
            key={k}
            title={`${k.replace(/_ns$/, '')} ${formatNs(v)}`}
            style={{ width: `${(100 * v) / total}%`, background: colors[i % colors.length] }}
          />
        ))}
      </div>
      <div class="muted">
        {entries
          .map(([k, v]) =>
            k.endsWith('_ns') && typeof v === 'number'
              ? `${k.replace(/_ns$/, '')} ${formatNs(v)}`
              : `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
          )
          .join(' · ')}
      </div>
    </div>
  );
}

function WorstTable(props: { outliers: ReportOutlier[] }) {
  const [open, setOpen] = useState<number | undefined>(undefined);
  if (props.outliers.length === 0) return <p class="muted">No outliers over the threshold.</p>;
  return (
    <table class="grid outliers" data-testid="worst-table">
      <thead>
        <tr>
          <th>start</th>
          <th>comm</th>
          <th>tid</th>
          <th>cpu</th>
          <th>latency</th>
          <th>reason</th>
          <th>detail</th>
        </tr>
      </thead>
      <tbody>
        {props.outliers.map((o, i) => {
          const isOpen = open === i;
          return [
            <tr
              key={`${i}`}
              class={`row ${isOpen ? 'open' : ''}`}
              onClick={() => setOpen(isOpen ? undefined : i)}
              data-testid="worst-row"
              data-tid={o.tid ?? ''}
              data-latency={o.latency_ns}
            >
              <td>{secNs(o.start_ns)}</td>
              <td>{o.comm ?? '?'}</td>
              <td>{o.tid ?? '–'}</td>
              <td>{o.cpu ?? '–'}</td>
              <td class="num">{formatNs(o.latency_ns)}</td>
              <td>{o.reason}</td>
              <td class="detail">{detailText(o.detail)}</td>
            </tr>,
            isOpen && (
              <tr key={`${i}-x`} class="expanded">
                <td colSpan={7}>
                  <div class="muted">
                    pid {o.pid ?? '?'} · start {o.start_ns} ns · end {o.end_ns} ns
                    {o.trace_file !== undefined ? ` · trace ${o.trace_file}` : ''}
                  </div>
                  {o.detail.breakdown !== undefined && <Budget breakdown={o.detail.breakdown} latency={o.latency_ns} />}
                  {o.stack !== undefined && o.stack.length > 0 ? (
                    <pre class="stack" data-testid="stack">
                      {o.stack.join('\n')}
                    </pre>
                  ) : (
                    <div class="muted">no kernel stack (the task did not block, or stacks were off)</div>
                  )}
                </td>
              </tr>
            ),
          ];
        })}
      </tbody>
    </table>
  );
}
