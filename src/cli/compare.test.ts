/**
 * `compare` as a user and a CI job meet it (issue 17): exit 1 on a significant regression like `diff` (0 otherwise,
 * always 0 with --no-fail), "not significant" for a change the test cannot tell from noise, and one warning, not
 * one row per group, when only one side has groups.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { logNormal, sample } from '../../test/synthetic.ts';
import { Histogram } from '../histogram/histogram.ts';
import { createProfile, profileToJSON } from '../histogram/profile.ts';

const BIN = fileURLToPath(new URL('../../bin/latency-tracker.js', import.meta.url));
const VM = fileURLToPath(new URL('../../../shared/traces/tracecmd-x86-vm/trace.dat', import.meta.url));

function run(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
}

/** A profile file of one analysis whose pairs are log-normal around `median` ns. */
function profileFile(dir: string, name: string, median: number, seed: number): string {
  const p = createProfile({ source: name });
  const h = new Histogram();
  for (const v of sample(logNormal(median, 0.5), 20_000, seed)) h.record(Math.round(v));
  p.analyses.set('syscall', { histogram: h, groupBy: null, groups: null });
  const path = join(dir, `${name}.json`);
  writeFileSync(path, profileToJSON(p));
  return path;
}

describe('compare: exit status like diff', () => {
  let dir: string;
  let base: string;
  let same: string;
  let slow: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lt-compare-'));
    base = profileFile(dir, 'base', 10_000, 1);
    same = profileFile(dir, 'same', 10_000, 2);
    slow = profileFile(dir, 'slow', 14_000, 3);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a significant regression: REGRESSED and exit 1, in text and in JSON', () => {
    const r = run('compare', base, slow);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /p50 .* REGRESSED$/m);
    assert.equal(r.stderr, '');
    const j = run('compare', base, slow, '--json');
    assert.equal(j.status, 1, j.stderr);
    assert.equal(JSON.parse(j.stdout).p50_ns.verdict, 'regressed');
  });
  test('--no-fail: the same report, exit 0', () => {
    const r = run('compare', base, slow, '--no-fail');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /REGRESSED/);
  });
  test('no significant change, or an improvement: exit 0, and the words say "not significant"', () => {
    const r = run('compare', base, same);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /p50 .* not significant$/m);
    assert.doesNotMatch(r.stdout, /no change/);
    const better = run('compare', slow, base);
    assert.equal(better.status, 0, better.stderr);
    assert.match(better.stdout, /p50 .* improved$/m);
  });
});

describe('compare: groups on one side only', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lt-compare-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('one warning naming the analyses, totals compared, no row per group', () => {
    const plain = join(dir, 'plain.json');
    const grouped = join(dir, 'grouped.json');
    assert.equal(run('analyze', VM, '-t', '1h', '--profile-out', plain).status, 0);
    assert.equal(run('analyze', VM, '-t', '1h', '--group-by', 'comm', '--profile-out', grouped).status, 0);
    const r = run('compare', plain, grouped);
    assert.equal(r.status, 0, r.stderr);
    const warnings = r.stderr.trim().split('\n');
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(
      warnings[0],
      /^latency-tracker: the baseline has no groups and the current has groups by comm \(syscall, /,
    );
    assert.match(warnings[0], /only the totals are compared$/);
    assert.doesNotMatch(r.stdout, /\[comm=/);
    assert.equal((r.stdout.match(/^ {2}count /gm) ?? []).length, 9, 'one row per analysis');
  });
});
