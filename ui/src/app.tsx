// The dashboard: a list of analyses; per analysis its controls, live outliers over time, profiles for the 1m/5m/1h
// windows and the table of recent outliers; and a compare view (current window against a baseline window).
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  type AnalysesResponse,
  type AnalysisInfo,
  type CgroupField,
  type CompareResponse,
  cgroupValue,
  clockText,
  dateTimeText,
  durationText,
  formatNs,
  getJson,
  inCgroup,
  type Outlier,
  type ProfileResponse,
  parseDuration,
  putJson,
  relativeText,
  spanText,
  traceFileUrl,
  WINDOWS,
  type WindowName,
  whereText,
} from './api.ts';
import { Histogram, Scatter } from './charts.tsx';
import { type Feed, type FeedControl, PER_ANALYSIS, startFeed } from './live.ts';

/** What the analysis page shows in its scatter and table: the last 5 minutes. */
const SPAN_S = 300;

function usePoll<T>(
  fn: () => Promise<T>,
  ms: number,
  deps: unknown[],
): [T | undefined, string | undefined, () => void] {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    const run = () =>
      fn()
        .then((v) => {
          if (alive) {
            setValue(v);
            setError(undefined);
          }
        })
        .catch((e: Error) => alive && setError(e.message));
    run();
    const t = window.setInterval(run, ms);
    return () => {
      alive = false;
      window.clearInterval(t);
    };
  }, [...deps, tick]);
  return [value, error, () => setTick((x) => x + 1)];
}

