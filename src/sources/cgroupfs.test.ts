/**
 * The cgroup file readers: the parsers on the kernel's own text (captured from this machine's 6.18 kernel and from
 * cgroup-v2.rst's examples), and `Cgroupfs` on fixture trees laid out like the three kinds of hosts (pure v2,
 * hybrid, v1 only) with a fixture procfs, as node_exporter tests its collectors (every root is an option).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { resolvePaths } from '../paths.ts';
import {
  Cgroupfs,
  parseCpuStat,
  parsePressureSome10,
  parseProcCgroup,
  parseQuota,
  safeCgroupPath,
} from './cgroupfs.ts';

const scratch = mkdtempSync(join(tmpdir(), 'lt-cgroupfs-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(scratch, 't-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

/** /proc/<pid>/cgroup of this machine (hybrid: v1 controllers plus `0::`). */
const HYBRID_PROC = `9:name=systemd:/
8:pids:/
4:memory:/process_api/348c96a7de1563854ca566c7f7775392
2:cpuacct:/
1:cpu:/lt/quota
0::/system.slice/mariadb.service
`;
const PROC_CGROUPS = `#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t1\t1
cpu\t1\t1\t1
cpuacct\t2\t1\t1
`;
/** cpu.stat of a v2 group with the cpu controller (Documentation/admin-guide/cgroup-v2.rst, CPU Interface Files). */
const V2_CPU_STAT = `usage_usec 1265413
user_usec 1043000
system_usec 222413
nr_periods 120
nr_throttled 37
throttled_usec 3021000
nr_bursts 0
burst_usec 0
`;
/** cpu.stat of a v1 cpu group, as this kernel prints it. */
const V1_CPU_STAT = `nr_periods 120
nr_throttled 37
throttled_time 3021000123
nr_bursts 0
burst_time 0
`;
const PSI = `some avg10=46.45 avg60=67.60 avg300=57.72 total=475950154
full avg10=0.00 avg60=0.00 avg300=0.00 total=0
`;

describe('parsers', () => {
  test('/proc/PID/cgroup: hierarchies, controllers, paths (also with colons in the path)', () => {
    const l = parseProcCgroup(`${HYBRID_PROC}5:devices:/a:b:c\ngarbage\n:x:/y\n`);
    assert.deepEqual(l[0], { hierarchy: 9, controllers: ['name=systemd'], path: '/' });
    assert.deepEqual(l[4], { hierarchy: 1, controllers: ['cpu'], path: '/lt/quota' });
    assert.deepEqual(l[5], { hierarchy: 0, controllers: [], path: '/system.slice/mariadb.service' });
    assert.deepEqual(l[6], { hierarchy: 5, controllers: ['devices'], path: '/a:b:c' });
    assert.equal(l.length, 7);
  });
  test('cpu.stat: v2 in µs, v1 in ns; a group without the cpu controller has no throttling', () => {
    assert.deepEqual(parseCpuStat(V2_CPU_STAT), { nr: 37, ns: 3_021_000_000 });
    assert.deepEqual(parseCpuStat(V1_CPU_STAT), { nr: 37, ns: 3_021_000_123 });
    assert.equal(parseCpuStat('usage_usec 5\nuser_usec 3\nsystem_usec 2\n'), undefined);
  });
  test('pressure: some avg10', () => {
    assert.equal(parsePressureSome10(PSI), 46.45);
    assert.equal(parsePressureSome10('full avg10=1.00 avg60=0 avg300=0 total=0\n'), undefined);
  });
  test('quota: v2 cpu.max, v1 cfs_quota_us', () => {
    assert.equal(parseQuota('max 100000\n', true), false);
    assert.equal(parseQuota('10000 100000\n', true), true);
    assert.equal(parseQuota('-1\n', false), false);
    assert.equal(parseQuota('10000\n', false), true);
  });
  test('paths joined under a root: absolute, no dot components', () => {
    assert.ok(safeCgroupPath('/system.slice/a.service'));
    assert.ok(!safeCgroupPath('/system.slice/../../etc'));
    assert.ok(!safeCgroupPath('relative'));
    assert.ok(!safeCgroupPath('/a\0b'));
  });
});

