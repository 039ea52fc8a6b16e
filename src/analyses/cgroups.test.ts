/**
 * The threads' cgroup table over a `Cgroupfs` reading a fixture tree (real files, rewritten between steps, clock
 * injected): first-sight resolution, moves in stream order, fork inheritance checked against /proc, exits, the read
 * budget, the bounded path table, the `--cgroup` match, the throttling window and the pressure cache. And trace
 * files: their outliers say `cgroup: null` rather than guessing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { resolvePaths } from '../paths.ts';
import { Cgroupfs } from '../sources/cgroupfs.ts';
import { openTraceDat } from '../sources/tracedat/index.ts';
import { CgroupTable, cgroupLabel, MAX_CGROUPS, RESOLVE_BUDGET } from './cgroups.ts';
import { Engine, type OutlierRecord } from './engine.ts';
import { ANALYSES } from './index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'lt-cgroups-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function put(root: string, p: string, text: string): void {
  mkdirSync(dirname(join(root, p)), { recursive: true });
  writeFileSync(join(root, p), text);
}

/** A hybrid host: v2 paths, v1 cpu hierarchy 1 (this machine's layout). */
function host(): { proc: string; cg: string; clock: { t: number }; table: (prefix?: string) => CgroupTable } {
  const proc = mkdtempSync(join(scratch, 'proc-'));
  const cg = mkdtempSync(join(scratch, 'cg-'));
  put(proc, 'cgroups', 'cpu\t1\t1\t1\n');
  put(cg, 'unified/cgroup.controllers', '\n');
  put(cg, 'cpu/cpu.cfs_quota_us', '-1\n');
  const clock = { t: 0 };
  const reader = Cgroupfs.open(resolvePaths({ procfs: proc, cgroupfs: cg }), { now: () => clock.t }) as Cgroupfs;
  return { proc, cg, clock, table: (prefix?: string) => new CgroupTable(reader, prefix) };
}

const procLine = (v2: string, cpu = '/') => `1:cpu:${cpu}\n0::${v2}\n`;