function useHash(): string {
  const [h, setH] = useState(location.hash);
  useEffect(() => {
    const on = () => setH(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return h;
}

const EMPTY_FEED: Feed = {
  outliers: [],
  offsetNs: 0,
  state: 'connecting',
  stoppedAt: undefined,
  skipped: 0,
  history: {},
};

const STATE_TEXT = { connecting: 'connecting…', live: 'live', reconnecting: 'disconnected', stopped: 'daemon stopped' };

export function App() {
  const [feed, setFeed] = useState<Feed>(EMPTY_FEED);
  const [control, setControl] = useState<FeedControl | undefined>(undefined);
  useEffect(() => {
    const c = startFeed(setFeed);
    setControl(c);
    return () => c.stop();
  }, []);
  const [data, error, refresh] = usePoll(() => getJson<AnalysesResponse>('/api/analyses'), 2000, []);
  const hash = useHash();
  const compare = hash === '#/compare';
  const running = data?.analyses.filter((a) => a.available) ?? [];
  const asked = /^#\/a\/(.*)$/.exec(hash)?.[1];
  const selected = asked !== undefined ? decodeURIComponent(asked) : running[0]?.analysis;
  const info = data?.analyses.find((a) => a.analysis === selected);
  const live = feed.state === 'live';
  // The counter of an analysis: the daemon's count at its last answer, plus what streamed in since (so it agrees
  // with the list at every moment, and after the daemon stopped).
  const counts = useMemo(() => {
    const m = new Map<string, number>();
    const after = data?.processed_ns ?? Number.POSITIVE_INFINITY;
    for (const o of feed.outliers) if (o.end_ns > after) m.set(o.analysis, (m.get(o.analysis) ?? 0) + 1);
    for (const a of data?.analyses ?? [])
      if (a.available) m.set(a.analysis, (a.outliers ?? 0) + (m.get(a.analysis) ?? 0));
    return m;
  }, [data, feed.outliers]);
  return (
    <div class="page">
      <header>
        <h1>latency-tracker</h1>
        <span class="host">{data?.host ?? ''}</span>
        <nav>
          <a href={`#/a/${selected ?? ''}`} class={compare ? '' : 'on'}>
            Analyses
          </a>
          <a href="#/compare" class={compare ? 'on' : ''} data-testid="nav-compare">
            Compare
          </a>
        </nav>
        <a class="report-link" href="/api/report" download data-testid="download-report">
          Download report
        </a>
        <span class={`conn ${live ? 'ok' : 'down'}`} data-testid="connection">
          {STATE_TEXT[feed.state]}
        </span>
      </header>
      {feed.state === 'stopped' && (
        <div class="banner" data-testid="stopped-banner">
          The daemon stopped at {clockText(feed.stoppedAt ?? Date.now()).slice(0, 8)}: the figures are as of then.
        </div>
      )}
      {error !== undefined && feed.state !== 'stopped' && <div class="banner">Cannot reach the daemon: {error}</div>}
      {feed.skipped > 0 && (
        <div class="banner">{feed.skipped} outliers were not streamed during a burst (they are in /metrics).</div>
      )}
      <div class="body">
        <aside>
          {data?.analyses.map((a) => (
            <a
              key={a.analysis}
              href={`#/a/${a.analysis}`}
              class={`item ${a.analysis === selected && !compare ? 'on' : ''} ${a.available ? '' : 'na'}`}
              data-testid={`nav-${a.analysis}`}
              title={a.available ? a.description : `unavailable: ${a.missing}`}
            >
              <span
                class={`dot ${live && a.up ? 'up' : a.available ? 'off' : 'na'}`}
                data-testid={`dot-${a.analysis}`}
              />
              <span class="name">{a.analysis}</span>
              <span class="count" title="outliers since the daemon started">
                {a.available ? (counts.get(a.analysis) ?? 0) : '–'}
              </span>
            </a>
          ))}
        </aside>
        <main>
          {compare ? (
            <CompareView />
          ) : info !== undefined ? (
            <AnalysisView
              key={info.analysis}
              info={info}
              feed={feed}
              control={control}
              outliers={counts.get(info.analysis) ?? 0}
              onChanged={refresh}
            />
          ) : data !== undefined && selected !== undefined ? (
            <section data-testid="no-such-analysis">
              <h2>No such analysis: {selected}</h2>
              <p class="muted">
                The analyses are {data.analyses.map((a) => a.analysis).join(', ')}: pick one on the left.
              </p>
            </section>
          ) : error !== undefined ? (
            <p class="muted">Cannot reach the daemon.</p>
          ) : (
            <p class="muted">Loading…</p>
          )}
        </main>
      </div>
    </div>
  );
}

function AnalysisView(props: {
  info: AnalysisInfo;
  feed: Feed;
  control: FeedControl | undefined;
  outliers: number;
  onChanged: () => void;
}) {
  const { info, feed, control } = props;
  const [filter, setFilter] = useState('');
  const history = feed.history[info.analysis];
  useEffect(() => {
    if (info.available && feed.state === 'live') control?.load(info.analysis, SPAN_S * 1e9);
  }, [info.analysis, feed.state, history, control]);
  const [cgroup, setCgroup] = useState('');
  const [groupBy, setGroupBy] = useState<CgroupField | ''>('');
  const mine = useMemo(() => {
    const f = filter.trim();
    const g = cgroup.trim();
    return feed.outliers.filter(
      (o) =>
        o.analysis === info.analysis &&
        (f === '' || (o.comm ?? '').includes(f) || String(o.tid) === f) &&
        (g === '' || inCgroup(o.cgroup, g)),
    );
  }, [feed.outliers, info.analysis, filter, cgroup]);
  if (!info.available) {
    return (
      <section>
        <h2>{info.analysis}</h2>
        <p class="muted">Not available on this kernel: {info.missing}</p>
      </section>
    );
  }
  return (
    <section>
      <div class="title">
        <h2>{info.analysis}</h2>
        <span class="muted">{info.description}</span>
      </div>
      <Controls info={info} onChanged={props.onChanged} />
      <div class="counters">
        <Stat label="pairs" value={info.pairs} />
        <Stat label="outliers" value={props.outliers} />
        <Stat label="timeouts" value={info.timeouts} />
        <Stat label="in flight" value={info.in_flight} />
        <Stat label="unmatched" value={info.unmatched} />
        <Stat label="table full" value={info.table_full} />
      </div>
      <div class="filter">
        <label>
          show only comm or tid{' '}
          <input
            value={filter}
            onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
            placeholder="e.g. mysqld"
            data-testid="outlier-filter"
            size={16}
          />
        </label>{' '}
        <label>
          cgroup{' '}
          <input
            value={cgroup}
            onInput={(e) => setCgroup((e.target as HTMLInputElement).value)}
            placeholder="/system.slice/mariadb.service"
            data-testid="cgroup-filter"
            size={28}
          />
        </label>{' '}
        <label>
          group by{' '}
          <select
            value={groupBy}
            onChange={(e) => setGroupBy((e.target as HTMLSelectElement).value as CgroupField | '')}
            data-testid="group-by"
          >
            <option value="">none</option>
            <option value="cgroup">cgroup</option>
            <option value="container">container</option>
            <option value="unit">unit</option>
          </select>
        </label>
        <span class="muted" data-testid="outlier-count">
          {history === 'loading' ? 'reading the history… ' : ''}
          {mine.length} outliers in the last 5 minutes
          {history === 'cut' ? ` (the newest ${PER_ANALYSIS.toLocaleString('en-US')} only)` : ''}
          {history === 'failed' ? ' (the history could not be read)' : ''}
        </span>
      </div>
      {groupBy !== '' && (
        <GroupTable outliers={mine} field={groupBy} onPick={(v) => groupBy === 'cgroup' && setCgroup(v)} />
      )}
      <h3>Outliers over the last 5 minutes</h3>
      <LiveScatter outliers={mine} offsetNs={feed.offsetNs} info={info} />
      <Profiles analysis={info.analysis} />
      <h3>Recent outliers</h3>
      <OutlierTable outliers={mine.slice(0, 100)} offsetNs={feed.offsetNs} />
    </section>
  );
}

function Stat(props: { label: string; value: number | undefined }) {
  return (
    <div class="stat">
      <div class="v">{props.value?.toLocaleString('en-US') ?? '–'}</div>
      <div class="l">{props.label}</div>
    </div>
  );
}

function Controls(props: { info: AnalysisInfo; onChanged: () => void }) {
  const { info } = props;
  const [threshold, setThreshold] = useState(durationText(info.threshold_ns));
  const [timeout, setTimeoutText] = useState(durationText(info.timeout_ns));
  const [enabled, setEnabled] = useState(info.enabled);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const apply = async (e: Event) => {
    e.preventDefault();
    const t = parseDuration(threshold);
    const o = parseDuration(timeout);
    if (typeof t === 'string') return setMessage({ ok: false, text: `threshold: ${t}` });
    if (typeof o === 'string') return setMessage({ ok: false, text: `timeout: ${o}` });
    setBusy(true);
    try {
      const r = await putJson<AnalysisInfo>(`/api/analyses/${info.analysis}`, {
        threshold_ns: t,
        timeout_ns: o,
        enabled,
      });
      setThreshold(durationText(r.threshold_ns));
      setTimeoutText(durationText(r.timeout_ns));
      setMessage({ ok: true, text: 'applied' });
      props.onChanged();
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="controls" onSubmit={apply}>
      <label>
        threshold
        <input
          value={threshold}
          onInput={(e) => setThreshold((e.target as HTMLInputElement).value)}
          data-testid="threshold-input"
          size={8}
        />
      </label>
      <label>
        timeout
        <input
          value={timeout}
          onInput={(e) => setTimeoutText((e.target as HTMLInputElement).value)}
          data-testid="timeout-input"
          size={8}
        />
      </label>
      <label class="check">
        <input
          type="checkbox"
          checked={enabled}
          onChange={(e) => setEnabled((e.target as HTMLInputElement).checked)}
          data-testid="enabled-input"
        />
        enabled
      </label>
      <button type="submit" disabled={busy} data-testid="apply">
        Apply
      </button>
      <span class="muted" data-testid="current-settings">
        now: threshold {durationText(info.threshold_ns)}, timeout{' '}
        {info.timeout_ns === 0 ? 'none' : durationText(info.timeout_ns)}, {info.enabled ? 'enabled' : 'disabled'}
      </span>
      {message !== undefined && (
        <span class={message.ok ? 'ok' : 'err'} data-testid="apply-message">
          {message.text}
        </span>
      )}
    </form>
  );
}

/** The threshold in force at daemon time `ns` (end_ns clock), or null when it is not known (before the daemon). */
function thresholdAt(info: AnalysisInfo, ns: number): number | null {
  const h = info.threshold_history ?? [{ since_ns: null, threshold_ns: info.threshold_ns }];
  let t: number | null = null;
  for (const e of h) {
    if (e.since_ns === null || e.since_ns <= ns) t = e.threshold_ns;
    else break;
  }
  // Before the oldest change remembered (or before the daemon started), the threshold is not known.
  return h.length > 0 && h[0].since_ns !== null && ns < h[0].since_ns ? null : t;
}

function LiveScatter(props: { outliers: Outlier[]; offsetNs: number; info: AnalysisInfo }) {
  const [nowS, setNow] = useState(Date.now() / 1000);
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now() / 1000), 1000);
    return () => window.clearInterval(t);
  }, []);
  const { info, offsetNs } = props;
  const history = info.threshold_history;
  const { xs, ys, th } = useMemo(() => {
    const start = nowS - SPAN_S - 5;
    const pts = props.outliers
      .map((o) => [(o.end_ns + offsetNs) / 1e9, o.latency_ns, thresholdAt(info, o.end_ns)] as const)
      .filter(([x]) => x >= start);
    // The threshold line steps at each change, and spans the window from edge to edge.
    const steps: (readonly [number, null, number | null])[] = [start, nowS + 5].map(
      (x) => [x, null, thresholdAt(info, x * 1e9 - offsetNs)] as const,
    );
    for (const e of info.threshold_history ?? []) {
      if (e.since_ns === null) continue;
      const x = (e.since_ns + offsetNs) / 1e9;
      if (x > start) steps.push([x, null, e.threshold_ns]);
    }
    const all = [...pts, ...steps].sort((a, b) => a[0] - b[0]);
    return { xs: all.map((p) => p[0]), ys: all.map((p) => p[1]), th: all.map((p) => p[2]) };
  }, [props.outliers, offsetNs, history, info.threshold_ns, Math.floor(nowS / 5)]);
  return <Scatter xs={xs} ys={ys} th={th} spanS={SPAN_S} nowS={nowS} />;
}

