/**
 * The command's text habits (issue 17), on the built bin: every outlier field is one `key=value` token, settings
 * are printed in the form `--threshold` takes, a cut name shows an ellipsis, errors start `latency-tracker:` and
 * say what an operating-system error means instead of its code, "(1 CPU)", CTF pointers in hex.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ANALYSES } from '../analyses/index.ts';
import { parseDuration } from './duration.ts';

const BIN = fileURLToPath(new URL('../../bin/latency-tracker.js', import.meta.url));
const TRACES = fileURLToPath(new URL('../../../shared/traces/', import.meta.url));
const VM = join(TRACES, 'tracecmd-x86-vm/trace.dat');

function run(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

describe('outlier lines', () => {
  test('every field after the name is one key=value token without spaces', () => {
    const r = run('analyze', VM, 'syscall', 'offcpu', 'wakeup', '-t', '20ms', '--timeout', 'syscall=1s');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => /^[a-z-]+_(latency|timeout): /.test(l));
    assert.ok(lines.length > 10, r.stdout.slice(0, 500));
    assert.ok(
      lines.some((l) => l.includes('_timeout: ')),
      'timeouts too',
    );
    // logfmt-style: `key=value` tokens joined by ', '; a value with a space or comma is a quoted JSON string.
    const token = /([a-z_]+)=("(?:[^"\\]|\\.)*"|[^\s,"]+)(, |$)/y;
    for (const l of lines) {
      const rest = l.slice(l.indexOf(': ') + 2);
      token.lastIndex = 0;
      let end = 0;
      for (let m = token.exec(rest); m !== null && m[0] !== ''; m = token.exec(rest)) end = token.lastIndex;
      assert.equal(end, rest.length, `unparsed from column ${end}: ${l}`);
    }
    assert.ok(lines.some((l) => /, latency=\d+\.\d{3}(ns|us|ms|s),/.test(l)));
  });
});

describe('settings are printed as --threshold takes them', () => {
  test('list: each default threshold parses back to itself', () => {
    const r = run('list', '--tracefs', '/nonexistent');
    assert.equal(r.status, 0, r.stderr);
    for (const a of ANALYSES) {
      const m = new RegExp(`^${a.name} +\\S+ +(\\S+)$`, 'm').exec(r.stdout);
      assert.ok(m !== null, `${a.name} in ${r.stdout}`);
      assert.equal(parseDuration(m[1]), a.defaultThreshold, m[0]);
    }
  });
  test('summary: -t 1500us is shown as threshold 1.5ms, -t 1h as 1h', () => {
    const r = run('analyze', VM, 'syscall', 'block', '-t', 'syscall=1500us', '-t', 'block=1h', '--summary');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^syscall: \d+ pairs, threshold 1\.5ms:/m);
    assert.match(r.stdout, /^block: \d+ pairs, threshold 1h:/m);
  });
});

describe('group names', () => {
  test('a name longer than its column is cut with an ellipsis', () => {
    const r = run('analyze', VM, 'syscall', '-t', '1h', '--summary', '--group-by', 'comm');
    assert.equal(r.status, 0, r.stderr);
    // record_fixture. (15 characters) in a 12-character column.
    assert.match(r.stdout, /^ {2}record_fixt… +\d+ /m);
    assert.doesNotMatch(r.stdout, /^ {2}record_fixtu +\d/m);
  });
});

describe('errors', () => {
  test('usage errors from the option parser start with latency-tracker:, like every other error', () => {
    for (const args of [['--bogus'], ['analyze'], ['list', 'extra', 'args'], ['analyze', VM, '--group-by', 'x']]) {
      const r = run(...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /^latency-tracker: /, r.stderr);
      assert.doesNotMatch(r.stderr, /^error:/m);
    }
  });
  test('operating-system errors say what they mean, not their code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lt-out-'));
    try {
      const cases: [string[], RegExp][] = [
        [['analyze', '/nonexistent/trace.dat'], /: no such file or directory$/],
        [['compare', '/nonexistent/a.json', '/nonexistent/b.json'], /: no such file or directory$/],
        [['analyze', VM, 'block', '--profile-out', join(dir, 'no/such/dir/p.json')], /no such file or directory$/],
      ];
      for (const [args, re] of cases) {
        const r = run(...args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        const line = r.stderr.trim();
        assert.equal(line.split('\n').length, 1, line);
        assert.match(line, /^latency-tracker: /);
        assert.match(line, re);
        assert.doesNotMatch(line, /\bE[A-Z]{3,}\b/, 'no errno code');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sources', () => {
  test('a one-CPU trace says (1 CPU)', () => {
    const r = run('analyze', join(TRACES, 'lttng-scp-src'), 'wakeup', '-t', '1h');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Analyzing .*lttng-scp-src \(1 CPU\): wakeup\.$/m);
    const two = run('analyze', VM, 'block', '-t', '1h');
    assert.match(two.stdout, /\(2 CPUs\)/);
  });
  test('CTF dump prints the fields the metadata marks base 16 (pointers) in hex, like babeltrace', () => {
    const r = run('dump', join(TRACES, 'lttng-arm-bug446190'), '-n', '2');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /lttng:kmem_kmalloc: call_site=0xbf083a6c ptr=0xcdeb5c00 bytes_req=712 bytes_alloc=1024/);
    assert.match(r.stdout, /lttng:kmem_kfree: call_site=0xbf083b00 ptr=0xcdeb5c00$/m);
  });
});

describe('bcc/perf habits on a trace', () => {
  test('--folded: only folded lines on stdout, adding up to the outliers they fold', () => {
    const f = run('analyze', VM, 'offcpu', '--folded', '-t', '10ms');
    assert.equal(f.status, 0, f.stderr);
    assert.match(f.stderr, /^Analyzing /, 'the header on stderr');
    const lines = f.stdout.trim().split('\n');
    assert.ok(lines.length > 3);
    let folded = 0;
    for (const l of lines) {
      assert.match(l, /^offcpu;[^; ]+(;[^; ]+)* \d+$/, l);
      folded += Number(l.split(' ').pop());
    }
    assert.ok(
      lines.some((l) => /;schedule;__schedule \d+$/.test(l)),
      'stacks, outermost first',
    );
    const j = run('analyze', VM, 'offcpu', '--json', '-t', '10ms');
    const us = j.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .reduce((a, o) => a + o.latency_ns / 1000, 0);
    assert.ok(Math.abs(folded - us) <= lines.length, `folded ${folded} us, outliers ${us} us`);
  });
  test('-C: the pairs of each CPU add up to all pairs', () => {
    const count = (...cpu: string[]) => {
      const r = run('analyze', VM, 'syscall', '-t', '1h', '--json', '--summary', ...cpu);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim()).count as number;
    };
    const c0 = count('-C', '0');
    const c1 = count('-C', '1');
    assert.ok(c0 > 0 && c1 > 0);
    assert.equal(c0 + c1, count());
    assert.equal(count('-C', '0-1'), count());
    const bad = run('analyze', VM, '-C', 'x');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^latency-tracker: --cpu: 'x' is not a CPU number/);
  });
  test('-m: the summary histogram in milliseconds', () => {
    const r = run('analyze', VM, 'syscall', '-t', '1h', '--summary', '-m');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ +msecs +: count +distribution$/m);
    assert.match(r.stdout, /^ +2048 -> 4095 +: 3 /m, 'the two 3 s sleeps and the 2.9 s wait4');
  });
  test('-T and unix: LTTng traces carry the wall clock, trace.dat files do not (one line, exit 2)', () => {
    const ctf = join(TRACES, 'lttng-many-threads');
    const t = run('analyze', ctf, 'syscall', '-T', '-t', '60ms');
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^syscall_latency: time=\d\d:\d\d:22\.798393, comm=xchat, tid=856, /m);
    const j = run('analyze', ctf, 'syscall', '--json', '-t', '60ms');
    assert.equal(JSON.parse(j.stdout.split('\n')[0]).unix, 1457113582.798393);
    const dat = run('analyze', VM, 'syscall', '-T');
    assert.equal(dat.status, 2);
    assert.match(dat.stderr.trim(), /^latency-tracker: -T: this tracedat trace has no wall-clock reference/);
    assert.equal(JSON.parse(run('analyze', VM, 'syscall', '-t', '1s', '--json').stdout.split('\n')[0]).unix, undefined);
  });
});
