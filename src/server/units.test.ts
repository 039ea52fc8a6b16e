/**
 * The daemon's pure parts, no root needed: `--listen`/token checks, PUT body validation, the outlier ring, the SSE
 * hub's bounds, and the static file map (no path escapes it).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { OutlierRecord } from '../analyses/engine.ts';
import { ApiError } from './errors.ts';
import { RingHistory } from './history.ts';
import { checkToken, hostOfHeader, isLoopback, parseListen } from './listen.ts';
import { SseHub } from './sse.ts';
import { StaticFiles } from './static.ts';
import { validateChange } from './validate.ts';

function outlier(analysis: string, end: number, tid = 1): OutlierRecord {
  return {
    type: 'latency',
    analysis,
    reason: 'threshold',
    start_ns: BigInt(end - 10),
    end_ns: BigInt(end),
    latency_ns: 10,
    cpu: 0,
    tid,
    pid: tid,
    comm: 'x',
    detail: {},
    cgroup: null,
    container: null,
  };
}

describe('listen and token', () => {
  test('parseListen', () => {
    assert.deepEqual(parseListen('127.0.0.1:9555'), { host: '127.0.0.1', port: 9555 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseListen('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
    assert.deepEqual(parseListen('localhost:1'), { host: 'localhost', port: 1 });
    for (const bad of ['9555', '127.0.0.1', 'example.com:80', '127.0.0.1:65536', '[127.0.0.1]:1', '::1:80', ':80']) {
      assert.equal(typeof parseListen(bad), 'string', bad);
    }
  });
  test('isLoopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'example.com']) {
      assert.ok(!isLoopback(h), h);
    }
  });
  test('hostOfHeader', () => {
    assert.equal(hostOfHeader('127.0.0.1:9555'), '127.0.0.1');
    assert.equal(hostOfHeader('[::1]:9555'), '::1');
    assert.equal(hostOfHeader('LOCALHOST'), 'localhost');
    assert.equal(hostOfHeader('evil.example:80'), 'evil.example');
    assert.equal(hostOfHeader(undefined), undefined);
  });
  test('checkToken', () => {
    assert.equal(checkToken('0123456789abcdef'), undefined);
    assert.equal(typeof checkToken('short'), 'string');
    assert.equal(typeof checkToken('has space 0123456789'), 'string');
    assert.equal(typeof checkToken('semi;colon0123456789'), 'string');
  });
});

describe('PUT body validation', () => {
  test('accepts the three fields', () => {
    assert.deepEqual(validateChange({ threshold_ns: 5_000_000 }), { threshold_ns: 5_000_000 });
    assert.deepEqual(validateChange({ timeout_ns: 0, enabled: false }), { timeout_ns: 0, enabled: false });
    assert.deepEqual(validateChange({ threshold_ns: 3_600_000_000_000 }), { threshold_ns: 3_600_000_000_000 });
  });
  test('refuses wrong types, huge or negative numbers, unknown fields, non-objects, nothing', () => {
    const bad: [unknown, RegExp][] = [
      [{ threshold_ns: '5ms' }, /threshold_ns: expected an integer/],
      [{ threshold_ns: 3_600_000_000_001 }, /out of range/],
      [{ threshold_ns: Number.MAX_VALUE }, /out of range/],
      [{ threshold_ns: -1 }, /out of range/],
      [{ threshold_ns: Number.NaN }, /integer/],
      [{ threshold_ns: null }, /integer/],
      [{ timeout_ns: 0.5 }, /timeout_ns: expected an integer/],
      [{ enabled: 1 }, /enabled: expected true or false/],
      [{ enabled: true, extra: 1 }, /unknown field 'extra'/],
      [[], /expected a JSON object/],
      ['x', /expected a JSON object/],
      [null, /expected a JSON object/],
      [{}, /nothing to change/],
    ];
    for (const [body, msg] of bad) {
      assert.throws(
        () => validateChange(body),
        (e: unknown) => e instanceof ApiError && e.status === 400 && msg.test(e.message),
        JSON.stringify(body),
      );
    }
  });
});

describe('RingHistory', () => {
  test('keeps the last N, newest first, filters by analysis and since, counts evictions', async () => {
    const h = new RingHistory(4);
    for (let i = 1; i <= 6; i++) h.add(outlier(i % 2 === 0 ? 'a' : 'b', i * 100), 'host');
    assert.deepEqual(h.occupancy, { size: 4, capacity: 4, added: 6, evicted: 2 });
    const all = await h.query({ limit: 10 });
    assert.deepEqual(
      all.map((o) => Number(o.end_ns)),
      [600, 500, 400, 300],
    );
    assert.deepEqual(
      (await h.query({ analysis: 'a', limit: 10 })).map((o) => Number(o.end_ns)),
      [600, 400],
    );
    assert.deepEqual(
      (await h.query({ since: 400n, limit: 10 })).map((o) => Number(o.end_ns)),
      [600, 500],
    );
    assert.equal((await h.query({ limit: 1 })).length, 1);
    assert.throws(() => new RingHistory(0), RangeError);
  });
});

/** Enough of a ServerResponse for the hub: a write buffer that a test can leave unread. */
class FakeRes extends EventEmitter {
  writableLength = 0;
  written = '';
  status = 0;
  destroyed = false;
  ended = false;
  /** When false, writes pile up in `writableLength` (a client that does not read). */
  reading = true;
  socket = { setNoDelay() {} };
  writeHead(status: number) {
    this.status = status;
    return this;
  }
  write(s: string) {
    this.written += s;
    if (!this.reading) this.writableLength += s.length;
    return true;
  }
  end(s?: string) {
    if (s) this.written += s;
    this.ended = true;
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
}

describe('SseHub', () => {
  const res = (r: FakeRes) => r as unknown as ServerResponse;
  const tick = () => new Promise((r) => setImmediate(r));

  test('streams outliers to matching clients, once serialized', async () => {
    const hub = new SseHub({ heartbeatMs: 60_000 });
    const all = new FakeRes();
    const onlyA = new FakeRes();
    assert.ok(hub.open(res(all), undefined, { type: 'hello' }, {}));
    assert.ok(hub.open(res(onlyA), 'a', { type: 'hello' }, {}));
    assert.match(all.written, /^retry: 2000\nevent: hello\ndata: \{"type":"hello"\}\n\n/);
    hub.offer(outlier('a', 1));
    hub.offer(outlier('b', 2));
    assert.doesNotMatch(all.written, /latency/, 'nothing written on the record path');
    await tick();
    assert.equal((all.written.match(/event: latency/g) ?? []).length, 2);
    assert.equal((onlyA.written.match(/event: latency/g) ?? []).length, 1);
    assert.match(onlyA.written, /"analysis":"a"/);
    assert.equal(hub.stats.sent, 2);
    hub.close();
    assert.ok(all.ended && /event: bye/.test(all.written));
    assert.equal(hub.stats.clients, 0);
  });

  test('a client that does not read is dropped (counted); the others go on', async () => {
    const hub = new SseHub({ heartbeatMs: 60_000, maxQueueBytes: 2000 });
    const slow = new FakeRes();
    slow.reading = false;
    const fast = new FakeRes();
    hub.open(res(slow), undefined, {}, {});
    hub.open(res(fast), undefined, {}, {});
    for (let i = 0; i < 50; i++) {
      hub.offer(outlier('a', i));
      await tick();
    }
    assert.ok(slow.destroyed, 'slow client disconnected');
    assert.equal(hub.stats.dropped, 1);
    assert.equal(hub.stats.clients, 1);
    assert.equal((fast.written.match(/event: latency/g) ?? []).length, 50);
    hub.close();
  });

  test('at most maxClients streams; an outlier storm is cut to maxPending per flush (counted)', async () => {
    const hub = new SseHub({ heartbeatMs: 60_000, maxClients: 1, maxPending: 10 });
    const c = new FakeRes();
    assert.ok(hub.open(res(c), undefined, {}, {}));
    assert.equal(hub.open(res(new FakeRes()), undefined, {}, {}), false);
    assert.equal(hub.stats.rejected, 1);
    for (let i = 0; i < 25; i++) hub.offer(outlier('a', i));
    await tick();
    assert.equal((c.written.match(/event: latency/g) ?? []).length, 10);
    assert.match(c.written, /event: skipped\ndata: \{"count":15\}/);
    assert.equal(hub.stats.skipped, 15);
    hub.close();
    assert.equal(hub.open(res(new FakeRes()), undefined, {}, {}), false, 'closed hub refuses');
  });
});

describe('StaticFiles', () => {
  test('serves only what the build holds, with content types; nothing outside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-ui-'));
    try {
      mkdirSync(join(dir, 'assets'));
      writeFileSync(join(dir, 'index.html'), '<!doctype html><p>hi</p>');
      writeFileSync(join(dir, 'assets', 'a-123.js'), `console.log(1);${' '.repeat(2000)}`);
      writeFileSync(join(dir, 'assets', 'b.css'), 'p{}');
      writeFileSync(join(dir, 'secret.key'), 'no');
      writeFileSync(join(dir, '.hidden.js'), 'no');
      const f = new StaticFiles(dir);
      assert.ok(f.built);
      assert.equal(f.size, 3);
      assert.equal(f.get('/')?.type, 'text/html; charset=utf-8');
      const js = f.get('/assets/a-123.js');
      assert.equal(js?.type, 'text/javascript; charset=utf-8');
      assert.ok(js?.immutable);
      assert.ok(js?.gzip !== undefined && js.gzip.length < js.body.length);
      assert.equal(f.get('/assets/b.css')?.type, 'text/css; charset=utf-8');
      for (const p of ['/secret.key', '/.hidden.js', '/../index.html', '/assets/../index.html', 'index.html', '']) {
        assert.equal(f.get(p), undefined, p);
      }
      assert.equal(new StaticFiles(join(dir, 'missing')).built, false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
