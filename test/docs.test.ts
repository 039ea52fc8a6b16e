/**
 * The README and docs/ stand on their own and their examples are real (issue 17): no reference to files outside the
 * repository or to design notes and issues a reader does not have; every example runs the tool the one way the
 * README says (`npx latency-tracker`, from the clone); and every example that reads the shipped example traces
 * prints what the page shows when run from a fresh clone (`...` lines stand for any number of lines).
 */
// test-timeout: 300s
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PAGES = [
  'README.md',
  'examples/README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Example {
  page: string;
  line: number;
  command: string;
  expected: string[];
}

/** Fenced code blocks of a page, with the line each starts on. */
function blocks(text: string): { line: number; lines: string[] }[] {
  const out: { line: number; lines: string[] }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('```')) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !lines[j].startsWith('```')) j++;
    out.push({ line: start + 1, lines: lines.slice(start, j) });
    i = j;
  }
  return out;
}

/** `$ ` commands of a block with the output lines under each (up to the next prompt). */
function examples(page: string): Example[] {
  const out: Example[] = [];
  for (const b of blocks(readFileSync(join(ROOT, page), 'utf8'))) {
    let cur: Example | undefined;
    b.lines.forEach((l, k) => {
      if (l.startsWith('$ ') || l.startsWith('# ')) {
        cur = l.startsWith('$ ') ? { page, line: b.line + k, command: l.slice(2), expected: [] } : undefined;
        if (cur !== undefined) out.push(cur);
      } else cur?.expected.push(l);
    });
  }
  return out;
}

/** Whether `actual` lines are `expected`, where a `...` line in `expected` stands for any number of lines. */
function matches(expected: string[], actual: string[]): string | undefined {
  let a = 0;
  let loose = false;
  for (const e of expected) {
    if (e === '...') {
      loose = true;
      continue;
    }
    let found = -1;
    if (loose) {
      for (let k = a; k < actual.length; k++) {
        if (actual[k] === e) {
          found = k;
          break;
        }
      }
    } else if (actual[a] === e) found = a;
    if (found < 0)
      return `expected ${JSON.stringify(e)} at or after output line ${a + 1} (${JSON.stringify(actual[a])})`;
    a = found + 1;
    loose = false;
  }
  if (!loose && a < actual.length) return `unexpected output line ${a + 1}: ${JSON.stringify(actual[a])}`;
  return undefined;
}

describe('README and docs', () => {
  test('no reference to what a reader of the repository does not have', () => {
    for (const page of PAGES) {
      const text = readFileSync(join(ROOT, page), 'utf8');
      for (const [re, what] of [
        [/\.\.\/shared|shared\/traces|shared\/notes/, 'files outside the repository'],
        [/DESIGN §|DESIGN\.md/, 'the design notes'],
        [/\b[Ii]ssue \d+/, 'an issue number'],
      ] as [RegExp, string][]) {
        const m = re.exec(text);
        assert.equal(
          m,
          null,
          `${page} refers to ${what}: ${m?.[0]} (line ${text.slice(0, m?.index).split('\n').length})`,
        );
      }
    }
  });

  test('every example runs the tool as npx latency-tracker', () => {
    for (const page of PAGES) {
      for (const b of blocks(readFileSync(join(ROOT, page), 'utf8'))) {
        b.lines.forEach((l, k) => {
          // Prompt lines, and shell lines in sh blocks, that invoke the tool; synopsis blocks list its subcommands.
          if (
            /^(\$|#) (sudo )?latency-tracker\b/.test(l) ||
            /^(sudo )?latency-tracker (live|analyze|dump|compare|serve|query|list) .*#/.test(l)
          ) {
            assert.fail(`${page}:${b.line + k}: run it as npx latency-tracker: ${l}`);
          }
        });
      }
    }
  });

  test('npx latency-tracker runs this checkout (from its root and from below it), fetching nothing', () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    for (const cwd of [ROOT, join(ROOT, 'examples')]) {
      // --no-install: npm must find the package here; it may never fetch one from the registry.
      const r = spawnSync('npx', ['--no-install', 'latency-tracker', '--version'], { cwd, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), version);
      const l = spawnSync('npx', ['--no-install', 'latency-tracker', 'list', '--tracefs', '/nonexistent'], {
        cwd,
        encoding: 'utf8',
      });
      assert.match(l.stdout, /^ANALYSIS +KERNEL +THRESHOLD\n/, "this checkout's build, not another copy");
    }
  });

  const all = PAGES.flatMap(examples).filter(
    (e) => /^npx latency-tracker .*\bexamples\//.test(e.command) || e.command === 'echo $?',
  );
  test('the examples that read the shipped traces print what the page shows', () => {
    assert.ok(all.filter((e) => e.command !== 'echo $?').length >= 6, `${all.length} examples`);
    let last = 0;
    for (const e of all) {
      if (e.command === 'echo $?') {
        assert.deepEqual(e.expected, [String(last)], `${e.page}:${e.line}: exit status`);
        continue;
      }
      const shell = e.command.replace(
        /^npx latency-tracker/,
        `${JSON.stringify(process.execPath)} bin/latency-tracker.js`,
      );
      const r = spawnSync('sh', ['-c', `${shell} 2>&1`], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
      last = r.status ?? -1;
      const actual = r.stdout.replace(/\n$/, '').split('\n');
      const expected = e.expected.filter((l, i, a) => !(l === '' && i === a.length - 1));
      const why = matches(expected, actual);
      assert.equal(
        why,
        undefined,
        `${e.page}:${e.line}: ${e.command}\n${why}\n--- actual:\n${actual.slice(0, 40).join('\n')}`,
      );
    }
  });
});
