/**
 * Small system helpers for the overhead experiment: Debian packages, process CPU from procfs, tracefs instance
 * counters, child processes that are always stopped.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class BenchError extends Error {}

/** Clock ticks per second of the `utime`/`stime` fields in /proc/PID/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system) a process used so far, or NaN when it is gone. */
export function procCpuSeconds(procfs: string, pid: number): number {
  let text: string;
  try {
    text = readFileSync(join(procfs, String(pid), 'stat'), 'utf8');
  } catch {
    return Number.NaN;
  }
  // Fields after the comm, which may contain spaces and parentheses: 3 = state ... 14 = utime, 15 = stime.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / USER_HZ;
}

/** CPU seconds of this process's waited-for children (`cutime + cstime` of /proc/self/stat). */
export function childrenCpuSeconds(procfs: string): number {
  const text = readFileSync(join(procfs, 'self', 'stat'), 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / USER_HZ;
}

/** Busy CPU seconds of the whole machine (all CPUs; everything but idle and iowait) from /proc/stat. */
export function machineBusySeconds(procfs: string): number {
  const line = readFileSync(join(procfs, 'stat'), 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
  return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / USER_HZ;
}

/** Ring-buffer counters summed over the CPUs of a tracefs instance (`per_cpu/cpuN/stats`). */
export interface RingCounters {
  entries: number;
  overrun: number;
  commitOverrun: number;
  dropped: number;
  read: number;
}

export function ringCounters(instanceDir: string): RingCounters | undefined {
  const sum: RingCounters = { entries: 0, overrun: 0, commitOverrun: 0, dropped: 0, read: 0 };
  let cpus: string[];
  try {
    cpus = readdirSync(join(instanceDir, 'per_cpu')).filter((n) => /^cpu\d+$/.test(n));
  } catch {
    return undefined;
  }
  for (const c of cpus) {
    let text: string;
    try {
      text = readFileSync(join(instanceDir, 'per_cpu', c, 'stats'), 'utf8');
    } catch {
      return undefined;
    }
    const num = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    sum.entries += num('entries');
    sum.overrun += num('overrun');
    sum.commitOverrun += num('commit overrun');
    sum.dropped += num('dropped events');
    sum.read += num('read events');
  }
  return sum;
}

/** Turns an instance off and removes it (best effort; true when it is gone). */
export function removeInstance(dir: string): boolean {
  if (!existsSync(dir)) return true;
  const w = (p: string, v: string) => {
    try {
      writeFileSync(join(dir, p), v);
    } catch {
      // best effort
    }
  };
  w('tracing_on', '0');
  try {
    for (const line of readFileSync(join(dir, 'events/sched/sched_switch/trigger'), 'utf8').split('\n')) {
      const t = line.trim();
      if (t !== '' && !t.startsWith('#')) w('events/sched/sched_switch/trigger', `!${t.replace(/:unlimited/, '')}`);
    }
  } catch {
    // no trigger file
  }
  w('events/enable', '0');
  for (let i = 0; i < 3; i++) {
    try {
      rmdirSync(dir);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    }
  }
  return false;
}

/** Resolves when the child has exited (immediately when it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILL. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
  if ((await Promise.race([exited(child).then(() => 'done' as const), timer])) === 'timeout') {
    child.kill('SIGKILL');
    await exited(child);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits until `test()` is true (polling), or throws `BenchError(what)` after `timeoutMs`. */
export async function waitFor(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new BenchError(what);
    await sleep(50);
  }
}

const POLICY_RC = '/usr/sbin/policy-rc.d';

/**
 * Installs the Debian packages whose command is missing (`[command, package]`), as root, with one `apt-get update`.
 * While installing, a temporary policy-rc.d (exit 101) keeps the packages' own services (the system MariaDB) from
 * starting; an existing policy-rc.d is left as it is. Returns the packages installed.
 */
export function ensurePackages(needs: [command: string, pkg: string][], log: (s: string) => void): string[] {
  const missing = needs.filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0).map(([, p]) => p);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) throw new BenchError(`missing ${missing.join(', ')}: run as root to install them`);
  log(`installing Debian packages: ${missing.join(' ')}`);
  const ownPolicy = !existsSync(POLICY_RC);
  if (ownPolicy)
    writeFileSync(POLICY_RC, '#!/bin/sh\n# temporary, bench/overhead: no service starts\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const up = spawnSync('apt-get', ['update', '-qq'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    if (up.status !== 0) throw new BenchError(`apt-get update failed: ${String(up.stderr).trim().split('\n').at(-1)}`);
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (r.status !== 0) throw new BenchError(`apt-get install ${missing.join(' ')} failed: ${String(r.stderr).trim()}`);
  } finally {
    if (ownPolicy) unlinkSync(POLICY_RC);
  }
  return missing;
}
