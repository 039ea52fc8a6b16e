/**
 * `--tracefs DIR` where tracefs is not mounted (issue 18, item 6): tracefs is mounted only on an empty directory
 * (or a standard mount point), never over a directory's files, and what was mounted is unmounted when the run ends
 * — normally or on a signal. Real mounts on scratch directories, the real `latency-tracker live`. CI runs as root.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/latency-tracker.js', import.meta.url));
const isRoot = process.getuid?.() === 0;
const scratch = mkdtempSync(join(process.cwd(), '.lt-mount-'));

/** Mount points under `dir` (from /proc/self/mountinfo: the fifth field). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m?.startsWith(dir));
}

after(() => {
  for (const m of mountsUnder(scratch)) spawnSync('umount', [m]);
  rmSync(scratch, { recursive: true, force: true });
});

/** Instances of this kernel whose name says they belong to `pid`. */
function instancesOf(pid: number): string[] {
  return readdirSync('/sys/kernel/tracing/instances').filter((n) => n === `latency-tracker-${pid}`);
}

describe('--tracefs on a directory where tracefs is not mounted', { skip: !isRoot && 'needs root' }, () => {
  test('a directory with files: refused in one sentence, nothing mounted over them', () => {
    const dir = join(scratch, 'full');
    mkdirSync(dir);
    writeFileSync(join(dir, 'precious'), 'keep me\n');
    const r = spawnSync(process.execPath, [BIN, 'live', 'syscall', '-d', '1s', '--tracefs', dir], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(
      r.stderr,
      `latency-tracker: ${dir} is not a tracefs mount (no 'instances' directory) and not empty: refusing to mount ` +
        "tracefs over its files; give tracefs's mount point (e.g. /sys/kernel/tracing) or an empty directory.\n",
    );
    assert.deepEqual(mountsUnder(dir), []);
    assert.deepEqual(readdirSync(dir), ['precious']);
  });

  for (const end of ['the run ends', 'SIGINT'] as const) {
    test(`an empty directory: mounted for the run, unmounted when ${end}`, async () => {
      const dir = join(scratch, `empty-${end === 'SIGINT' ? 'int' : 'end'}`);
      mkdirSync(dir);
      const child = spawn(
        process.execPath,
        [BIN, 'live', 'syscall', '-t', '10s', '-d', end === 'SIGINT' ? '60s' : '2s', '--tracefs', dir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      try {
        const deadline = Date.now() + 30_000;
        while (!/Hit Ctrl-C to end/.test(out) && child.exitCode === null && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.match(out, /Hit Ctrl-C to end/);
        assert.deepEqual(mountsUnder(dir), [dir], 'tracefs mounted there while tracing');
        assert.deepEqual(instancesOf(child.pid as number), [`latency-tracker-${child.pid}`]);
        if (end === 'SIGINT') child.kill('SIGINT');
        assert.equal(await exited, 0, out);
        assert.deepEqual(mountsUnder(dir), [], 'unmounted at the end');
        assert.deepEqual(readdirSync(dir), []);
        assert.deepEqual(instancesOf(child.pid as number), []);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }

  test('an existing tracefs mount given with --tracefs stays mounted', () => {
    const r = spawnSync(
      process.execPath,
      [BIN, 'live', 'syscall', '-t', '10s', '-d', '1s', '--tracefs', '/sys/kernel/tracing'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readdirSync('/sys/kernel/tracing').includes('instances'));
  });
});
