import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolvePaths } from '../../paths.ts';
import { SetupError } from '../errors.ts';
import { defaultInstanceName, sweepStale, TracefsInstance } from './instance.ts';

const paths = resolvePaths();
const isRoot = process.getuid?.() === 0;
const INSTANCE_TS = fileURLToPath(new URL('./instance.ts', import.meta.url));
const PATHS_TS = fileURLToPath(new URL('../../paths.ts', import.meta.url));
const skip = !isRoot && 'needs root (CI runs as root)';

function instanceDir(name: string) {
  return join(paths.tracefs, 'instances', name);
}

/** A child process that creates its instance, enables an event, prints READY and waits. */
function startChild(extra = ''): { child: ChildProcess; ready: Promise<string> } {
  const code = `
    import { TracefsInstance } from ${JSON.stringify(INSTANCE_TS)};
    import { resolvePaths } from ${JSON.stringify(PATHS_TS)};
    const inst = TracefsInstance.create({ paths: resolvePaths() });
    inst.enableEvent('sched:sched_switch');
    inst.start();
    process.stdout.write('READY ' + inst.name + '\\n');
    ${extra}
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      const m = /READY (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (c) => reject(new Error(`child exited early (${c}): ${out}`)));
  });
  return { child, ready };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

describe('TracefsInstance', { skip }, () => {
  after(() => {
    // Nothing of ours may remain, whatever happened above.
    sweepStale(paths);
  });

  test('create, configure, enable one event, remove', () => {
    const globalEvents = readFileSync(join(paths.tracefs, 'set_event'), 'utf8');
    const inst = TracefsInstance.create({ paths, subbufKb: 16, bufferKb: 512 });
    try {
      assert.equal(inst.name, `latency-tracker-${process.pid}`);
      assert.ok(existsSync(inst.dir));
      assert.match(readFileSync(join(inst.dir, 'trace_clock'), 'utf8'), /\[mono\]/);
      assert.equal(readFileSync(join(inst.dir, 'tracing_on'), 'utf8').trim(), '0');
      // 16 KiB when the kernel accepts the change; some refuse it (6.18.44: EPERM) and keep their own size.
      const kernelKb = Number(readFileSync(join(inst.dir, 'buffer_subbuf_size_kb'), 'utf8'));
      assert.equal(inst.pageSize, kernelKb * 1024);
      assert.ok(inst.cpus >= 1);
      assert.ok(inst.hasEvent('sched:sched_switch'));
      assert.equal(inst.hasEvent('sched:no_such_event'), false);
      inst.enableEvent('sched:sched_switch');
      assert.equal(readFileSync(join(inst.dir, 'events/sched/sched_switch/enable'), 'utf8').trim(), '1');
      inst.setFilter('sched:sched_switch', 'prev_pid == 1 || next_pid == 1');
      assert.match(readFileSync(join(inst.dir, 'events/sched/sched_switch/filter'), 'utf8'), /prev_pid == 1/);
      inst.setTrigger('sched:sched_switch', 'stacktrace if prev_state & 3');
      assert.match(readFileSync(join(inst.dir, 'events/sched/sched_switch/trigger'), 'utf8'), /stacktrace/);
      assert.ok(inst.setNotracePids([process.pid]));
      inst.start();
      assert.equal(readFileSync(join(inst.dir, 'tracing_on'), 'utf8').trim(), '1');
      // The global buffer is untouched.
      assert.equal(readFileSync(join(paths.tracefs, 'set_event'), 'utf8'), globalEvents);
      // Per-CPU counters parsed from the kernel's own stats file (overrun and dropped stay 0 in a quiet instance).
      const st = inst.cpuStats(0);
      const raw = readFileSync(join(inst.dir, 'per_cpu/cpu0/stats'), 'utf8');
      assert.equal(st.overrun, Number(/^overrun: (\d+)$/m.exec(raw)?.[1]));
      assert.equal(st.dropped, Number(/^dropped events: (\d+)$/m.exec(raw)?.[1]));
    } finally {
      assert.ok(inst.remove());
    }
    assert.equal(existsSync(inst.dir), false);
    assert.ok(inst.remove(), 'remove is idempotent');
  });

  test('refuses bad names, filters and triggers before touching tracefs', () => {
    const inst = TracefsInstance.create({ paths, name: `lt-test-bad-${process.pid}` });
    try {
      for (const ev of ['sched', 'sched:../../x', 'sched:sched_switch/enable', 'a:b c', '']) {
        assert.throws(() => inst.enableEvent(ev), SetupError, ev);
      }
      assert.throws(() => inst.enableEvent('sched:no_such_event'), /no tracepoint sched:no_such_event/);
      for (const f of ['common_pid == 1; rm -rf /', 'x == $(id)', 'a\nb', 'x == `id`', '\\']) {
        assert.throws(() => inst.setFilter('sched:sched_switch', f), SetupError, f);
      }
      assert.throws(() => inst.setTrigger('sched:sched_switch', 'traceoff'), SetupError);
      assert.throws(() => inst.setTrigger('sched:sched_switch', 'stacktrace if x; y'), SetupError);
      // A syntactically bad filter the kernel rejects: clear error, from the kernel's error_log.
      assert.throws(
        () => inst.setFilter('sched:sched_switch', 'no_such_field == 1'),
        /cannot set sched:sched_switch filter/,
      );
      assert.throws(() => inst.setNotracePids([-1]), SetupError);
      assert.throws(() => TracefsInstance.create({ paths, name: '../evil' }), SetupError);
      assert.throws(
        () => TracefsInstance.create({ paths, name: `lt-test-x-${process.pid}`, subbufKb: 12 }),
        /power of two/,
      );
    } finally {
      inst.remove();
    }
    assert.equal(existsSync(instanceDir(`lt-test-x-${process.pid}`)), false, 'failed setup removed its instance');
  });

  test('sweepStale removes instances of dead pids only', async () => {
    // A pid that is certainly dead: a child that has exited.
    const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(r.stdout);
    const dead = instanceDir(`latency-tracker-${deadPid}`);
    const alive = instanceDir('latency-tracker-1'); // pid 1 is always alive
    mkdirSync(dead);
    mkdirSync(alive);
    try {
      const removed = sweepStale(paths);
      assert.ok(removed.includes(`latency-tracker-${deadPid}`));
      assert.equal(existsSync(dead), false);
      assert.ok(existsSync(alive), 'an instance of a live process is left alone');
    } finally {
      spawnSync('rmdir', [alive]);
      spawnSync('rmdir', [dead]);
    }
  });

  test('a sweep never writes into or removes an instance its owner holds open, whatever its pid says', () => {
    // In a pid namespace of its own (so that no other tracker on this machine sweeps the test instance), a child
    // makes the instance of a pid that is dead there, enables an event in it and holds its tracing_on open — what a
    // live owner in another namespace, or a reused pid, looks like from here. Only after the fd is closed may a sweep
    // remove it, with rmdir alone.
    const code = `
      import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
      import { pidNamespace, sweepStale } from ${JSON.stringify(INSTANCE_TS)};
      import { resolvePaths } from ${JSON.stringify(PATHS_TS)};
      const paths = resolvePaths();
      const ns = pidNamespace(paths);
      const name = 'latency-tracker-99999-' + ns;
      const dir = paths.tracefs + '/instances/' + name;
      const ev = dir + '/events/sched/sched_switch/enable';
      mkdirSync(dir);
      try {
        writeFileSync(ev, '1');
        writeFileSync(dir + '/tracing_on', '1');
        const fd = openSync(dir + '/tracing_on', 'r');
        const held = sweepStale(paths);
        const on = readFileSync(dir + '/tracing_on', 'utf8').trim();
        const enabled = readFileSync(ev, 'utf8').trim();
        const kept = existsSync(dir);
        closeSync(fd);
        const released = sweepStale(paths);
        process.stdout.write(JSON.stringify({ pid: process.pid, name, held, on, enabled, kept, released, gone: !existsSync(dir) }));
      } finally {
        try { rmdirSync(dir); } catch {}
      }
    `;
    const r = spawnSync(
      'unshare',
      ['--pid', '--fork', '--kill-child', process.execPath, '--import', 'tsx', '--input-type=module', '-e', code],
      { encoding: 'utf8', cwd: fileURLToPath(new URL('../../..', import.meta.url)), timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    assert.equal(o.pid, 1, 'the child is pid 1 of its own namespace');
    assert.match(o.name, /^latency-tracker-99999-\d+$/);
    assert.deepEqual(o.held, [], 'nothing swept while the owner holds its file');
    assert.equal(o.on, '1', 'tracing_on left as it was');
    assert.equal(o.enabled, '1', 'the event left enabled');
    assert.ok(o.kept);
    assert.deepEqual(o.released, [o.name], 'swept once nobody holds it');
    assert.ok(o.gone);
  });

  test('the default name is latency-tracker-<pid> here, and carries the namespace inode in another pid namespace', async () => {
    // Each child prints its name and waits for its stdin to close: both namespaces are alive at the same time (a
    // namespace's inode is reused once it is gone).
    const code = `
      import { defaultInstanceName } from ${JSON.stringify(INSTANCE_TS)};
      import { resolvePaths } from ${JSON.stringify(PATHS_TS)};
      import { readlinkSync } from 'node:fs';
      process.stdout.write(JSON.stringify({ name: defaultInstanceName(resolvePaths()), ns: readlinkSync('/proc/self/ns/pid') }) + '\\n');
      process.stdin.resume();
      process.stdin.on('end', () => process.exit(0));
    `;
    const start = () => {
      const child = spawn(
        'unshare',
        ['--pid', '--fork', '--kill-child', process.execPath, '--import', 'tsx', '--input-type=module', '-e', code],
        { stdio: ['pipe', 'pipe', 'pipe'], cwd: fileURLToPath(new URL('../../..', import.meta.url)) },
      );
      const line = new Promise<{ name: string; ns: string }>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stderr?.on('data', (d) => (err += d));
        child.stdout?.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(JSON.parse(out));
        });
        child.on('exit', (c) => reject(new Error(`child exited (${c}): ${err}`)));
      });
      return { child, line };
    };
    assert.equal(defaultInstanceName(paths), `latency-tracker-${process.pid}`);
    const a = start();
    const b = start();
    try {
      const [na, nb] = await Promise.all([a.line, b.line]);
      assert.equal(na.name, `latency-tracker-1-${/\d+/.exec(na.ns)?.[0]}`);
      assert.equal(nb.name, `latency-tracker-1-${/\d+/.exec(nb.ns)?.[0]}`);
      assert.notEqual(na.name, nb.name, 'two pid-1 trackers in two live namespaces never share a name');
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
    }
  });

  for (const how of ['normal exit', 'SIGTERM', 'SIGINT'] as const) {
    test(`instance removed on ${how}`, async () => {
      const { child, ready } = startChild(how === 'normal exit' ? 'setTimeout(() => process.exit(0), 200);' : '');
      const name = await ready;
      assert.ok(existsSync(instanceDir(name)));
      if (how !== 'normal exit') child.kill(how);
      const r = await exited(child);
      assert.equal(r.code, how === 'normal exit' ? 0 : how === 'SIGTERM' ? 143 : 130);
      assert.equal(existsSync(instanceDir(name)), false, `${name} left behind after ${how}`);
    });
  }

  test('instance removed after an uncaught error', async () => {
    const { child, ready } = startChild("setTimeout(() => { throw new Error('boom'); }, 200);");
    const name = await ready;
    const r = await exited(child);
    assert.equal(r.code, 1);
    assert.equal(existsSync(instanceDir(name)), false);
  });

  test('after SIGKILL the next start sweeps the instance', async () => {
    const { child, ready } = startChild();
    const name = await ready;
    child.kill('SIGKILL');
    await exited(child);
    assert.ok(existsSync(instanceDir(name)), 'SIGKILL cannot clean up');
    const inst = TracefsInstance.create({ paths, name: `lt-test-sweep-${process.pid}` });
    inst.remove();
    assert.equal(existsSync(instanceDir(name)), false, 'create() swept the dead instance');
  });
});

describe('without root', { skip: !isRoot && 'needs root to drop privileges' }, () => {
  test('one clear sentence and exit code 2, nothing left behind', () => {
    const code = `
      import { TracefsInstance, SetupError } from ${JSON.stringify(INSTANCE_TS)};
      import { resolvePaths } from ${JSON.stringify(PATHS_TS)};
      try { TracefsInstance.create({ paths: resolvePaths() }); }
      catch (e) { if (e instanceof SetupError) { process.stderr.write(e.message + '\\n'); process.exit(e.exitCode); } throw e; }
    `;
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        code,
      ],
      { encoding: 'utf8', cwd: fileURLToPath(new URL('../../..', import.meta.url)) },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trim(), /^latency-tracker needs root .*sudo\.$/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});
