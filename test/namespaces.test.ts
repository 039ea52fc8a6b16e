/**
 * Trackers in containers (issue 18, item 1): a tracker in a pid namespace of its own shares the host's tracefs but
 * sees none of the host's pids. It must neither take the instances of trackers it cannot see for stale (and switch
 * them off), nor collide with another container's tracker that is pid 1 too. Real `unshare --pid` namespaces; the
 * first test writes only into a fake `--tracefs` tree, the second creates only its own instances. CI runs as root.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BIN, isRoot } from './live.ts';

const skip = !isRoot && 'needs root (CI runs as root)';
const TRACEFS = '/sys/kernel/tracing';
const scratch = mkdtempSync(join(process.cwd(), '.lt-ns-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** `latency-tracker ARGS` as pid 1 of a new pid namespace (killed with it if `unshare` dies). */
class NsRun {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(args: string[]) {
    this.child = spawn('unshare', ['--pid', '--fork', '--kill-child', process.execPath, BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d) => (this.stdout += d));
    this.child.stderr?.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }
  /** Sends `sig` to the tracker itself (unshare's child, pid 1 of the namespace; `unshare` does not forward it). */
  signal(sig: NodeJS.Signals) {
    const u = this.child.pid as number;
    const inner = readFileSync(`/proc/${u}/task/${u}/children`, 'utf8').trim().split(' ')[0];
    process.kill(Number(inner), sig);
  }
  kill() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('trackers in pid namespaces', { skip }, () => {
  test('a tracker in its own pid namespace leaves the instances of pids it cannot see alone', async () => {
    // The reproduction on a fake tracefs tree: the instance of a live process of the host (this test) with
    // tracing on and events enabled, then a tracker started in a new pid namespace with --tracefs pointing there.
    const fake = join(scratch, 'fake-tracefs');
    const other = join(fake, 'instances', `latency-tracker-${process.pid}`);
    mkdirSync(join(other, 'events'), { recursive: true });
    mkdirSync(join(fake, 'per_cpu', 'cpu0'), { recursive: true });
    for (const ev of ['sys_enter', 'sys_exit']) {
      mkdirSync(join(fake, 'events', 'raw_syscalls', ev), { recursive: true });
      writeFileSync(
        join(fake, 'events', 'raw_syscalls', ev, 'format'),
        readFileSync(join(TRACEFS, 'events', 'raw_syscalls', ev, 'format')),
      );
    }
    writeFileSync(join(other, 'tracing_on'), '1\n');
    writeFileSync(join(other, 'events', 'enable'), '1\n');
    const run = new NsRun(['live', 'syscall', '-d', '1s', '--tracefs', fake]);
    try {
      const code = await run.exited;
      // The fake tree is no tracefs: the run ends with one sentence and exit 2 — after its sweep.
      assert.equal(code, 2, run.stderr);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    } finally {
      run.kill();
    }
    assert.equal(readFileSync(join(other, 'tracing_on'), 'utf8'), '1\n', 'tracing_on of the other instance kept');
    assert.equal(readFileSync(join(other, 'events', 'enable'), 'utf8'), '1\n', 'its events kept');
    assert.ok(existsSync(other));
  });

  test('two trackers that are both pid 1 in two namespaces run side by side on the real tracefs', async () => {
    const mine = () => readdirSync(join(TRACEFS, 'instances')).filter((n) => /^latency-tracker-1-\d+$/.test(n));
    const before = new Set(mine());
    const fresh = () => mine().filter((n) => !before.has(n));
    const a = new NsRun(['live', 'syscall', '-d', '30s', '--json', '-t', '10s']);
    let b: NsRun | undefined;
    try {
      await until(() => /Hit Ctrl-C to end/.test(a.stderr) || a.child.exitCode !== null, 30_000, 'tracker A');
      assert.match(a.stderr, /Hit Ctrl-C to end/, a.stderr);
      assert.equal(fresh().length, 1, `A's instance: ${fresh()}`);
      const aName = fresh()[0];
      b = new NsRun(['live', 'syscall', '-d', '1s', '--json', '-t', '10s']);
      const bRun = b;
      await until(() => /Hit Ctrl-C to end/.test(bRun.stderr) || bRun.child.exitCode !== null, 30_000, 'tracker B');
      assert.match(b.stderr, /Hit Ctrl-C to end/, `B refused to start: ${b.stderr}`);
      // While B runs, A is still tracing: B neither removed nor switched off A's instance.
      assert.equal(readFileSync(join(TRACEFS, 'instances', aName, 'tracing_on'), 'utf8').trim(), '1');
      assert.equal(
        readFileSync(join(TRACEFS, 'instances', aName, 'events/raw_syscalls/sys_enter/enable'), 'utf8')[0],
        '1',
      );
      assert.equal(await b.exited, 0, b.stderr);
      assert.equal(readFileSync(join(TRACEFS, 'instances', aName, 'tracing_on'), 'utf8').trim(), '1');
      a.signal('SIGTERM');
      assert.equal(await a.exited, 0, a.stderr);
      assert.deepEqual(fresh(), [], 'both instances removed at exit');
    } finally {
      a.kill();
      b?.kill();
      await Promise.all([a.exited, b?.exited]);
      // A failed run killed with SIGKILL cannot clean up, and nobody sweeps a namespace that is gone: remove the
      // instances this test made (rmdir only; the kernel refuses one still held open).
      for (const n of fresh()) {
        try {
          rmdirSync(join(TRACEFS, 'instances', n));
        } catch {
          // busy or gone
        }
      }
    }
  });
});
