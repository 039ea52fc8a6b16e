/**
 * Signals and the store (issue 18, item 2): SIGHUP (a closed terminal or ssh session) ends `live --store` and
 * `serve --store` like SIGTERM, every outlier reported reaching the store; a second signal right after the first
 * still commits them; a third leaves at once and says how many it drops. Real runs on the live kernel, real DuckDB
 * files. CI runs as root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { BIN, isRoot, type Json, killLiveRuns, LiveRun, orphanInstances, parseJsonLine, runChild } from './live.ts';
import { ServeRun } from './serve-helpers.ts';

const skip = !isRoot && 'needs root (CI runs as root)';
const scratch = mkdtempSync(join(process.cwd(), '.lt-signals-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
afterEach(killLiveRuns);

/** Every stored outlier (tid, start_ns, end_ns), oldest first. */
function stored(store: string): Json[] {
  const r = spawnSync(
    process.execPath,
    [BIN, 'query', '--store', store, '--json', '--sql', 'SELECT tid, start_ns, end_ns FROM outliers ORDER BY seq'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map(parseJsonLine);
}

const key = (r: Json) => `${r.tid}/${r.start_ns}/${r.end_ns}`;

/** Starts `live --store` with a long flush interval (only the shutdown commits) and provokes three outliers. */
async function liveWithOutliers(store: string): Promise<LiveRun> {
  const run = new LiveRun([
    'syscall',
    '--json',
    '-t',
    'syscall=50ms',
    '-c',
    'sleep',
    '--store',
    store,
    '--flush-interval',
    '60s',
  ]);
  await run.ready();
  const kids = await Promise.all([runChild('sleep', ['0.1']), runChild('sleep', ['0.1']), runChild('sleep', ['0.1'])]);
  await run.until(
    () => kids.every((k) => run.latencies('syscall').some((r) => r.tid === k.pid)),
    15_000,
    'the three sleep outliers',
  );
  return run;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live --store and signals', { skip }, () => {
  for (const [what, signals] of [
    ['SIGHUP ends it like SIGTERM', ['SIGHUP']],
    ['a second SIGINT 10 ms after the first', ['SIGINT', 'SIGINT']],
  ] as [string, NodeJS.Signals[]][]) {
    test(`${what}: every printed outlier is in the store`, async () => {
      const store = join(scratch, `live-${signals.length}.duckdb`);
      const run = await liveWithOutliers(store);
      for (const [i, s] of signals.entries()) {
        if (i > 0) await pause(10);
        run.child.kill(s);
      }
      const { code, signal } = await run.exited;
      assert.equal(signal, null);
      assert.equal(code, 0, run.stderr);
      const printed = run.latencies('syscall');
      const m = /store .*: (\d+) outliers and \d+ profile snapshots written\n/.exec(run.stderr);
      assert.ok(m, run.stderr);
      assert.equal(Number(m[1]), printed.length, run.stderr);
      assert.deepEqual(stored(store).map(key).sort(), printed.map(key).sort());
      assert.deepEqual(orphanInstances(), []);
    });
  }

  test('a third signal leaves at once, saying how many outliers it drops; the store keeps the rest', async () => {
    const store = join(scratch, 'live-3.duckdb');
    const run = await liveWithOutliers(store);
    for (let i = 0; i < 3; i++) {
      run.child.kill('SIGINT');
      await pause(5);
    }
    const { code } = await run.exited;
    const printed = run.latencies('syscall');
    const rows = stored(store);
    if (code === 130) {
      const m = /SIGINT: leaving at once(?:, (\d+) outliers not committed to the store dropped)?\n/.exec(run.stderr);
      assert.ok(m, run.stderr);
      const dropped = Number(m[1] ?? 0);
      // Never silent: what is stored plus what it said it dropped covers every printed outlier.
      assert.ok(rows.length + dropped >= printed.length, `${rows.length} stored + ${dropped} dropped`);
    } else {
      // The shutdown finished before the third signal arrived.
      assert.equal(code, 0, run.stderr);
      assert.equal(rows.length, printed.length);
    }
    assert.ok(rows.length <= printed.length);
    assert.deepEqual(orphanInstances(), []);
  });
});

describe('serve --store and signals', { skip }, () => {
  for (const [what, signals] of [
    ['SIGHUP ends it like SIGTERM', ['SIGHUP']],
    ['a second SIGINT 10 ms after the first', ['SIGINT', 'SIGINT']],
  ] as [string, NodeJS.Signals[]][]) {
    test(`${what}: every outlier it reported is committed`, async () => {
      const store = join(scratch, `serve-${signals.length}.duckdb`);
      const d = new ServeRun([
        'syscall',
        '--listen',
        '127.0.0.1:0',
        '-t',
        'syscall=50ms',
        '--store',
        store,
        '--flush-interval',
        '60s',
      ]);
      try {
        await d.ready();
        const kids = await Promise.all([runChild('sleep', ['0.1']), runChild('sleep', ['0.1'])]);
        // Count the outliers from /metrics (GET /api/events would flush the store's queue).
        let seen = 0;
        await d.until(
          async () => {
            const m = (await d.req('GET', '/metrics')).text;
            seen = Number(
              /^latency_tracker_outliers_total\{analysis="syscall",reason="threshold"\} (\d+)$/m.exec(m)?.[1],
            );
            return seen >= kids.length;
          },
          15_000,
          'the sleep outliers',
          200,
        );
        for (const [i, s] of signals.entries()) {
          if (i > 0) await pause(10);
          d.child.kill(s);
        }
        const { code, signal } = await d.exited;
        assert.equal(signal, null);
        assert.equal(code, 0, d.stderr);
        const m = /store .*: (\d+) outliers and \d+ profile snapshots written\n/.exec(d.stderr);
        assert.ok(m, d.stderr);
        assert.ok(Number(m[1]) >= seen, d.stderr);
        const rows = stored(store);
        assert.equal(rows.length, Number(m[1]));
        for (const k of kids)
          assert.ok(
            rows.some((r) => r.tid === k.pid),
            `sleep ${k.pid} stored`,
          );
        assert.equal(d.instanceExists, false);
      } finally {
        await d.stop('SIGKILL');
      }
    });
  }
});
