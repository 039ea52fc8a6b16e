/**
 * `query` beside a running daemon (issue 17), as root: `serve` says where its store is; `query` (reports and --sql)
 * works while the daemon holds the store, by asking it over `POST /api/query`; that endpoint runs one read-only
 * statement on the store's tables and nothing else (no other file, no writes); `--sql` prints raw values.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, isRoot, runChild } from './live.ts';
import { ServeRun, waitFor } from './serve-helpers.ts';

const skip = !isRoot && 'needs root (CI runs as root)';

function query(store: string, ...args: string[]) {
  return spawnSync(process.execPath, [BIN, 'query', '--store', store, ...args], { encoding: 'utf8' });
}

describe('query while serve holds the store', { skip }, () => {
  let dir: string;
  let store: string;
  let d: ServeRun;
  let sleeper: number;
  before(async () => {
    dir = mkdtempSync(join(process.cwd(), '.lt-query-daemon-'));
    store = join(dir, 'o.duckdb');
    d = new ServeRun([
      'syscall',
      '--listen',
      '127.0.0.1:0',
      '-t',
      '100ms',
      '--store',
      store,
      '--flush-interval',
      '100ms',
    ]);
    await d.ready();
    sleeper = (await runChild('sleep', ['0.2'])).pid;
    // Committed: the daemon's own history (the store) has it.
    await waitFor(
      async () => {
        const r = await d.getJson('/api/events?analysis=syscall&limit=1000');
        return (r.events as { tid: number }[]).some((e) => e.tid === sleeper) ? true : undefined;
      },
      15_000,
      'the sleep outlier in the store',
    );
  });
  after(async () => {
    await d?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('serve says where its store is, and leaves a note for query', () => {
    assert.match(
      d.stdout,
      new RegExp(`^Store: +${store.replace(/[.]/g, '\\.')} \\(latency-tracker query asks this daemon`, 'm'),
    );
    assert.ok(existsSync(`${store}.serve`));
  });

  test('a report and --sql work through the daemon; --sql values are raw', () => {
    const top = query(store, 'top', '--analysis', 'syscall');
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout, /through the daemon \(pid \d+\)/);
    assert.match(top.stdout, /\d+(\.\d+)?ms/, 'reports show durations for people');
    const sql = query(store, '--sql', `SELECT tid, start_ns, latency_ns FROM outliers WHERE tid = ${sleeper}`);
    assert.equal(sql.status, 0, sql.stderr);
    const lines = sql.stdout.trim().split('\n');
    assert.match(lines[0], /^tid +start_ns +latency_ns$/);
    assert.ok(lines.length >= 2, sql.stdout);
    for (const l of lines.slice(1)) assert.match(l, new RegExp(`^ *${sleeper} +\\d{10,} +\\d{9,}$`), l);
    const json = query(store, '--json', '--sql', `SELECT start_ns FROM outliers WHERE tid = ${sleeper}`);
    assert.equal(json.status, 0, json.stderr);
    assert.match(json.stdout, /^\{"type":"row","start_ns":\d+\}$/m, 'exact integers in JSON');
  });

  test('the daemon runs read-only statements on its store only', async () => {
    const post = (sql: string) =>
      d.req('POST', '/api/query', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sql }) });
    const ok = await post('SELECT count(*) AS n FROM outliers');
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json().columns, ['n']);
    for (const [sql, re] of [
      ['DELETE FROM outliers', /DELETE statements are refused/],
      ["SELECT * FROM read_text('/etc/hostname')", /file system operations are disabled|Permission/],
      ["ATTACH '/tmp/x.duckdb' AS x", /ATTACH statements are refused/],
      ['SELECT 1; SELECT 2', /exactly one statement/],
    ] as [string, RegExp][]) {
      const r = await post(sql);
      assert.equal(r.status, 400, `${sql}: ${r.text}`);
      assert.match(String(r.json().error), re, sql);
    }
    const q = query(store, '--sql', "SELECT * FROM read_text('/etc/hostname')");
    assert.equal(q.status, 2);
    assert.match(q.stderr, /^latency-tracker: .*(file system operations are disabled|Permission)/);
  });

  test('--parquet needs the store itself: one line saying so, exit 2', () => {
    const r = query(store, '--parquet', join(dir, 'x.parquet'));
    assert.equal(r.status, 2);
    assert.match(
      r.stderr.trim(),
      /^latency-tracker: --parquet: the store .* is held by the running daemon \(pid \d+\)/,
    );
  });

  test('after the daemon stops: the note is gone and query opens the store itself', async () => {
    const { code } = await d.stop();
    assert.equal(code, 0, d.stderr);
    assert.equal(existsSync(`${store}.serve`), false);
    const r = query(store, '--sql', `SELECT latency_ns FROM outliers WHERE tid = ${sleeper}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^latency_ns\n *\d{9,}\n/);
    const top = query(store, 'top');
    assert.equal(top.status, 0, top.stderr);
    assert.doesNotMatch(top.stdout, /through the daemon/);
  });
});
