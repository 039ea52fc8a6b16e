/**
 * Output that cannot be written (issue 18, item 9): with standard output on `/dev/full` every write fails with
 * ENOSPC. The command says so in one line and exits 1 — a live run stops gracefully (its store commits, its
 * instance is removed) instead of tracing on while every outlier is lost. EPIPE (`| head`) stays quiet, exit 0.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BIN, isRoot, orphanInstances } from './live.ts';

const TRACE = fileURLToPath(new URL('../../shared/traces/tracecmd-x86-vm/trace.dat', import.meta.url));
const scratch = mkdtempSync(join(process.cwd(), '.lt-output-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const ONE_LINE = /^latency-tracker: cannot write to standard output \(ENOSPC: no space left on device\)$/m;

/** Runs the command with standard output on /dev/full. */
function toFull(args: string[], timeout = 60_000) {
  const full = openSync('/dev/full', 'w');
  try {
    return spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8', timeout });
  } finally {
    closeSync(full);
  }
}

describe('standard output on a full device', () => {
  for (const args of [
    ['analyze', TRACE, 'syscall', '--json', '-t', '1ms'],
    ['analyze', TRACE, 'syscall', '-t', '1ms', '--summary'],
    ['dump', TRACE],
    ['list'],
  ]) {
    test(`${args.map((a) => (a === TRACE ? 'trace.dat' : a)).join(' ')}: one line naming the error, exit 1`, () => {
      const r = toFull(args);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, ONE_LINE);
      assert.equal(r.stderr.match(/cannot write/g)?.length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    });
  }

  test('live --json --store: stops at the first failed write, commits what it found, exit 1', {
    skip: !isRoot && 'needs root',
  }, async () => {
    const store = join(scratch, 'full.duckdb');
    const full = openSync('/dev/full', 'w');
    const t0 = Date.now();
    const child = spawn(
      process.execPath,
      [BIN, 'live', 'syscall', '--json', '-t', '1us', '-d', '60s', '--store', store],
      {
        stdio: ['ignore', full, 'pipe'],
      },
    );
    closeSync(full);
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    try {
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      assert.equal(code, 1, stderr);
      assert.ok(Date.now() - t0 < 50_000, 'stopped long before its 60 s');
      assert.match(stderr, ONE_LINE);
      // The outliers it could not print went to the store first: committed, nothing dropped.
      const m = /store .*: (\d+) outliers and \d+ profile snapshots written\n/.exec(stderr);
      assert.ok(m && Number(m[1]) > 0, stderr);
      assert.doesNotMatch(stderr, /dropped|lost/);
      assert.deepEqual(orphanInstances(), []);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('EPIPE (the reader left) stays quiet, exit 0', { skip: !isRoot && 'needs root' }, () => {
    const t0 = Date.now();
    const r = spawnSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${BIN}" live syscall -t 1us -d 30s | head -c 1 >/dev/null; exit \${PIPESTATUS[0]}`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(Date.now() - t0 < 25_000, 'stopped when the reader left');
    assert.doesNotMatch(r.stderr, /cannot write|error/i);
    assert.deepEqual(orphanInstances(), []);
  });
});
