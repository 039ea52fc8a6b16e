// Runs every test file (`*.test.ts` beside its module, and `test/**/*.test.ts`) with Node's test runner via tsx,
// one file at a time, each in its own process group with a wall-clock timeout:
//
// - a file that does not finish in time (a hung test, a handle left open) is killed with everything it started,
//   reported as a timeout, and the run goes on: one bad file can never hang CI;
// - processes a file started and left behind (same process group) are killed when the file ends, and the file
//   fails: nothing a test starts may outlive it.
//
// The timeout is 180 s per file, or what the file says in a `// test-timeout: 600s` line near its top.
// Usage: node scripts/run-tests.mjs [SUBSTRING...]   (only the files whose path contains one of them)
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const DEFAULT_TIMEOUT_S = 180;

function walk(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** The file's own timeout (`// test-timeout: 600s` in its first 40 lines), in seconds. */
function timeoutOf(file) {
  const head = readFileSync(file, 'utf8').split('\n', 40).join('\n');
  const m = /^\/\/ test-timeout: (\d+)s$/m.exec(head);
  return m === null ? DEFAULT_TIMEOUT_S : Number(m[1]);
}

/** Live processes still in process group `pgid` (from `ps`; zombies are already dead), other than ourselves. */
function groupMembers(pgid) {
  const r = spawnSync('ps', ['-e', '-o', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  const out = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (m === null || Number(m[2]) !== pgid || Number(m[1]) === process.pid || m[3].startsWith('Z')) continue;
    out.push(`${m[1]} ${m[4]}`);
  }
  return out;
}

function killGroup(pgid) {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs one file; resolves with { ok, why }. */
function runFile(file) {
  const limit = timeoutOf(file);
  const args = ['--expose-gc', '--import', 'tsx', '--test', '--test-reporter=spec', file];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, limit * 1000);
    const stopOnSignal = () => killGroup(child.pid);
    process.once('SIGINT', stopOnSignal);
    process.once('SIGTERM', stopOnSignal);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', stopOnSignal);
      process.off('SIGTERM', stopOnSignal);
      const left = groupMembers(child.pid);
      if (left.length > 0) killGroup(child.pid);
      if (timedOut) resolve({ ok: false, why: `killed after its ${limit} s timeout` });
      else if (left.length > 0) resolve({ ok: false, why: `left processes running: ${left.join('; ')}` });
      else if (code !== 0) resolve({ ok: false, why: `exit ${code ?? signal}` });
      else resolve({ ok: true, why: '' });
    });
  });
}

const filter = process.argv.slice(2);
let files = [...walk('src', []), ...walk('test', [])].sort();
if (filter.length > 0) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
const failed = [];
const t0 = Date.now();
for (const f of files) {
  const started = Date.now();
  const r = await runFile(f);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.ok) console.log(`run-tests: ok ${f} (${secs} s)`);
  else {
    console.log(`run-tests: FAILED ${f} (${secs} s): ${r.why}`);
    failed.push(`${f}: ${r.why}`);
  }
}
const total = ((Date.now() - t0) / 1000).toFixed(0);
if (failed.length > 0) {
  console.log(`\nrun-tests: ${failed.length} of ${files.length} files failed in ${total} s:`);
  for (const f of failed) console.log(`  ${f}`);
  process.exit(1);
}
console.log(`\nrun-tests: all ${files.length} files passed in ${total} s`);
