// The dashboard: a list of analyses; per analysis its controls, live outliers over time, profiles for the 1m/5m/1h
// windows and the table of recent outliers; and a compare view (current window against a baseline window).
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  type AnalysesResponse,
  type AnalysisInfo,
  type CgroupField,
  type CompareResponse,
  cgroupValue,
  durationText,
  formatNs,
  getJson,
  inCgroup,
  type Outlier,
  type ProfileResponse,
  parseDuration,
  putJson,
  relativeText,
  traceFileUrl,
  WINDOWS,
  type WindowName,
  whereText,
} from './api.ts';
import { Histogram, Scatter } from './charts.tsx';
import { type Feed, startFeed } from './live.ts';

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

export function App() {
  const [feed, setFeed] = useState<Feed>({ outliers: [], offsetNs: 0, connected: false, skipped: 0 });
  useEffect(() => startFeed(setFeed), []);
  const [data, error, refresh] = usePoll(() => getJson<AnalysesResponse>('/api/analyses'), 2000, []);
  const hash = useHash();
  const compare = hash === '#/compare';
  const running = data?.analyses.filter((a) => a.available) ?? [];
  const selected = /^#\/a\/([\w-]+)$/.exec(hash)?.[1] ?? running[0]?.analysis;
  const info = data?.analyses.find((a) => a.analysis === selected);
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
        <span class={`conn ${feed.connected ? 'ok' : 'down'}`} data-testid="connection">
          {feed.connected ? 'live' : 'disconnected'}
        </span>
      </header>
      {error !== undefined && <div class="banner">Cannot reach the daemon: {error}</div>}
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
              <span class={`dot ${a.up ? 'up' : a.available ? 'off' : 'na'}`} />
              <span class="name">{a.analysis}</span>
              <span class="count">{a.available ? (a.outliers ?? 0) : '–'}</span>
            </a>
          ))}
        </aside>
        <main>
          {compare ? (
            <CompareView />
          ) : info !== undefined ? (
            <AnalysisView key={info.analysis} info={info} feed={feed} onChanged={refresh} />
          ) : (
            <p class="muted">Loading…</p>
          )}
        </main>
      </div>
    </div>
  );
}

function AnalysisView(props: { info: AnalysisInfo; feed: Feed; onChanged: () => void }) {
  const { info, feed } = props;
  const [filter, setFilter] = useState('');
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
        <Stat label="outliers" value={info.outliers} />
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
        <span class="muted">{mine.length} outliers shown</span>
      </div>
      {groupBy !== '' && (
        <GroupTable outliers={mine} field={groupBy} onPick={(v) => groupBy === 'cgroup' && setCgroup(v)} />
      )}
      <h3>Outliers over the last 5 minutes</h3>
      <LiveScatter outliers={mine} offsetNs={feed.offsetNs} threshold={info.threshold_ns} />
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
        now: threshold {formatNs(info.threshold_ns)}, timeout{' '}
        {info.timeout_ns === 0 ? 'none' : formatNs(info.timeout_ns)}, {info.enabled ? 'enabled' : 'disabled'}
      </span>
      {message !== undefined && (
        <span class={message.ok ? 'ok' : 'err'} data-testid="apply-message">
          {message.text}
        </span>
      )}
    </form>
  );
}

function LiveScatter(props: { outliers: Outlier[]; offsetNs: number; threshold: number }) {
  const [nowS, setNow] = useState(Date.now() / 1000);
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now() / 1000), 1000);
    return () => window.clearInterval(t);
  }, []);
  const span = 300;
  const { xs, ys } = useMemo(() => {
    const pts = props.outliers
      .map((o) => [(o.end_ns + props.offsetNs) / 1e9, o.latency_ns] as const)
      .filter(([x]) => x >= nowS - span - 5)
      .sort((a, b) => a[0] - b[0]);
    return { xs: pts.map((p) => p[0]), ys: pts.map((p) => p[1]) };
  }, [props.outliers, props.offsetNs, Math.floor(nowS / 5)]);
  return <Scatter xs={xs} ys={ys} threshold={props.threshold} spanS={span} nowS={nowS} />;
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
              <td>{o.tid ?? '–'}</td>
              <td>{o.cpu ?? '–'}</td>
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
                  <div class="muted">
                    pid {o.pid ?? '?'} · start {o.start_ns} ns · end {o.end_ns} ns (kernel mono clock)
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
                      {c.insufficient ? 'too few samples' : c.verdict}{' '}
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
