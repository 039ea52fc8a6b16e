/**
 * `compare` inputs (issue 18, item 7): each side is told apart by its first bytes — a profile (JSON), a trace.dat
 * file, a CTF directory — before anything is read whole; traces are streamed, profiles capped. Endless devices and
 * 3 GB (sparse) files end in one line and exit 2, quickly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sniffInput } from './profiles.ts';

const BIN = fileURLToPath(new URL('../../bin/latency-tracker.js', import.meta.url));
const TRACE = fileURLToPath(new URL('../../../shared/traces/tracecmd-x86-vm/trace.dat', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'lt-compare-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A sparse file of `size` bytes starting with `head` (takes no disk space). */
function sparse(name: string, head: Buffer, size: number): string {
  const path = join(scratch, name);
  const fd = openSync(path, 'w');
  try {
    if (head.length > 0) writeSync(fd, head);
    writeSync(fd, Buffer.from([0]), 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
  return path;
}

function compare(a: string, b: string) {
  return spawnSync(process.execPath, [BIN, 'compare', a, b], { encoding: 'utf8', timeout: 60_000 });
}

describe('sniffInput', () => {
  test('trace.dat magic, JSON after white space, anything else', () => {
    assert.equal(sniffInput(Buffer.from('\x17\x08\x44tracing6\0', 'latin1')), 'trace.dat');
    assert.equal(sniffInput(Buffer.from(' \n\t{"format"')), 'profile');
    assert.equal(sniffInput(Buffer.from('\x17\x08\x44trac', 'latin1')), undefined);
    assert.equal(sniffInput(new Uint8Array(64)), undefined);
    assert.equal(sniffInput(Buffer.from('[1,2]')), undefined);
    assert.equal(sniffInput(Buffer.from('   ')), undefined);
  });
});

describe('compare: inputs that are not what they seem', () => {
  const GB3 = 3 * 1024 ** 3;
  const NEITHER = 'is neither a latency-tracker profile \\(JSON\\), a trace.dat file nor an LTTng CTF trace directory';
  const cases: [string, () => [string, string], RegExp][] = [
    ['/dev/zero as the baseline', () => ['/dev/zero', TRACE], new RegExp(`^latency-tracker: /dev/zero ${NEITHER}\n$`)],
    // Refused before the (valid) baseline trace is analyzed.
    [
      '/dev/zero as the current side',
      () => [TRACE, '/dev/zero'],
      new RegExp(`^latency-tracker: /dev/zero ${NEITHER}\n$`),
    ],
    ['/dev/urandom', () => ['/dev/urandom', TRACE], new RegExp(`^latency-tracker: /dev/urandom ${NEITHER}\n$`)],
    [
      'an empty input',
      () => ['/dev/null', TRACE],
      /^latency-tracker: \/dev\/null is empty: neither a profile nor a trace\n$/,
    ],
    ['3 GB of zeros', () => [sparse('zeros', Buffer.alloc(0), GB3), TRACE], new RegExp(`zeros ${NEITHER}\n$`)],
    [
      '3 GB that start like JSON: over the profile cap, not read',
      () => [sparse('json', Buffer.from('{"format":'), GB3), TRACE],
      /json is not a latency-tracker profile: over 64 MiB of JSON\n$/,
    ],
    [
      '3 GB that start like a trace.dat: streamed, its bad header one line',
      () => [sparse('dat', Buffer.from('\x17\x08\x44tracing6\0', 'latin1'), GB3), TRACE],
      /^latency-tracker: .*dat: offset \d+: .*\n$/,
    ],
  ];
  for (const [what, inputs, re] of cases) {
    test(`${what}: one line, exit 2`, () => {
      const [a, b] = inputs();
      const t0 = Date.now();
      const r = compare(a, b);
      assert.equal(r.status, 2, `${r.signal ?? ''} ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stdout, '');
      // Refused from its first bytes: well within the time reading gigabytes (or analyzing the other side) takes.
      assert.ok(Date.now() - t0 < 30_000);
    });
  }
});
