// test-timeout: 300s
/**
 * The fleet sink against a real ClickHouse (Debian's 18.16 server, started here on loopback with a temporary config
 * and data directory): rows arrive; ClickHouse stopped mid-stream and restarted loses and duplicates nothing; a
 * crash between ClickHouse's acknowledgement and the local watermark does not duplicate either; bad URLs and
 * credentials are one-line errors. CI runs as root (the live runs need it).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { chString } from '../src/sinks/store/chsql.ts';
import { haveClickHouse, TestClickHouse, TRACKER_PASSWORD } from './clickhouse.ts';
import { isRoot, type Json, LiveRun, runChild } from './live.ts';
import { freePort, waitFor } from './serve-helpers.ts';

const skip = !isRoot
  ? 'needs root (CI runs as root)'
  : !haveClickHouse()
    ? 'clickhouse-server is not installed'
    : false;
const scratch = mkdtempSync(join(process.cwd(), '.lt-ch-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function chArgs(ch: TestClickHouse, store: string): string[] {
  return [
    '--store',
    store,
    '--clickhouse',
    ch.url,
    '--clickhouse-user',
    'tracker',
    '--clickhouse-password',
    TRACKER_PASSWORD,
    '--clickhouse-database',
    'lt_test',
    '--flush-interval',
    '200ms',
  ];
}

/** Removes cgroup directories (children first) once their killed processes are gone. */
async function removeDirs(dirs: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const d of dirs) {
    for (;;) {
      try {
        rmdirSync(d);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

const key = (r: Json) => `${r.start_ns}/${r.end_ns}/${r.tid}/${r.latency_ns}`;

describe('ClickHouse fleet sink (real server)', { skip }, () => {
  const ch = new TestClickHouse();
  before(async () => {
    await ch.start();
  });
  after(async () => {
    await ch.dispose();
  });

  const count = async () => Number((await ch.sql('SELECT count() FROM lt_test.outliers')).trim());

  test('rows arrive; ClickHouse stopped and restarted mid-stream: nothing lost, nothing duplicated', async () => {
    const store = join(scratch, 'fleet.duckdb');
    const run = new LiveRun(['syscall', '--json', '-t', 'syscall=40ms', '-c', 'sleep', ...chArgs(ch, store)]);
    try {
      await run.ready();
      const sleeps = async (n: number) => {
        for (let i = 0; i < n; i++) await runChild('sleep', ['0.05']);
      };
      await sleeps(3);
      await run.until(() => run.latencies('syscall').length >= 3, 10_000, '3 outliers on stdout');
      await waitFor(async () => ((await count()) >= 3 ? true : undefined), 15_000, '3 rows in ClickHouse', 100);

      await ch.stop();
      await sleeps(3);
      await run.until(() => run.latencies('syscall').length >= 6, 10_000, '6 outliers on stdout');
      await run.until(() => /spooling to the local store/.test(run.stderr), 15_000, 'the shipper noticing the outage');

      await ch.start();
      await sleeps(2);
      await run.until(() => run.latencies('syscall').length >= 8, 10_000, '8 outliers on stdout');
      await waitFor(
        async () => ((await count()) >= run.latencies('syscall').length ? true : undefined),
        60_000,
        'the spooled rows',
        100,
      );
      const { code } = await run.stop();
      assert.equal(code, 0, run.stderr);
    } finally {
      await run.stop();
    }
    assert.match(run.stderr, /is back: shipping the spooled rows/);
    const printed = run.latencies('syscall');
    const rows = (await ch.sql('SELECT * FROM lt_test.outliers FORMAT JSONEachRow'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Json);
    assert.equal(rows.length, printed.length, `ClickHouse rows ${rows.length}, printed ${printed.length}`);
    const uniq = Number((await ch.sql('SELECT uniqExact(store_id, seq) FROM lt_test.outliers')).trim());
    assert.equal(uniq, rows.length, 'no (store_id, seq) twice');
    const fromCh = new Set(
      rows.map((r) => `${r.start_ns}/${r.end_ns}/${r.tid}/${r.latency_ns}`), // UInt64 come back as strings
    );
    for (const p of printed) assert.ok(fromCh.has(key(p)), `outlier ${key(p)} is in ClickHouse`);
    // Every field made it, the stack column and host included.
    const one = rows.find((r) => key(r) === key(printed[0])) as Json;
    assert.equal(one.analysis, 'syscall');
    assert.equal(one.comm, 'sleep');
    assert.equal(one.subject, (printed[0].detail as Json).syscall);
    assert.deepEqual(JSON.parse(String(one.detail)), printed[0].detail);
    assert.equal(typeof one.host, 'string');
    // `time` is the outlier's wall-clock time: these happened within the last few minutes.
    const [tMin, tMax] = (
      await ch.sql('SELECT min(toUnixTimestamp(time)), max(toUnixTimestamp(time)) FROM lt_test.outliers')
    )
      .trim()
      .split('\t')
      .map(Number);
    const nowS = Date.now() / 1000;
    assert.ok(tMin > nowS - 600 && tMax <= nowS + 5, `outlier times ${tMin}..${tMax}, now ${nowS}`);
    // Profile snapshots were shipped too (the last one at exit).
    const snaps = Number((await ch.sql("SELECT count() FROM lt_test.profiles WHERE analysis = 'syscall'")).trim());
    assert.ok(snaps >= 1, `profile snapshots in ClickHouse: ${snaps}`);
    // The fleet query of docs/store.md runs on this server (ARRAY JOIN + weighted quantile over the buckets).
    const p99 = await ch.sql(
      'SELECT host, quantileExactWeighted(0.99)(b, c) AS p99_ns FROM lt_test.profiles ' +
        "ARRAY JOIN bucket_ns AS b, bucket_counts AS c WHERE analysis = 'syscall' GROUP BY host",
    );
    assert.match(p99, /\t\d+\n/);
  });

  test('a crash between the ClickHouse acknowledgement and the local watermark sends nothing twice', async () => {
    const store = join(scratch, 'fleet.duckdb');
    const before = await count();
    assert.ok(before > 0);
    // Forget what was acknowledged, as if the previous run died right after ClickHouse took its last batch.
    const db = await DuckDBInstance.create(store);
    const c = await db.connect();
    await c.run("UPDATE meta SET value = '0' WHERE key LIKE 'clickhouse:%'");
    c.closeSync();
    db.closeSync();
    const run = new LiveRun([
      'syscall',
      '--json',
      '-t',
      'syscall=40ms',
      '-c',
      'sleep',
      '-d',
      '1s',
      ...chArgs(ch, store),
    ]);
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr);
    assert.match(run.stderr, /found already delivered \(not sent twice\)/);
    assert.equal(await count(), before);
  });

  test('cgroup columns: added to a table made before them, filled from a live run in a real cgroup', async () => {
    const V2 = existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
    if (!existsSync(join(V2, 'cgroup.controllers'))) return;
    // The outliers table as the first release made it (no cgroup columns).
    await ch.sql('CREATE DATABASE IF NOT EXISTS lt_cg');
    await ch.sql(`CREATE TABLE lt_cg.outliers (
  time DateTime, host String, analysis String, reason String,
  start_ns UInt64, end_ns UInt64, latency_ns UInt64,
  cpu Nullable(Int32), tid Nullable(Int32), pid Nullable(Int32), comm Nullable(String),
  subject Nullable(String), detail String, stack Array(String),
  store_id String, seq UInt64
) ENGINE = ReplacingMergeTree() PARTITION BY toDate(time) ORDER BY (host, analysis, time, store_id, seq)`);
    const slice = join(V2, `lt-test-${process.pid}-ch.slice`);
    const unit = join(slice, 'demo.service');
    mkdirSync(unit, { recursive: true });
    const child = spawn('perl', ['-e', '<STDIN>; select(undef, undef, undef, 0.05) for 1..4; <STDIN>;'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    try {
      const args = chArgs(ch, join(scratch, 'cg.duckdb')).map((a) => (a === 'lt_test' ? 'lt_cg' : a));
      const run = new LiveRun(['syscall', '--json', '-t', 'syscall=30ms', '-c', 'perl', ...args]);
      await run.ready();
      writeFileSync(join(unit, 'cgroup.procs'), `${child.pid}\n`);
      child.stdin?.write('go\n');
      await run.until(() => run.latencies('syscall').filter((r) => r.tid === child.pid).length >= 4, 20_000, 'sleeps');
      await run.stop();
      const path = `/lt-test-${process.pid}-ch.slice/demo.service`;
      const rows = await waitFor(
        async () => {
          const t = await ch.sql(
            `SELECT cgroup, unit, container FROM lt_cg.outliers WHERE tid = ${child.pid} FORMAT JSONEachRow`,
          );
          const r = t
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Json);
          return r.length >= 4 ? r : undefined;
        },
        20_000,
        'the rows in ClickHouse',
      );
      for (const r of rows) assert.deepEqual(r, { cgroup: path, unit: 'demo.service', container: null });
    } finally {
      child.kill('SIGKILL');
      await removeDirs([unit, slice]);
    }
  });

  test('string literals escaped for 18.16 come back unchanged', async () => {
    const nasty = [
      "it's",
      'back\\slash',
      "\\'",
      'new\nline\ttab\r',
      'nul\u0000',
      'ünï€ødé 🙂',
      "'); DROP TABLE x; --",
      '\u007f\u001b[0m',
    ];
    for (const s of nasty) {
      const got = await ch.sql(`SELECT hex(${chString(s)}) FORMAT TabSeparated`);
      assert.equal(got.trim(), Buffer.from(s, 'utf8').toString('hex').toUpperCase(), JSON.stringify(s));
    }
  });

  test('bad input: unreachable URL, wrong credentials', async () => {
    const port = await freePort();
    const store = join(scratch, 'bad.duckdb');
    const unreachable = new LiveRun([
      'syscall',
      '-d',
      '1s',
      '--store',
      store,
      '--clickhouse',
      `http://127.0.0.1:${port}`,
    ]);
    const u = await unreachable.exited;
    assert.equal(u.code, 2);
    assert.equal(
      unreachable.stderr,
      `latency-tracker: ClickHouse at http://127.0.0.1:${port} is unreachable (ECONNREFUSED)\n`,
    );
    const wrong = new LiveRun([
      'syscall',
      '-d',
      '1s',
      '--store',
      store,
      '--clickhouse',
      ch.url,
      '--clickhouse-user',
      'tracker',
      '--clickhouse-password',
      'nope',
    ]);
    const w = await wrong.exited;
    assert.equal(w.code, 2);
    assert.match(
      wrong.stderr,
      /^latency-tracker: ClickHouse at http:\/\/127\.0\.0\.1:\d+ refused user 'tracker': .*password.*\n$/i,
    );
    const nohttp = new LiveRun(['syscall', '-d', '1s', '--clickhouse', 'ftp://x']);
    assert.equal((await nohttp.exited).code, 2);
    assert.match(nohttp.stderr, /^latency-tracker: --clickhouse: 'ftp:\/\/x' is not an http:\/\/ or https:\/\/ URL\n$/);
  });
});