describe('CgroupTable', () => {
  test('first sight reads /proc once; moves follow the events in stream order; other hierarchies are ignored', () => {
    const h = host();
    put(h.proc, '100/cgroup', procLine('/system.slice/a.service'));
    const t = h.table();
    const id = t.idOf(100);
    assert.equal(t.path(id), '/system.slice/a.service');
    assert.equal(t.container(id)?.unit, 'a.service');
    // /proc changing does not matter once known: the events say when it moves.
    put(h.proc, '100/cgroup', procLine('/elsewhere'));
    assert.equal(t.path(t.idOf(100)), '/system.slice/a.service');
    t.attach(100, 4, '/devices-group');
    assert.equal(t.path(t.idOf(100)), '/system.slice/a.service');
    t.attach(100, 0, '/system.slice/b.service');
    assert.equal(t.path(t.idOf(100)), '/system.slice/b.service');
    t.attach(100, 1, '/quota');
    assert.equal(t.cpuPath(t.cpuIdOf(100)), '/quota');
    assert.equal(t.stats.moves, 2);
    assert.equal(t.stats.resolved, 1);
    assert.equal(t.idOf(0), -1);
    assert.equal(t.idOf(-1), -1);
  });

  test('a move of a process leader (one event for cgroup.procs) moves its other known threads', () => {
    const h = host();
    put(h.proc, '100/cgroup', procLine('/old'));
    put(h.proc, '100/status', 'Name:\tx\nTgid:\t100\nPid:\t100\n');
    for (const t of [100, 101, 102]) put(h.proc, `100/task/${t}/stat`, '');
    put(h.proc, '101/cgroup', procLine('/old'));
    const t = h.table();
    t.idOf(100);
    t.idOf(101);
    t.attach(100, 0, '/new');
    assert.equal(t.path(t.idOf(100)), '/new');
    assert.equal(t.path(t.idOf(101)), '/new');
    // A thread never seen is read from /proc when needed (the kernel moved it too).
    put(h.proc, '102/cgroup', procLine('/new'));
    assert.equal(t.path(t.idOf(102)), '/new');
    // A move of a non-leader thread moves that thread only.
    put(h.proc, '101/status', 'Name:\tx\nTgid:\t100\nPid:\t101\n');
    t.attach(101, 0, '/third');
    assert.equal(t.path(t.idOf(101)), '/third');
    assert.equal(t.path(t.idOf(100)), '/new');
  });

  test('fork hands the parent cgroup down, checked against /proc on first need (CLONE_INTO_CGROUP)', () => {
    const h = host();
    put(h.proc, '1/cgroup', procLine('/init.scope'));
    const t = h.table();
    t.idOf(1);
    t.fork(1, 200); // child still running, in another group than its parent
    put(h.proc, '200/cgroup', procLine('/system.slice/c.service'));
    assert.equal(t.path(t.idOf(200)), '/system.slice/c.service');
    t.fork(1, 201); // child gone before anyone asked: the inherited value stays
    assert.equal(t.path(t.idOf(201)), '/init.scope');
    assert.equal(t.stats.inherited, 2);
    assert.equal(t.stats.resolveFailed, 1);
    // Exit forgets: a reused tid is read again.
    t.exit(200);
    put(h.proc, '200/cgroup', procLine('/new'));
    assert.equal(t.path(t.idOf(200)), '/new');
  });

  test('group labels: path, container, unit, computed once per path', () => {
    const h = host();
    const docker = '/system.slice/docker-34048520ee4dcc79b692911aeb87c104e8f3d9b5a99aa269fa1f2b5a3fcfd1fd.scope';
    put(h.proc, '70/cgroup', procLine(docker));
    const t = h.table();
    const id = t.idOf(70);
    assert.equal(cgroupLabel(t, 'cgroup', id), docker);
    assert.equal(cgroupLabel(t, 'container', id), 'docker:34048520ee4d');
    assert.equal(cgroupLabel(t, 'unit', id), docker.split('/')[2]);
    assert.equal(cgroupLabel(t, 'container', id), cgroupLabel(t, 'container', id));
    assert.equal(cgroupLabel(t, 'unit', -1), '-');
  });

  test('a thread gone before first sight is unknown, and not read again', () => {
    const h = host();
    const t = h.table();
    assert.equal(t.idOf(300), -1);
    assert.equal(t.idOf(300), -1);
    assert.equal(t.stats.resolveFailed, 1);
    assert.equal(cgroupLabel(t, 'cgroup', -1), '-');
  });

  test('at most RESOLVE_BUDGET reads per cycle; the rest are retried next cycle (counted)', () => {
    const h = host();
    for (let i = 1; i <= RESOLVE_BUDGET + 5; i++) put(h.proc, `${1000 + i}/cgroup`, procLine('/g'));
    const t = h.table();
    for (let i = 1; i <= RESOLVE_BUDGET + 5; i++) t.idOf(1000 + i);
    assert.equal(t.stats.resolved, RESOLVE_BUDGET);
    assert.equal(t.stats.deferred, 5);
    assert.equal(t.idOf(1000 + RESOLVE_BUDGET + 1), -1);
    t.cycle(1);
    assert.equal(t.path(t.idOf(1000 + RESOLVE_BUDGET + 1)), '/g');
  });

  test('bounded: a tid in the same slot evicts (counted); a full path table starts over (counted)', () => {
    const h = host();
    put(h.proc, '5/cgroup', procLine('/a'));
    put(h.proc, `${5 + 65536}/cgroup`, procLine('/b'));
    const t = h.table();
    t.idOf(5);
    t.idOf(5 + 65536);
    assert.equal(t.stats.evicted, 1);
    assert.equal(t.path(t.idOf(5)), '/a');
    for (let i = 0; i <= MAX_CGROUPS; i++) t.attach(7, 0, `/many/${i}`);
    assert.equal(t.stats.resets, 1);
    t.attach(7, 0, '/after');
    t.cycle(2);
    assert.equal(t.path(t.idOf(7)), '/after');
  });

  test('--cgroup matches the path and its descendants, not siblings with the same prefix', () => {
    const h = host();
    const t = h.table('/system.slice/a.service');
    for (const [tid, p] of [
      [1, '/system.slice/a.service'],
      [2, '/system.slice/a.service/worker'],
      [3, '/system.slice/a.services'],
      [4, '/'],
    ] as const) {
      put(h.proc, `${tid}/cgroup`, procLine(p));
    }
    assert.deepEqual(
      [1, 2, 3, 4].map((tid) => t.matches(t.idOf(tid))),
      [true, true, false, false],
    );
    assert.equal(t.matches(-1), false);
    assert.equal(h.table('/').matches(h.table('/').idOf(3)), true);
  });

  test('throttling: the samples bracketing the outlier, from the nearest group with a quota', () => {
    const h = host();
    put(h.proc, '50/cgroup', procLine('/svc', '/lim/job'));
    put(h.cg, 'cpu/lim/cpu.cfs_quota_us', '20000\n');
    put(h.cg, 'cpu/lim/job/cpu.cfs_quota_us', '-1\n');
    const stat = (nr: number, ns: number) =>
      put(h.cg, 'cpu/lim/cpu.stat', `nr_periods 9\nnr_throttled ${nr}\nthrottled_time ${ns}\n`);
    const t = h.table();
    stat(1, 1000);
    h.clock.t = 100;
    t.touch(50, 100);
    t.cycle(100); // sample at 100
    stat(4, 9000);
    h.clock.t = 300;
    t.cycle(300); // sample at 300
    stat(6, 12000);
    h.clock.t = 500;
    t.cycle(500);
    const cpu = t.cpuIdOf(50);
    assert.deepEqual(t.throttle(cpu, 150, 250), {
      cgroup: '/lim',
      nr_throttled: 3,
      throttled_ns: 8000,
      from: 100,
      to: 300,
    });
    assert.equal(t.throttle(cpu, 50, 250), null, 'no sample before the start');
    assert.equal(t.stats.throttleUncovered, 1);
    // An end after the last sample: read now (the window runs from the sample at 300 to now, 700).
    stat(7, 20000);
    h.clock.t = 700;
    assert.deepEqual(t.throttle(cpu, 350, 650), {
      cgroup: '/lim',
      nr_throttled: 3,
      throttled_ns: 11000,
      from: 300,
      to: 700,
    });
    // No quota anywhere up the tree: nothing can have been throttled.
    put(h.proc, '51/cgroup', procLine('/svc', '/free'));
    assert.equal(t.throttle(t.cpuIdOf(51), 150, 250), undefined);
  });

  test('pressure is read at most once per second per cgroup', () => {
    const h = host();
    put(h.proc, '60/cgroup', procLine('/p'));
    put(h.cg, 'unified/p/cpu.pressure', 'some avg10=12.50 avg60=0 avg300=0 total=1\n');
    const t = h.table();
    const id = t.idOf(60);
    assert.deepEqual(t.pressure(id), { cpu: 12.5, io: null, memory: null });
    put(h.cg, 'unified/p/cpu.pressure', 'some avg10=99.00 avg60=0 avg300=0 total=1\n');
    h.clock.t = 0.5e9;
    assert.equal(t.pressure(id)?.cpu, 12.5);
    h.clock.t = 1.5e9;
    assert.equal(t.pressure(id)?.cpu, 99);
  });
});

const TRACE = fileURLToPath(new URL('../../../shared/traces/tracecmd-x86-vm/trace.dat', import.meta.url));

describe('trace files', { skip: !existsSync(TRACE) && `needs ${TRACE} (shared/ beside the checkout)` }, () => {
  test('outliers from a trace.dat say cgroup null and container null', async () => {
    const file = TRACE;
    const source = await openTraceDat(file, {});
    const out: OutlierRecord[] = [];
    const syscall = ANALYSES.filter((a) => a.name === 'syscall');
    const engine = new Engine(source, syscall, { settings: { syscall: { threshold: 1e6 } } }, (o) => out.push(o));
    await source.run(engine);
    assert.equal(engine.cgroups, undefined);
    assert.ok(out.length > 0);
    for (const o of out) {
      assert.equal(o.cgroup, null);
      assert.equal(o.container, null);
      assert.equal('throttle' in o, false);
    }
  });
});
