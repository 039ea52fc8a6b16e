/**
 * The HTTP server over a daemon that ran on a recorded trace (the shared trace.dat), no root needed: the API's
 * numbers agree with each other (`/metrics` counts = profile counts = pairs), settings change, auth is enforced.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ANALYSES } from '../analyses/index.ts';
import { openTraceDat } from '../sources/tracedat/index.ts';
import { Daemon } from './daemon.ts';
import { createApiServer } from './http.ts';
import { StaticFiles } from './static.ts';

const TRACE = fileURLToPath(new URL('../../../shared/traces/tracecmd-x86-vm/trace.dat', import.meta.url));

async function get(port: number, path: string, headers: Record<string, string> = {}) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

describe('HTTP server over a recorded trace', () => {
  let daemon: Daemon;
  const servers: import('node:http').Server[] = [];
  let port = 0;
  let tokenPort = 0;
  const token = 'offline-token-0123456789';

  before(async () => {
    const source = await openTraceDat(TRACE);
    daemon = new Daemon({
      source,
      // All but net-rx: an analysis not running is listed as unavailable, and cannot be switched on (409).
      analyses: ANALYSES.filter((a) => a.name !== 'net-rx'),
      host: 'test',
      version: '0.0.0',
      now: () => source.originNs,
      healthMs: 60_000,
    });
    await daemon.run();
    const files = new StaticFiles('/nonexistent-ui-dist');
    for (const t of [undefined, token]) {
      const s = createApiServer({ daemon, files, token: t, log: () => {} });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      servers.push(s);
      if (t === undefined) port = (s.address() as AddressInfo).port;
      else tokenPort = (s.address() as AddressInfo).port;
    }
  });
  after(() => {
    daemon?.close();
    for (const s of servers) s.close();
  });

  test('/metrics, /api/profiles and /api/analyses agree', async () => {
    const metrics = (await get(port, '/metrics')).text;
    const analyses = JSON.parse((await get(port, '/api/analyses')).text).analyses as Record<string, unknown>[];
    let checked = 0;
    for (const a of analyses.filter((x) => x.available)) {
      const name = a.analysis as string;
      const prof = JSON.parse((await get(port, `/api/profiles/${name}?window=all`)).text);
      const count = Number(
        new RegExp(`^latency_tracker_latency_seconds_count\\{analysis="${name}"\\} (\\d+)$`, 'm').exec(metrics)?.[1],
      );
      const inf = Number(
        new RegExp(`^latency_tracker_latency_seconds_bucket\\{analysis="${name}",le="\\+Inf"\\} (\\d+)$`, 'm').exec(
          metrics,
        )?.[1],
      );
      assert.equal(count, prof.count, name);
      assert.equal(inf, prof.count, name);
      assert.equal(a.pairs, prof.count, name);
      if (prof.count > 0) checked++;
    }
    assert.ok(checked >= 3, 'several analyses have pairs in the trace');
  });

  test('the dashboard is missing: 503 with a hint, the API still works', async () => {
    const r = await get(port, '/');
    assert.equal(r.status, 503);
    assert.match(JSON.parse(r.text).error, /dashboard is not built/);
  });

  test('PUT changes settings without a live source; unavailable analysis is 409', async () => {
    const put = await fetch(`http://127.0.0.1:${port}/api/analyses/wakeup`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ threshold_ns: 123456, timeout_ns: 1000000000, enabled: false }),
    });
    assert.equal(put.status, 200);
    const body = (await put.json()) as Record<string, unknown>;
    assert.equal(body.threshold_ns, 123456);
    assert.equal(body.timeout_ns, 1e9);
    assert.equal(body.enabled, false);
    assert.match(
      (await get(port, '/metrics')).text,
      /^latency_tracker_threshold_seconds\{analysis="wakeup"\} 0\.000123456$/m,
    );
    const na = JSON.parse((await get(port, '/api/analyses')).text).analyses.find(
      (a: Record<string, unknown>) => a.analysis === 'net-rx',
    );
    assert.equal(na.available, false);
    const r = await fetch(`http://127.0.0.1:${port}/api/analyses/net-rx`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: '{"enabled":true}',
    });
    assert.equal(r.status, 409);
  });

  test('a token server refuses requests without the token, in constant-time compare', async () => {
    assert.equal((await get(tokenPort, '/api/analyses')).status, 401);
    assert.equal((await get(tokenPort, '/api/analyses', { Authorization: 'Bearer x' })).status, 401);
    assert.equal((await get(tokenPort, '/api/analyses', { Authorization: `Bearer ${token}` })).status, 200);
    assert.equal((await get(tokenPort, '/metrics', { Cookie: `a=b; lt_token=${token}` })).status, 200);
  });
});
