/**
 * The layers of src/ (the README's Layout): a folder imports only from folders above it —
 * paths.ts, tracker, histogram, ftrace, sources, analyses, sinks, server, cli — never from one below. Tests are
 * exempt (a test may drive its module through a lower layer).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const ORDER = [
  'paths.ts',
  'index.ts',
  'tracker',
  'histogram',
  'ftrace',
  'sources',
  'analyses',
  'sinks',
  'server',
  'cli',
];

function layerOf(file: string): number {
  const top = relative(SRC, file).split('/')[0];
  // The package's root index re-exports the public API: it may import anything.
  if (top === 'index.ts') return ORDER.length;
  return ORDER.indexOf(top);
}

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

test('no src/ module imports from a layer below its own', () => {
  const bad: string[] = [];
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bfrom\s+'(\.[^']+)'/g)) {
      const target = resolve(dirname(file), m[1]);
      if (layerOf(target) > layerOf(file)) bad.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(bad, []);
});
