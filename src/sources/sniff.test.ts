/**
 * Files that are not traces we read are named for what they are (issue 17): the text trace samples of the shared
 * folder (ftrace `trace` text, `trace-cmd report` output, systrace HTML), compressed files, CTF pieces. A real
 * trace.dat is left to its reader.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeNonTrace } from './sniff.ts';

const TRACES = fileURLToPath(new URL('../../../shared/traces/', import.meta.url));

function head(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(TRACES + rel).subarray(0, 64 * 1024));
}

test('text traces: what each one is, and what to do instead', () => {
  const cases: [string, RegExp][] = [
    ['ftrace-text-lisa/trace.txt', /is the text output of `trace-cmd report`: give the trace\.dat file it was made/],
    ['ftrace-text-tc-incubator/trace-critical-path', /is ftrace text output \(a copy of tracefs' trace file\)/],
    ['ftrace-text-tc-incubator/trace-android-sched-irq', /is ftrace text output/],
    ['ftrace-text-tc-incubator/trace-android-sched-irq-syscall', /is ftrace text output/],
    // No header, flags column: still the tracefs text.
    ['ftrace-text-tc-incubator/ftrace_syscalls.txt', /is ftrace text output/],
    [
      'systrace-trappy-surfaceflinger/trace_surfaceflinger.html',
      /is a systrace HTML report \(ftrace text inside HTML\)/,
    ],
  ];
  for (const [rel, re] of cases) {
    const what = describeNonTrace(rel, head(rel));
    assert.ok(what !== undefined, rel);
    assert.match(what, re, rel);
    if (!rel.endsWith('trace.txt')) assert.match(what, /trace-cmd record -e EVENT .*latency-tracker live/, rel);
  }
});

test('compressed files and CTF pieces', () => {
  assert.match(describeNonTrace('r.xz', head('tracecmd-x86-vm/report-raw.txt.xz')) ?? '', /xz-compressed/);
  assert.match(describeNonTrace('m', head('lttng-many-threads/kernel/metadata')) ?? '', /metadata file of a CTF/);
  assert.match(describeNonTrace('c', head('lttng-many-threads/kernel/channel0_0')) ?? '', /one stream file of a CTF/);
  assert.match(describeNonTrace('e', new Uint8Array(0)) ?? '', /is empty/);
});

test('a trace.dat, and a file we know nothing about, are left to the trace.dat reader', () => {
  assert.equal(describeNonTrace('t', head('tracecmd-x86-vm/trace.dat')), undefined);
  assert.equal(describeNonTrace('t', head('tracecmd-x86-vm/trace-v6.dat')), undefined);
  assert.equal(describeNonTrace('h', new TextEncoder().encode('hello\nworld\n')), undefined);
});