function Profiles(props: { analysis: string }) {
  const [win, setWin] = useState<WindowName>('1m');
  const [all] = usePoll(
    () => Promise.all(WINDOWS.map((w) => getJson<ProfileResponse>(`/api/profiles/${props.analysis}?window=${w}`))),
    5000,
    [props.analysis],
  );
  const cur = all?.find((p) => p.window === win);
  return (
    <div class="profiles">
      <h3>Latency profile (every pair)</h3>
      <table class="grid" data-testid="profile-table">
        <thead>
          <tr>
            <th>window</th>
            <th>pairs</th>
            <th>p50</th>
            <th>p90</th>
            <th>p99</th>
            <th>p99.9</th>
            <th>max</th>
          </tr>
        </thead>
        <tbody>
          {WINDOWS.map((w) => {
            const p = all?.find((x) => x.window === w);
            return (
              <tr key={w} class={w === win ? 'on' : ''} onClick={() => setWin(w)}>
                <td>
                  <button type="button" class={`tab ${w === win ? 'on' : ''}`} onClick={() => setWin(w)}>
                    {w}
                  </button>
                </td>
                <td>{p?.count.toLocaleString('en-US') ?? '–'}</td>
                <td>{formatNs(p?.p50_ns)}</td>
                <td>{formatNs(p?.p90_ns)}</td>
                <td>{formatNs(p?.p99_ns)}</td>
                <td>{formatNs(p?.p999_ns)}</td>
                <td>{formatNs(p?.max_ns)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <Histogram buckets={cur?.buckets ?? []} />
    </div>
  );
}

/** Outliers grouped by cgroup, container or unit: how many, the worst, how many were CPU-throttled. */
function GroupTable(props: { outliers: Outlier[]; field: CgroupField; onPick: (v: string) => void }) {
  const rows = new Map<string, { n: number; max: number; throttled: number }>();
  for (const o of props.outliers) {
    const k = cgroupValue(o, props.field);
    const r = rows.get(k) ?? { n: 0, max: 0, throttled: 0 };
    r.n++;
    r.max = Math.max(r.max, o.latency_ns);
    if ((o.throttle?.nr_throttled ?? 0) > 0) r.throttled++;
    rows.set(k, r);
  }
  const sorted = [...rows].sort((a, b) => b[1].n - a[1].n).slice(0, 50);
  return (
    <table class="grid groups" data-testid="group-table">
      <thead>
        <tr>
          <th>{props.field}</th>
          <th>outliers</th>
          <th>max</th>
          <th>CPU-throttled</th>
        </tr>
      </thead>
      <tbody>
        {sorted.map(([k, r]) => (
          <tr key={k} data-testid="group-row" data-group={k} onClick={() => props.onPick(k)}>
            <td class="detail">{k}</td>
            <td class="num">{r.n}</td>
            <td class="num">{formatNs(r.max)}</td>
            <td class="num">{r.throttled}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function detailText(o: Outlier): string {
  return Object.entries(o.detail)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function OutlierTable(props: { outliers: Outlier[]; offsetNs: number }) {
  const [open, setOpen] = useState<string | undefined>(undefined);
  if (props.outliers.length === 0) return <p class="muted">No outliers yet.</p>;
  return (
    <table class="grid outliers" data-testid="outlier-table">
      <thead>
        <tr>
          <th>time</th>
          <th>comm</th>
          <th>tid</th>
          <th>cpu</th>
          <th>latency</th>
          <th>reason</th>
          <th>cgroup</th>
          <th>detail</th>
        </tr>
      </thead>
      <tbody>
        {props.outliers.map((o) => {
          const k = `${o.tid}/${o.start_ns}/${o.end_ns}/${o.reason}`;
          const t = new Date((o.end_ns + props.offsetNs) / 1e6);
          const isOpen = open === k;
          const waker = o.detail.waker_tid;
          return [
            <tr
              key={k}
              class={`row ${isOpen ? 'open' : ''}`}
              onClick={() => setOpen(isOpen ? undefined : k)}
              data-testid="outlier-row"
              data-tid={o.tid ?? ''}
              data-comm={o.comm ?? ''}
            >
              <td>{t.toLocaleTimeString('en-GB')}</td>
              <td>{o.comm ?? '?'}</td>
              <td>{o.tid ?? ''}</td>
              <td>{o.cpu ?? ''}</td>
              <td class="num">{formatNs(o.latency_ns)}</td>
              <td>{o.reason}</td>
              <td class="detail" title={o.cgroup ?? ''} data-testid="outlier-cgroup">
                {whereText(o)}
              </td>
              <td class="detail">{detailText(o)}</td>
            </tr>,
            isOpen && (
              <tr key={`${k}-x`} class="expanded">
                <td colSpan={8}>
                  {waker !== undefined && (
                    <div data-testid="waker">
                      woken by <b>{String(o.detail.waker_comm ?? '?')}</b> (tid {String(waker)})
                    </div>
                  )}
                  {o.cgroup !== null && o.cgroup !== undefined && (
                    <div data-testid="cgroup-detail">
                      cgroup <b>{o.cgroup}</b>
                      {o.container?.pod_uid ? ` · pod ${o.container.pod_uid} (${o.container.qos})` : ''}
                      {o.throttle
                        ? ` · CPU quota of ${o.throttle.cgroup}: throttled ${o.throttle.nr_throttled}× for ${formatNs(o.throttle.throttled_ns)} around it`
                        : ''}
                      {o.pressure
                        ? ` · pressure (some, 10 s): cpu ${o.pressure.cpu_some_avg10 ?? '–'} % io ${o.pressure.io_some_avg10 ?? '–'} % memory ${o.pressure.memory_some_avg10 ?? '–'} %`
                        : ''}
                    </div>
                  )}
                  <div class="muted" data-testid="outlier-times">
                    {o.pid !== null ? `pid ${o.pid} · ` : ''}from {dateTimeText((o.start_ns + props.offsetNs) / 1e6)} to{' '}
                    {clockText((o.end_ns + props.offsetNs) / 1e6)} ({formatNs(o.latency_ns)})
                  </div>
                  {o.trace_file !== undefined && (
                    <div>
                      trace of this moment:{' '}
                      <a href={traceFileUrl(o.trace_file)} download data-testid="trace-file">
                        {o.trace_file.slice(o.trace_file.lastIndexOf('/') + 1)}
                      </a>{' '}
                      <span class="muted">(trace.dat: latency-tracker analyze, trace-cmd report, KernelShark)</span>
                    </div>
                  )}
                  {o.stack !== undefined && o.stack.length > 0 ? (
                    <pre class="stack" data-testid="stack">
                      {o.stack.join('\n')}
                    </pre>
                  ) : (
                    <div class="muted" data-testid="stack-none">
                      no kernel stack (the task did not block, or stacks are off)
                    </div>
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

function CompareView() {
  const [current, setCurrent] = useState<WindowName>('1m');
  const [baseline, setBaseline] = useState<WindowName>('1h');
  const [data, error] = usePoll(
    () => getJson<CompareResponse>(`/api/compare?current=${current}&baseline=${baseline}`),
    5000,
    [current, baseline],
  );
  const choose = (v: WindowName, set: (w: WindowName) => void, id: string) => (
    <select value={v} onChange={(e) => set((e.target as HTMLSelectElement).value as WindowName)} data-testid={id}>
      {[...WINDOWS, 'all' as WindowName].map((w) => (
        <option key={w} value={w}>
          {w === 'all' ? 'since start' : `last ${w}`}
        </option>
      ))}
    </select>
  );
  const pcts = ['p50_ns', 'p90_ns', 'p99_ns', 'p999_ns'] as const;
  return (
    <section>
      <div class="title">
        <h2>Compare</h2>
        <span class="muted">
          current {choose(current, setCurrent, 'compare-current')} against baseline{' '}
          {choose(baseline, setBaseline, 'compare-baseline')}: per percentile, a change is reported only when it is
          significant (confidence intervals apart) and above 5 %.
        </span>
      </div>
      {error !== undefined && <div class="banner">{error}</div>}
      {data !== undefined && (
        <p class="muted" data-testid="compare-covers">
          current covers {coverText(data.current, data.current_covers_ns)}, baseline covers{' '}
          {coverText(data.baseline, data.baseline_covers_ns)}
          {short(data.baseline, data.baseline_covers_ns) || short(data.current, data.current_covers_ns)
            ? ': the daemon has not run long enough to fill them, so the two windows share most of their pairs.'
            : '.'}
        </p>
      )}
      <table class="grid" data-testid="compare-table">
        <thead>
          <tr>
            <th>analysis</th>
            <th>pairs (base → cur)</th>
            {pcts.map((p) => (
              <th key={p}>{p.replace('_ns', '').replace('p999', 'p99.9')}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data?.rows.map((r) => (
            <tr key={r.analysis}>
              <td>{r.analysis}</td>
              <td class="num">
                {r.count.a ?? 0} → {r.count.b ?? 0}
              </td>
              {pcts.map((p) => {
                const c = r[p];
                const cls = c.verdict === 'regressed' ? 'bad' : c.verdict === 'improved' ? 'good' : '';
                return (
                  <td key={p} class={`cmp ${cls}`} title={c.insufficient ? 'too few samples to test' : c.verdict}>
                    <div>
                      {formatNs(c.a)} → {formatNs(c.b)}
                    </div>
                    <div class="verdict">
                      {c.insufficient
                        ? 'too few samples'
                        : c.verdict === 'regressed'
                          ? 'REGRESSED'
                          : c.verdict === 'improved'
                            ? 'improved'
                            : 'not significant'}{' '}
                      {c.relative !== null && `(${relativeText(c.relative)})`}
                    </div>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Below this, a window is not full yet (a window is whole 10 s or 1 min intervals plus the current one). */
const FULL_NS: Record<string, number> = { '1m': 50e9, '5m': 290e9, '1h': 3540e9 };

/** `1m (all of it)`, `1h (only 2 min 5 s so far)`, `since start (42 s)`. */
function coverText(w: WindowName, ns: number | null): string {
  const name = w === 'all' ? 'since start' : `last ${w}`;
  if (ns === null) return `${name} (nothing yet)`;
  if (w === 'all') return `${name} (${spanText(ns)})`;
  return short(w, ns) ? `${name} (only ${spanText(ns)} so far)` : `${name} (${spanText(ns)})`;
}

function short(w: WindowName, ns: number | null): boolean {
  return w !== 'all' && ns !== null && ns < FULL_NS[w];
}
