import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/latency-tracker.js', import.meta.url));

function run(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
}

describe('latency-tracker (built bin)', () => {
  test('--help exits 0 and names the tool', () => {
    const r = run('--help');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: latency-tracker/);
  });
  test('--version prints the package version', () => {
    const r = run('--version');
    assert.equal(r.status, 0);
    assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
  });
  test('an unknown option is a one-line error with exit code 2', () => {
    const r = run('--bogus');
    assert.equal(r.status, 2);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /unknown option '--bogus'/);
    assert.equal(r.stdout, '');
  });
});

describe('bad arguments: one line naming the bad value, exit code 2', () => {
  const TRACE = fileURLToPath(new URL('../../../shared/traces/tracecmd-x86-vm/trace.dat', import.meta.url));
  const cases: [string[], RegExp][] = [
    [['analyze', TRACE, 'nosuch'], /unknown analysis 'nosuch'/],
    [['analyze', TRACE, '-t', 'syscall=5 fortnights'], /--threshold: '5 fortnights'/],
    [['analyze', TRACE, '-t', 'bogus=5ms'], /--threshold: unknown analysis 'bogus'/],
    [['analyze', TRACE, '-t', '-5ms'], /--threshold: '-5ms' is not a duration/],
    [['analyze', TRACE, '--timeout', 'syscall=abc'], /--timeout: 'abc' is not a duration/],
    [['analyze', TRACE, '-p', '12x'], /--pid: '12x' is not a process id/],
    [['analyze', TRACE, '-c', 'a"b'], /--comm: 'a"b' is not a process name/],
    [['analyze', TRACE, '--group-by', 'color'], /--group-by.*color/],
    [['analyze', '/nonexistent/trace.dat'], /cannot open \/nonexistent\/trace.dat: no such file or directory$/],
    [['analyze', '/etc/hostname'], /hostname.*(not a trace|magic|trace-cmd)/i],
    [['analyze'], /missing required argument 'FILE'/],
    [['live', '-d', '0s'], /--duration: must be more than 0/],
    [['live', '-d', 'soon'], /--duration: 'soon' is not a duration/],
    [['live', 'nosuch'], /unknown analysis 'nosuch'/],
    [['dump', TRACE, '-n', '-3'], /--count: '-3' is not a positive integer/],
    [['dump', TRACE, '-e', 'sched/../x'], /--event: bad event name/],
    [['dump'], /dump needs a FILE/],
    [['--bogus'], /unknown option '--bogus'/],
  ];
  for (const [args, re] of cases) {
    test(args.join(' ').replace(TRACE, 'trace.dat'), () => {
      const r = run(...args);
      assert.equal(r.status, 2, `exit code (stderr: ${r.stderr})`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], re);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  }
});

describe('analyze --json', () => {
  test('every line parses, type first, exact integers', () => {
    const TRACE = fileURLToPath(new URL('../../../shared/traces/tracecmd-x86-vm/trace.dat', import.meta.url));
    const r = run('analyze', TRACE, '--json', '--summary', '--stacks', '-t', '100ms', '--group-by', 'comm');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.length > 20);
    let latency = 0;
    let withStack = 0;
    for (const l of lines) {
      const o = JSON.parse(l);
      assert.equal(Object.keys(o)[0], 'type');
      if (o.type === 'latency') {
        latency++;
        assert.ok(Number.isInteger(o.latency_ns) && o.latency_ns > 100_000_000);
        assert.match(l, /"start_ns":\d+,"end_ns":\d+,/);
        if (Array.isArray(o.stack)) withStack++;
      } else assert.equal(o.type, 'summary');
    }
    assert.ok(latency > 0);
    assert.ok(withStack > 0, 'stacks from the kernel_stack records of the trace');
    assert.ok(
      lines.some((l) => /"type":"summary","analysis":"syscall","group":"npm"/.test(l)),
      'grouped summaries',
    );
  });
});

describe('profiles: --profile-out and compare', () => {
  const DIR = fileURLToPath(new URL('../../../shared/traces/tracecmd-x86-vm/', import.meta.url));
  test('a saved profile compares with the trace it came from (v6 copy): same counts, nothing significant', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lt-prof-')), 'p.json');
    const r = run('analyze', `${DIR}trace.dat`, '-t', '1h', '--profile-out', out);
    assert.equal(r.status, 0, r.stderr);
    const p = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(p.format, 'latency-tracker-profile');
    const c = run('compare', out, `${DIR}trace-v6.dat`, '--json');
    assert.equal(c.status, 0, c.stderr);
    const rows = c.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(rows.length, 9);
    for (const row of rows) {
      assert.equal(row.type, 'compare');
      assert.equal(row.count.a, row.count.b, row.analysis);
      for (const q of ['p50_ns', 'p90_ns', 'p99_ns', 'p999_ns']) assert.equal(row[q].verdict, 'no significant change');
    }
    const t = run('compare', out, `${DIR}trace.dat`, '-a', 'syscall');
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^baseline: .*p\.json/m);
    assert.match(t.stdout, /^syscall\n/m);
    assert.match(t.stdout, /p99 .* not significant/);
  });
  test('compare of something that is neither a profile nor a trace: one line, exit 2', () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'lt-prof-')), 'bad.json');
    writeFileSync(bad, '{"format": "something else"}');
    const r = run('compare', bad, bad);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /is not a latency-tracker profile/);
  });
});
