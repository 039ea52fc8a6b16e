/**
 * `analyze`, `dump` and `list` where a new user trips (issue 17): a directory holding a trace.dat, text traces named
 * for what they are, `dump --live -e NAME` with a bare event name, `list` without root.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ANALYSES } from '../analyses/index.ts';

const BIN = fileURLToPath(new URL('../../bin/latency-tracker.js', import.meta.url));
const TRACES = fileURLToPath(new URL('../../../shared/traces/', import.meta.url));
const isRoot = process.getuid?.() === 0;

function run(args: string[], opts: { uid?: number } = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
}

describe('analyze and dump: what they are given', () => {
  test('a directory holding trace.dat is read as that trace.dat', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-dir-'));
    try {
      symlinkSync(join(TRACES, 'tracecmd-x86-vm/trace.dat'), join(dir, 'trace.dat'));
      const viaDir = run(['analyze', dir, 'block', '--json', '--summary', '-t', '1h']);
      assert.equal(viaDir.status, 0, viaDir.stderr);
      const viaFile = run([
        'analyze',
        join(TRACES, 'tracecmd-x86-vm/trace.dat'),
        'block',
        '--json',
        '--summary',
        '-t',
        '1h',
      ]);
      assert.equal(viaDir.stdout, viaFile.stdout);
      assert.match(viaDir.stdout, /"type":"summary","analysis":"block","group":null,"count":205,/);
      const dump = run(['dump', dir, '-n', '1']);
      assert.equal(dump.status, 0, dump.stderr);
      assert.equal(dump.stdout.split('\n').length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('text traces: one line saying what the file is and what to do, exit 2', () => {
    const cases: [string, RegExp][] = [
      ['ftrace-text-lisa/trace.txt', /is the text output of `trace-cmd report`/],
      ['ftrace-text-tc-incubator/trace-critical-path', /is ftrace text output/],
      ['systrace-trappy-surfaceflinger/trace_surfaceflinger.html', /is a systrace HTML report/],
    ];
    for (const [rel, re] of cases) {
      for (const cmd of ['analyze', 'dump']) {
        const r = run([cmd, join(TRACES, rel)]);
        assert.equal(r.status, 2, `${cmd} ${rel}: ${r.stderr}`);
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0], /^latency-tracker: /);
        assert.match(lines[0], re);
        assert.doesNotMatch(lines[0], /bad magic/);
      }
    }
  });
});

describe('dump --live', { skip: !isRoot && 'needs root' }, () => {
  test('-e with a bare event name, as the help says', () => {
    const r = run(['dump', '--live', '-e', 'sched_switch', '-n', '3', '-d', '5s']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    for (const l of lines) assert.match(l, / sched_switch: +prev_comm=/);
  });
  test('an unknown bare name: one line, exit 2', () => {
    const r = run(['dump', '--live', '-e', 'no_such_event_here']);
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /^latency-tracker: this kernel has no tracepoint named no_such_event_here$/);
  });
});

describe('list', () => {
  const check = (r: ReturnType<typeof run>) => {
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0], /^ANALYSIS +KERNEL +THRESHOLD$/);
    for (const a of ANALYSES) assert.match(r.stdout, new RegExp(`^${a.name} +\\? +\\S+$`, 'm'), a.name);
    assert.doesNotMatch(r.stdout, /^\S+ +no /m, 'never "no" when it cannot tell');
    assert.match(r.stderr, /^latency-tracker: cannot read .* \(run as root/);
  };
  test('tracefs unreadable: ? for every analysis, under a header row', () => {
    check(run(['list', '--tracefs', '/nonexistent']));
  });
  test('as an unprivileged user', { skip: !isRoot && 'needs root to switch user' }, () => {
    check(run(['list'], { uid: 65534 }));
    const j = run(['list', '--json'], { uid: 65534 });
    for (const l of j.stdout.trim().split('\n')) assert.equal(JSON.parse(l).available, null);
  });
  test('as root: yes or no per analysis', { skip: !isRoot && 'needs root' }, () => {
    const r = run(['list']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^syscall +yes +1s$/m);
  });
});
