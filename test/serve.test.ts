/**
 * The daemon end to end (issue 6), as root on the live kernel: every endpoint of the real `latency-tracker serve`,
 * bad requests, a threshold change verified with provoked latencies, switching an analysis off (its tracepoints
 * too), `promtool check metrics`, a real Prometheus server scraping it, the token when binding beyond loopback, and
 * the graceful shutdown.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROMETHEUS_LE_SECONDS } from '../src/histogram/prometheus.ts';
import { isRoot, runChild } from './live.ts';
import { freePort, httpRequest, ServeRun, waitFor } from './serve-helpers.ts';

const skip = !isRoot && 'needs root (CI runs as root)';

type Rec = Record<string, unknown>;

/** Outliers of `tid` in the daemon's history. */
async function outliersOf(d: ServeRun, tid: number): Promise<Rec[]> {
  const r = await d.getJson('/api/events?analysis=syscall&limit=1000');
  return (r.events as Rec[]).filter((e) => e.tid === tid);
}

/** Opens the SSE stream; collects `latency` events. */
function openStream(port: number, path = '/api/events/stream') {
  const events: { event: string; data: Rec }[] = [];
  let buf = '';
  let close = () => {};
  const opened = new Promise<number>((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, headers: { Host: `127.0.0.1:${port}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (ev !== undefined && data !== undefined) events.push({ event: ev, data: JSON.parse(data) as Rec });
          i = buf.indexOf('\n\n');
        }
      });
      res.on('error', () => {});
      resolve(res.statusCode ?? 0);
    });
    r.on('error', reject);
    close = () => r.destroy();
    r.end();
  });
  return { events, opened, close: () => close() };
}

describe('serve: the HTTP API on the live kernel', { skip }, () => {
  let d: ServeRun;
  before(async () => {
    d = new ServeRun(['--listen', '127.0.0.1:0', '-t', 'syscall=10s', '--history', '500']);
    await d.ready();
  });
  after(async () => {
    await d?.stop();
  });

  test('GET /api/analyses lists every analysis with settings, counters and the clock', async () => {
    const r = await d.req('GET', '/api/analyses');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const a = r.json();
    assert.equal(typeof a.host, 'string');
    assert.equal(typeof a.now_ns, 'number');
    assert.ok(Math.abs(Number(a.unix_ns) / 1e6 - Date.now()) < 5000, 'unix_ns is the wall clock');
    const list = a.analyses as Rec[];
    assert.deepEqual(
      list.map((x) => x.analysis),
      ['syscall', 'wakeup', 'offcpu', 'block', 'irq', 'softirq', 'softirq-delay', 'net-tx', 'net-rx'],
    );
    const sys = list[0];
    assert.equal(sys.available, true);
    assert.equal(sys.enabled, true);
    assert.equal(sys.up, true);
    assert.equal(sys.threshold_ns, 10e9);
    assert.equal(sys.timeout_ns, 0);
    assert.ok(Number(sys.pairs) >= 0);
    const one = await d.getJson('/api/analyses/wakeup');
    assert.equal(one.analysis, 'wakeup');
    assert.equal(one.threshold_ns, 10e6);
  });

  test('PUT threshold_ns changes what is reported: sleep 0.2 is quiet at 10 s, reported at 50 ms', async () => {
    const quiet = await runChild('sleep', ['0.2']);
    await d.caughtUp();
    const put = await d.putJson('/api/analyses/syscall', { threshold_ns: 50_000_000 });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json().threshold_ns, 50_000_000);
    assert.equal((await d.getJson('/api/analyses/syscall')).threshold_ns, 50_000_000);
    const loud = await runChild('sleep', ['0.2']);
    const mine = await waitFor(
      async () => {
        const o = await outliersOf(d, loud.pid);
        return o.length > 0 ? o : undefined;
      },
      10_000,
      'the sleep outlier after the threshold change',
    );
    const nap = mine.find((o) => /nanosleep/.test(String((o.detail as Rec).syscall)));
    assert.ok(nap, JSON.stringify(mine));
    assert.ok(Number(nap.latency_ns) >= 200e6 && Number(nap.latency_ns) < 2e9, `latency ${nap.latency_ns}`);
    assert.equal(nap.comm, 'sleep');
    // Everything up to the second sleep has been handled, so the first one would be there if it had been reported.
    assert.deepEqual(await outliersOf(d, quiet.pid), []);
  });

  test('GET /api/events: analysis, since and limit', async () => {
    await runChild('sleep', ['0.12']);
    const all = await waitFor(
      async () => {
        const r = await d.getJson('/api/events?analysis=syscall&limit=5');
        return (r.events as Rec[]).length > 0 ? (r.events as Rec[]) : undefined;
      },
      10_000,
      'syscall outliers',
    );
    assert.ok(all.length <= 5);
    for (const e of all) {
      assert.equal(e.type, 'latency');
      assert.equal(e.analysis, 'syscall');
      for (const k of ['reason', 'start_ns', 'end_ns', 'latency_ns', 'cpu', 'tid', 'pid', 'comm', 'detail']) {
        assert.ok(k in e, `field ${k}`);
      }
    }
    for (let i = 1; i < all.length; i++) assert.ok(Number(all[i - 1].end_ns) >= Number(all[i].end_ns), 'newest first');
    const newest = all[0].end_ns as number;
    const after = await d.getJson(`/api/events?analysis=syscall&since=${newest}`);
    assert.ok((after.events as Rec[]).every((e) => Number(e.end_ns) > newest));
    const one = await d.getJson('/api/events?limit=1');
    assert.equal((one.events as Rec[]).length, 1);
  });

  test('GET /api/events/stream: a hello, then outliers as they happen', async () => {
    const s = openStream(d.port, '/api/events/stream?analysis=syscall');
    try {
      assert.equal(await s.opened, 200);
      await waitFor(async () => (s.events.some((e) => e.event === 'hello') ? true : undefined), 5000, 'hello', 50);
      const hello = s.events[0].data;
      assert.equal(typeof hello.now_ns, 'number');
      const child = await runChild('sleep', ['0.15']);
      const ev = await waitFor(
        async () => s.events.find((e) => e.event === 'latency' && e.data.tid === child.pid),
        10_000,
        'the streamed outlier',
        50,
      );
      assert.equal(ev.data.analysis, 'syscall');
      assert.ok(Number(ev.data.latency_ns) >= 150e6);
      assert.ok(s.events.filter((e) => e.event === 'latency').every((e) => e.data.analysis === 'syscall'));
      const m = await d.req('GET', '/metrics');
      assert.match(m.text, /^latency_tracker_stream_clients 1$/m);
    } finally {
      s.close();
    }
  });

  test('GET /api/profiles/{analysis}: summary and drawing buckets per window', async () => {
    for (const w of ['1m', '5m', '1h', 'all']) {
      const p = await d.getJson(`/api/profiles/syscall?window=${w}`);
      assert.equal(p.analysis, 'syscall');
      assert.equal(p.window, w);
      const count = p.count as number;
      assert.ok(count > 0, `pairs in ${w}`);
      const buckets = p.buckets as [number, number, number][];
      assert.equal(
        buckets.reduce((a, b) => a + b[2], 0),
        count,
        'buckets hold every pair',
      );
      for (const k of ['min_ns', 'p50_ns', 'p90_ns', 'p99_ns', 'p999_ns', 'max_ns']) {
        assert.equal(typeof p[k], 'number', k);
      }
      assert.ok((p.min_ns as number) <= (p.p50_ns as number));
      assert.ok((p.p50_ns as number) <= (p.p99_ns as number));
      assert.ok((p.p999_ns as number) <= (p.max_ns as number) * 1.01);
    }
    const def = await d.getJson('/api/profiles/wakeup');
    assert.equal(def.window, '1m');
  });

  test('GET /api/compare: verdicts of the profiles library', async () => {
    const c = await d.getJson('/api/compare?analysis=syscall&current=1m&baseline=1h');
    assert.equal(c.current, '1m');
    assert.equal(c.baseline, '1h');
    const rows = c.rows as Rec[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0].analysis, 'syscall');
    const p99 = rows[0].p99_ns as Rec;
    assert.ok(['regressed', 'improved', 'no significant change'].includes(String(p99.verdict)));
    const all = await d.getJson('/api/compare');
    assert.ok((all.rows as Rec[]).length >= 3, 'one row per running analysis');
  });

  test('bad requests: 4xx with a JSON message, never a stack trace', async () => {
    const cases: [string, string, string | undefined, Record<string, string>, number, RegExp][] = [
      ['PUT', '/api/analyses/syscall', '{"threshold_ns":"5ms"}', {}, 400, /threshold_ns: expected an integer/],
      ['PUT', '/api/analyses/syscall', '{"threshold_ns":1e30}', {}, 400, /threshold_ns: .*out of range/],
      ['PUT', '/api/analyses/syscall', '{"threshold_ns":-1}', {}, 400, /out of range/],
      ['PUT', '/api/analyses/syscall', '{"threshold_ns":1.5}', {}, 400, /integer/],
      ['PUT', '/api/analyses/syscall', '{"timeout_ns":99999999999999999999}', {}, 400, /timeout_ns/],
      ['PUT', '/api/analyses/syscall', '{"enabled":"yes"}', {}, 400, /enabled: expected true or false/],
      ['PUT', '/api/analyses/syscall', '{"threshold":5}', {}, 400, /unknown field 'threshold'/],
      ['PUT', '/api/analyses/syscall', '{}', {}, 400, /nothing to change/],
      ['PUT', '/api/analyses/syscall', '[1]', {}, 400, /expected a JSON object/],
      ['PUT', '/api/analyses/syscall', '{"threshold_ns":', {}, 400, /not valid JSON/],
      ['PUT', '/api/analyses/nope', '{"threshold_ns":1}', {}, 404, /unknown analysis 'nope'/],
      ['PUT', '/api/analyses/syscall', 'x'.repeat(5000), {}, 413, /over 4096 bytes/],
      ['PUT', '/api/analyses/syscall', '{"enabled":true}', { 'Content-Type': 'text/plain' }, 415, /JSON/],
      ['PUT', '/api/analyses/syscall', '{"enabled":true}', { Origin: 'http://evil.example' }, 403, /cross-origin/],
      ['DELETE', '/api/analyses/syscall', undefined, {}, 405, /not allowed/],
      ['POST', '/metrics', undefined, {}, 405, /not allowed/],
      ['GET', '/api/profiles/syscall?window=2m', undefined, {}, 400, /window/],
      ['GET', '/api/profiles/nope', undefined, {}, 404, /unknown analysis/],
      ['GET', '/api/events?limit=0', undefined, {}, 400, /limit/],
      ['GET', '/api/events?limit=abc', undefined, {}, 400, /limit/],
      ['GET', '/api/events?since=-5', undefined, {}, 400, /since/],
      ['GET', '/api/events?analysis=nope', undefined, {}, 404, /unknown analysis/],
      ['GET', '/api/events?foo=1', undefined, {}, 400, /unknown query parameter 'foo'/],
      ['GET', '/api/compare?current=1d', undefined, {}, 400, /current/],
      ['GET', '/api/nope', undefined, {}, 404, /no such API endpoint/],
      ['GET', '/api/analyses', undefined, { Host: 'evil.example:9555' }, 403, /loopback host/],
    ];
    for (const [method, path, body, headers, status, msg] of cases) {
      const r = await d.req(method, path, {
        body,
        headers: body !== undefined ? { 'Content-Type': 'application/json', ...headers } : headers,
      });
      const what = `${method} ${path} ${body?.slice(0, 30) ?? ''} ${JSON.stringify(headers)}`;
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.match(String(r.headers['content-type']), /^application\/json/, what);
      const e = r.json();
      assert.deepEqual(Object.keys(e), ['error'], what);
      assert.match(String(e.error), msg, what);
      assert.doesNotMatch(r.text, /\n\s+at /, 'no stack trace');
    }
    // Nothing above changed the settings.
    const s = await d.getJson('/api/analyses/syscall');
    assert.equal(s.enabled, true);
  });

  test('static files: the dashboard with its content types; no path leaves ui/dist', async () => {
    const index = await d.req('GET', '/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.match(String(index.headers['content-security-policy']), /default-src 'none'/);
    const js = /src="(\/assets\/[^"]+\.js)"/.exec(index.text)?.[1];
    const css = /href="(\/assets\/[^"]+\.css)"/.exec(index.text)?.[1];
    assert.ok(js && css, index.text);
    const j = await d.req('GET', js, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(j.status, 200);
    assert.match(String(j.headers['content-type']), /^text\/javascript/);
    assert.equal(j.headers['content-encoding'], 'gzip');
    assert.match(String(j.headers['cache-control']), /immutable/);
    const again = await d.req('GET', js, { headers: { 'If-None-Match': String(j.headers.etag) } });
    assert.equal(again.status, 304);
    assert.match(String((await d.req('GET', css)).headers['content-type']), /^text\/css/);
    for (const p of [
      '/../package.json',
      '/%2e%2e/package.json',
      '/assets/../../package.json',
      '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
      '/..%2f..%2fetc/passwd',
      '//etc/passwd',
      '/ui/dist/index.html',
      '/src/cli/main.ts',
    ]) {
      const r = await d.req('GET', p);
      assert.ok(r.status === 404 || r.status === 400, `${p}: ${r.status}`);
      assert.doesNotMatch(r.text, /"name": "latency-tracker"|root:x:0/, p);
    }
  });

  test('enabled:false stops the analysis and its tracepoints; enabled:true brings them back', async () => {
    const enableFile = `${d.instanceDir}/events/raw_syscalls/sys_enter/enable`;
    assert.equal(readFileSync(enableFile, 'utf8').trim(), '1');
    const off = await d.putJson('/api/analyses/syscall', { enabled: false, threshold_ns: 50_000_000 });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json().enabled, false);
    assert.equal(off.json().up, false);
    assert.equal(readFileSync(enableFile, 'utf8').trim(), '0', 'tracepoint disabled in our instance');
    // sched_switch stays on: wakeup and offcpu still read it ('1*': enabled, with the stack trigger attached).
    assert.match(readFileSync(`${d.instanceDir}/events/sched/sched_switch/enable`, 'utf8').trim(), /^1\*?$/);
    assert.match((await d.req('GET', '/metrics')).text, /^latency_tracker_analysis_up\{analysis="syscall"\} 0$/m);
    const unseen = await runChild('sleep', ['0.1']);
    await d.caughtUp();
    const on = await d.putJson('/api/analyses/syscall', { enabled: true });
    assert.equal(on.status, 200, on.text);
    assert.equal(readFileSync(enableFile, 'utf8').trim(), '1');
    const seen = await runChild('sleep', ['0.1']);
    await waitFor(
      async () => ((await outliersOf(d, seen.pid)).length > 0 ? true : undefined),
      10_000,
      'an outlier after re-enabling',
    );
    assert.deepEqual(await outliersOf(d, unseen.pid), [], 'nothing reported while disabled');
  });

  test('GET /metrics passes promtool check metrics and has the documented families', async () => {
    const r = await d.req('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: r.text, encoding: 'utf8' });
    assert.equal(check.error, undefined, 'promtool is installed (prepare.sh installs prometheus)');
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    for (const f of [
      'latency_tracker_latency_seconds_bucket{analysis="syscall",le="+Inf"}',
      'latency_tracker_latency_seconds_sum{analysis="syscall"}',
      'latency_tracker_latency_seconds_count{analysis="syscall"}',
      'latency_tracker_pairs_total{analysis="syscall"}',
      'latency_tracker_outliers_total{analysis="syscall",reason="threshold"}',
      'latency_tracker_outliers_total{analysis="syscall",reason="timeout"}',
      'latency_tracker_timeouts_total{analysis="syscall"}',
      'latency_tracker_unmatched_events_total{analysis="syscall"}',
      'latency_tracker_table_full_total{analysis="syscall"}',
      'latency_tracker_lost_events_total{cpu="0"}',
      'latency_tracker_analysis_up{analysis="syscall"}',
      'latency_tracker_analysis_last_event_timestamp_seconds{analysis="syscall"}',
      'latency_tracker_threshold_seconds{analysis="syscall"}',
      'process_cpu_seconds_total',
    ]) {
      assert.ok(r.text.includes(`\n${f} `), `missing ${f}`);
    }
    const les = [...r.text.matchAll(/^latency_tracker_latency_seconds_bucket\{analysis="syscall",le="([^"]+)"\}/gm)];
    assert.equal(les.length, PROMETHEUS_LE_SECONDS.length + 1, 'the fixed le ladder');
    const last = Number(
      /^latency_tracker_analysis_last_event_timestamp_seconds\{analysis="syscall"\} (\S+)$/m.exec(r.text)?.[1],
    );
    assert.ok(Math.abs(last - Date.now() / 1000) < 60, `last event ${last}`);
    // Label cardinality: only the analysis table's names, two reasons, one cpu label per CPU.
    const labels = new Set([...r.text.matchAll(/analysis="([^"]+)"/g)].map((m) => m[1]));
    assert.ok(labels.size <= 9, [...labels].join(','));
  });

  test('a real Prometheus scrapes the daemon; histogram_quantile(0.99) agrees with the daemon p99', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-prom-'));
    const port = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: latency-tracker\n` +
        `    static_configs:\n      - targets: ['127.0.0.1:${d.port}']\n`,
    );
    const prom = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let promErr = '';
    prom.stderr?.on('data', (b) => (promErr += b));
    const q = async (expr: string): Promise<Rec[]> => {
      const r = await httpRequest(port, 'GET', `/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
      return (r.json().data as Rec).result as Rec[];
    };
    try {
      const sel = 'latency_tracker_latency_seconds_bucket{job="latency-tracker",analysis="syscall"}';
      await waitFor(
        async () => ((await q(`up{job="latency-tracker"} == 1`)).length === 1 ? true : undefined),
        30_000,
        `Prometheus scraping the daemon (${promErr})`,
      );
      const res = await waitFor(
        async () => {
          const r = await q(`histogram_quantile(0.99, sum by (le) (${sel}))`);
          return r.length === 1 ? r : undefined;
        },
        20_000,
        'the quantile query',
      );
      const promP99 = Number((res[0].value as [number, string])[1]);
      const own = (await d.getJson('/api/profiles/syscall?window=all')).p99_ns as number;
      // Prometheus interpolates inside the `le` bucket holding the 99th percentile: consistent means the same
      // bucket of the ladder as the daemon's own p99 (one bucket either way: the counts move between scrape and now).
      const ladder = [0, ...PROMETHEUS_LE_SECONDS, Number.POSITIVE_INFINITY];
      const bucketOf = (s: number) => ladder.findIndex((le, i) => i > 0 && s <= le);
      const kOwn = bucketOf(own / 1e9);
      const kProm = bucketOf(promP99);
      assert.ok(
        Math.abs(kOwn - kProm) <= 1,
        `PromQL p99 ${promP99}s (bucket ${kProm}) vs daemon p99 ${own / 1e9}s (bucket ${kOwn})`,
      );
      const counts = await q(`latency_tracker_pairs_total{job="latency-tracker",analysis="syscall"}`);
      assert.ok(Number((counts[0].value as [number, string])[1]) > 0);
    } finally {
      prom.kill('SIGTERM');
      await new Promise((r) => prom.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serve: --history only with --no-store', { skip }, () => {
  test('--history beside a store is a one-line usage error, before anything is set up', async () => {
    const dir = mkdtempSync(join(process.cwd(), '.lt-test-store-'));
    try {
      const d = new ServeRun(['--listen', '127.0.0.1:0', '--store', join(dir, 'o.duckdb'), '--history', '500']);
      const { code } = await d.exited;
      assert.equal(code, 2);
      assert.match(d.stderr, /^latency-tracker: --history sizes the in-memory history, which only --no-store uses/m);
      assert.equal(d.stderr.trim().split('\n').length, 1, 'one line');
      assert.equal(d.instanceExists, false);
      assert.equal(existsSync(join(dir, 'o.duckdb')), false, 'no store created');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('serve: an address in use', { skip }, () => {
  test('one line saying the address is in use (no errno code), exit 2, nothing left behind', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const d = new ServeRun(['--listen', `127.0.0.1:${port}`, 'syscall']);
      const { code } = await d.exited;
      assert.equal(code, 2, d.stderr);
      assert.equal(d.stderr.trim().split('\n').length, 1, d.stderr);
      assert.match(d.stderr, new RegExp(`^latency-tracker: cannot listen on 127\\.0\\.0\\.1:${port}: address in use`));
      assert.doesNotMatch(d.stderr, /EADDRINUSE/);
      assert.equal(d.instanceExists, false);
    } finally {
      holder.close();
    }
  });
});

describe('serve: a token when binding beyond loopback', { skip }, () => {
  test('0.0.0.0 without --token is refused before anything is set up', async () => {
    const d = new ServeRun(['--listen', '0.0.0.0:0']);
    const { code } = await d.exited;
    assert.equal(code, 2);
    assert.match(d.stderr, /^latency-tracker: --listen 0\.0\.0\.0:0: binding beyond loopback needs --token/m);
    assert.equal(d.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(d.instanceExists, false);
  });

  test('0.0.0.0 with --token: every request needs the bearer token (or the login cookie)', async () => {
    const token = 'Tk-0123456789abcdef-xyz';
    const d = new ServeRun(['--listen', '0.0.0.0:0', '--token', token, 'syscall']);
    try {
      await d.ready();
      for (const p of ['/api/analyses', '/metrics', '/', '/api/events/stream']) {
        const none = await d.req('GET', p);
        assert.equal(none.status, 401, p);
        assert.match(String(none.headers['www-authenticate']), /^Bearer/);
        assert.match(none.json().error as string, /needs a bearer token/);
        const wrong = await d.req('GET', p, { headers: { Authorization: 'Bearer Tk-0123456789abcdef-xyY' } });
        assert.equal(wrong.status, 401, p);
      }
      const ok = await d.req('GET', '/api/analyses', { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      // Any Host is fine once authenticated (the token, not the Host, protects a non-loopback daemon).
      const m = await d.req('GET', '/metrics', { headers: { Authorization: `Bearer ${token}`, Host: 'db1:9555' } });
      assert.equal(m.status, 200);
      const bad = await d.req('GET', `/?token=wrong-token-0000000000`);
      assert.equal(bad.status, 401);
      const login = await d.req('GET', `/?token=${token}`);
      assert.equal(login.status, 303);
      const cookie = String(login.headers['set-cookie']).split(';')[0];
      assert.match(String(login.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
      const page = await d.req('GET', '/', { headers: { Cookie: cookie } });
      assert.equal(page.status, 200);
      const put = await d.putJson('/api/analyses/syscall', { threshold_ns: 1000 }, { Authorization: 'Bearer nope' });
      assert.equal(put.status, 401);
    } finally {
      const { code } = await d.stop();
      assert.equal(code, 0);
    }
  });
});

describe('serve: graceful shutdown', { skip }, () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    test(`${sig}: instance removed, stream ended, exit 0 within 2 s`, async () => {
      const d = new ServeRun(['--listen', '127.0.0.1:0']);
      await d.ready();
      assert.ok(d.instanceExists);
      const s = openStream(d.port);
      assert.equal(await s.opened, 200);
      await waitFor(async () => (s.events.length > 0 ? true : undefined), 5000, 'hello', 50);
      const t0 = Date.now();
      const { code, signal, at } = await d.stop(sig);
      assert.equal(signal, null);
      assert.equal(code, 0, d.stderr);
      assert.ok(at - t0 < 2000, `exited after ${at - t0} ms`);
      assert.equal(d.instanceExists, false, 'no instance of ours remains');
      assert.ok(
        s.events.some((e) => e.event === 'bye'),
        'streams told the daemon is leaving',
      );
      s.close();
    });
  }
});

describe('serve: history in the store survives a restart', { skip }, () => {
  test('an outlier recorded before a restart is still served by GET /api/events after it', async () => {
    const dir = mkdtempSync(join(process.cwd(), '.lt-test-store-'));
    const store = join(dir, 'outliers.duckdb');
    try {
      const first = new ServeRun(['syscall', '--listen', '127.0.0.1:0', '-t', 'syscall=100ms', '--store', store]);
      await first.ready();
      const nap = await runChild('sleep', ['0.3']);
      await waitFor(
        async () => ((await outliersOf(first, nap.pid)).length > 0 ? true : undefined),
        10_000,
        'the sleep outlier in the first daemon',
      );
      const { code } = await first.stop();
      assert.equal(code, 0, first.stderr);
      assert.match(first.stderr, /store .*outliers\.duckdb: [1-9]\d* outliers/);
      const second = new ServeRun(['syscall', '--listen', '127.0.0.1:0', '-t', 'syscall=10s', '--store', store]);
      await second.ready();
      try {
        const again = await outliersOf(second, nap.pid);
        assert.ok(again.length > 0, 'served from the store after the restart');
        assert.ok(again.some((o) => /nanosleep/.test(String((o.detail as Rec).syscall))));
        const all = (await second.getJson('/api/events?analysis=syscall&limit=1000')).events as Rec[];
        for (let i = 1; i < all.length; i++)
          assert.ok(Number(all[i - 1].end_ns) >= Number(all[i].end_ns), 'newest first');
        // /metrics shows the store's backlog and losses, and no in-memory ring.
        const metrics = (await second.req('GET', '/metrics')).text;
        assert.match(metrics, /^latency_tracker_store_dropped_total 0$/m);
        assert.match(metrics, /^latency_tracker_store_queued_outliers \d+$/m);
        assert.doesNotMatch(metrics, /latency_tracker_history_capacity/);
      } finally {
        assert.equal((await second.stop()).code, 0, second.stderr);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
