/**
 * Trace input the user may not read (issue 18, item 8): a trace.dat file, a CTF directory, a CTF metadata or stream
 * file without read permission. Run as an unprivileged user (`setpriv`, as root can read anything): one sentence
 * naming the file and the reason, exit code 2 — never "internal error" and a stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BIN, isRoot } from './live.ts';

const TRACES = fileURLToPath(new URL('../../shared/traces/', import.meta.url));
const TRACE = join(TRACES, 'tracecmd-x86-vm/trace.dat');
const scratch = mkdtempSync(join(tmpdir(), 'lt-unreadable-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** `latency-tracker ARGS` as user nobody. */
function asNobody(...args: string[]) {
  return spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('unreadable trace input', { skip: !isRoot && 'needs root to drop privileges' }, () => {
  chmodSync(scratch, 0o755);
  // A trace.dat only root may read (its content does not matter: it cannot be opened).
  const dat = join(scratch, 'secret.dat');
  writeFileSync(dat, 'not readable\n');
  chmodSync(dat, 0o600);
  // A CTF directory nobody may search.
  const closedDir = join(scratch, 'closed');
  mkdirSync(closedDir, { mode: 0o700 });
  // A CTF trace whose metadata is readable and whose stream is not.
  const ctf = join(scratch, 'ctf');
  mkdirSync(ctf, { mode: 0o755 });
  copyFileSync(join(TRACES, 'lttng-scp-src/kernel/metadata'), join(ctf, 'metadata'));
  chmodSync(join(ctf, 'metadata'), 0o644);
  writeFileSync(join(ctf, 'channel0_0'), 'stream\n');
  chmodSync(join(ctf, 'channel0_0'), 0o600);
  // A CTF trace whose metadata is not readable.
  const noMeta = join(scratch, 'nometa');
  mkdirSync(noMeta, { mode: 0o755 });
  writeFileSync(join(noMeta, 'metadata'), '/* CTF 1.8 */\n');
  chmodSync(join(noMeta, 'metadata'), 0o600);

  const cases: [string[], string][] = [
    [['analyze', dat], dat],
    [['dump', dat], dat],
    [['compare', dat, TRACE], dat],
    [['compare', TRACE, dat], dat],
    [['analyze', closedDir], join(closedDir, 'metadata')],
    [['analyze', ctf], join(ctf, 'channel0_0')],
    [['dump', ctf], join(ctf, 'channel0_0')],
    [['analyze', noMeta], join(noMeta, 'metadata')],
    [['compare', noMeta, noMeta], join(noMeta, 'metadata')],
  ];
  for (const [args, file] of cases) {
    test(`${args.map((a) => a.replace(scratch, '').replace(TRACES, '')).join(' ')}: one sentence, exit 2`, () => {
      const r = asNobody(...args);
      assert.equal(r.status, 2, r.stderr);
      // "cannot open" when the file itself is refused, "cannot read" for what is inside a directory.
      assert.match(
        r.stderr,
        new RegExp(`^latency-tracker: cannot (open|read) ${escapeRe(file)}: permission denied\n$`),
      );
      assert.equal(r.stdout, '');
    });
  }
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