describe('Cgroupfs on fixture trees', () => {
  test('hybrid: cgroup from 0::, throttling from the v1 cpu hierarchy, pressure from v2', () => {
    const proc = tree({ '42/cgroup': HYBRID_PROC, cgroups: PROC_CGROUPS });
    const cg = tree({
      'unified/cgroup.controllers': 'hugetlb\n',
      'unified/system.slice/mariadb.service/cpu.pressure': PSI,
      'unified/system.slice/mariadb.service/io.pressure': PSI.replace('46.45', '1.50'),
      'cpu/cpu.cfs_quota_us': '-1\n',
      'cpu/lt/cpu.cfs_quota_us': '-1\n',
      'cpu/lt/quota/cpu.cfs_quota_us': '10000\n',
      'cpu/lt/quota/cpu.stat': V1_CPU_STAT,
    });
    let now = 5;
    const c = Cgroupfs.open(resolvePaths({ procfs: proc, cgroupfs: cg }), { now: () => now }) as Cgroupfs;
    assert.equal(c.mode, 'hybrid');
    assert.equal(c.pathHierarchy, 0);
    assert.equal(c.cpuHierarchy, 1);
    assert.deepEqual(c.resolve(42), { path: '/system.slice/mariadb.service', cpuPath: '/lt/quota' });
    assert.equal(c.resolve(43), undefined);
    assert.equal(c.hasQuota('/lt/quota'), true);
    assert.equal(c.hasQuota('/lt'), false);
    now = 7;
    assert.deepEqual(c.throttle('/lt/quota'), { t: 7, nr: 37, ns: 3_021_000_123 });
    assert.deepEqual(c.pressure('/system.slice/mariadb.service'), { cpu: 46.45, io: 1.5, memory: null });
    assert.equal(c.pressure('/nope'), undefined);
    assert.equal(c.throttle('/../../etc'), undefined);
  });

  test('pure v2 with the cpu controller: one hierarchy for both', () => {
    const proc = tree({ '7/cgroup': '0::/kubepods.slice/x.scope\n', cgroups: PROC_CGROUPS });
    const cg = tree({
      'cgroup.controllers': 'cpuset cpu io memory pids\n',
      'kubepods.slice/cpu.max': '200000 100000\n',
      'kubepods.slice/x.scope/cpu.max': 'max 100000\n',
      'kubepods.slice/x.scope/cpu.stat': V2_CPU_STAT,
    });
    const c = Cgroupfs.open(resolvePaths({ procfs: proc, cgroupfs: cg }), { now: () => 1 }) as Cgroupfs;
    assert.equal(c.mode, 'v2');
    assert.equal(c.cpuHierarchy, 0);
    assert.deepEqual(c.resolve(7), { path: '/kubepods.slice/x.scope', cpuPath: '/kubepods.slice/x.scope' });
    assert.equal(c.hasQuota('/kubepods.slice/x.scope'), false);
    assert.equal(c.hasQuota('/kubepods.slice'), true);
    assert.deepEqual(c.throttle('/kubepods.slice/x.scope'), { t: 1, nr: 37, ns: 3_021_000_000 });
  });

  test('v1 only (cpu co-mounted with cpuacct): the cgroup is the cpu path; no pressure', () => {
    const proc = tree({
      '9/cgroup': '3:cpuacct,cpu:/docker/34048520ee4d\n1:name=systemd:/docker/34048520ee4d\n',
      cgroups: 'cpu\t3\t4\t1\ncpuacct\t3\t4\t1\n',
    });
    const cg = tree({ 'cpu,cpuacct/cpu.cfs_quota_us': '-1\n' });
    const c = Cgroupfs.open(resolvePaths({ procfs: proc, cgroupfs: cg })) as Cgroupfs;
    assert.equal(c.mode, 'v1');
    assert.equal(c.pathHierarchy, 3);
    assert.deepEqual(c.resolve(9), { path: '/docker/34048520ee4d', cpuPath: '/docker/34048520ee4d' });
    assert.equal(c.pressure('/docker/34048520ee4d'), undefined);
  });

  test('no hierarchy at all: no reader (every cgroup is null)', () => {
    assert.equal(Cgroupfs.open(resolvePaths({ procfs: tree({}), cgroupfs: tree({ 'x/y': '' }) })), undefined);
  });
});
