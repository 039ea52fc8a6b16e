/**
 * A private tracefs instance: `instances/latency-tracker-<pid>` (DESIGN §4), or `latency-tracker-<pid>-<ns>` in a
 * pid namespace other than the initial one (a container sharing the host's tracefs; `<ns>` is the namespace's
 * inode), so that two trackers that are both pid 1 in two containers never want the same name. We never touch the
 * global buffer or other instances. The instance is removed on every exit path: `remove()`, process exit (also
 * after an uncaught error), SIGINT, SIGTERM and SIGHUP when nobody else handles them; after SIGKILL the next start
 * in the same pid namespace sweeps it (`sweepStale`).
 *
 * Ownership: from creation to removal the owner keeps the instance's `tracing_on` open (`lockFd`). The kernel
 * refuses to remove an instance while any of its files is open (EBUSY, `__remove_instance` in
 * kernel/trace/trace.c checks the array's reference count), so a sweep only ever calls `rmdir`: it cannot remove,
 * and never writes into, an instance whose owner is alive, whatever its pid says.
 *
 * Everything here is synchronous on purpose: cleanup must work from an `exit` handler, and setup is a few dozen
 * small file writes.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Paths } from '../../paths.ts';
import { SetupError, systemErrorText } from '../errors.ts';
import { mountTracefs, unmountOursSync } from './mount.ts';

export { SetupError };

export const INSTANCE_PREFIX = 'latency-tracker-';
/** The inode of the initial pid namespace (`PROC_PID_INIT_INO`, include/linux/proc_ns.h; fixed since Linux 3.8). */
export const INIT_PID_NS = 0xeffffffc;

/** `system:event` with kernel identifier characters only (validated before any path is built from it). */
const EVENT_RE = /^([a-z0-9_]+):([a-z0-9_]+)$/;
/**
 * Characters a filter expression may contain (field names, numbers, comparison and boolean operators, a quoted
 * comm). Filters are built by `filters.ts` from validated values; this is the last line of defence.
 */
const FILTER_RE = /^[A-Za-z0-9_ =!<>&|()"'.,:+@/*~-]{0,512}$/;
const TRIGGER_RE = /^stacktrace( if [A-Za-z0-9_ &|()=!<>]{1,128})?$/;

export interface InstanceOptions {
  paths: Paths;
  /** Instance name; default `defaultInstanceName(paths)`. Must match `[A-Za-z0-9_.-]+`. */
  name?: string;
  /** Trace clock; default `mono` (kernel timestamps then compare with `process.hrtime`). */
  clock?: string;
  /** Sub-buffer size in KiB (power of two, >= page size); applied when the kernel has `buffer_subbuf_size_kb`. */
  subbufKb?: number;
  /** Ring-buffer size per CPU in KiB. */
  bufferKb?: number;
}

export interface CpuStats {
  entries: number;
  overrun: number;
  commitOverrun: number;
  dropped: number;
  read: number;
}

/** Instances created by this process and not yet removed: the exit handlers remove them. */
const live = new Set<TracefsInstance>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', removeAllInstancesSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = () => {
      // Only act when nobody else listens: a command with its own graceful shutdown handles the signal itself.
      if (process.listenerCount(sig) > 1) return;
      removeAllInstancesSync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    };
    process.on(sig, handler);
  }
}

/**
 * Removes every instance this process created, then unmounts a tracefs this process mounted. Safe to call
 * repeatedly and from an `exit` handler.
 */
export function removeAllInstancesSync(): void {
  for (const inst of [...live]) inst.remove();
  unmountOursSync();
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) === 'EPERM';
  }
}

/** Our pid namespace's inode, from procfs `self/ns/pid` (`pid:[4026531836]`), or undefined when unreadable. */
export function pidNamespace(paths: Paths): number | undefined {
  try {
    const m = /^pid:\[(\d+)\]$/.exec(readlinkSync(join(paths.procfs, 'self', 'ns', 'pid')));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * The suffix after `latency-tracker-<pid>` of this process's instance names: none in the initial pid namespace (the
 * name other tools and scripts know), `-<ns inode>` in any other, and a random `-r<hex>` when the namespace cannot be
 * read (such names are never swept: nothing proves whose pid they carry).
 */
function nameSuffix(ns: number | undefined): string {
  if (ns === INIT_PID_NS) return '';
  if (ns !== undefined) return `-${ns}`;
  return `-r${randomBytes(6).toString('hex')}`;
}

/** This process's default instance name: `latency-tracker-<pid>[-<ns inode>]` (see the module comment). */
export function defaultInstanceName(paths: Paths): string {
  return `${INSTANCE_PREFIX}${process.pid}${nameSuffix(pidNamespace(paths))}`;
}

/**
 * Removes instances left behind by dead trackers (a SIGKILL): only names of our own pid namespace
 * (`latency-tracker-<pid>` in the initial one, `latency-tracker-<pid>-<our ns inode>` in others), only when that pid
 * is dead here, and only with `rmdir` — which the kernel refuses (EBUSY) while a live owner holds its lock fd, so an
 * instance whose pid was reused or misread is never harmed. Nothing is ever written into a swept instance (the kernel
 * disables its events and triggers itself when it removes it). Returns the names removed.
 */
export function sweepStale(paths: Paths): string[] {
  const ns = pidNamespace(paths);
  if (ns === undefined) return [];
  const suffix = nameSuffix(ns);
  const dir = join(paths.tracefs, 'instances');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    if (!n.startsWith(INSTANCE_PREFIX) || !n.endsWith(suffix)) continue;
    const pidText = n.slice(INSTANCE_PREFIX.length, n.length - suffix.length);
    if (!/^[1-9]\d{0,9}$/.test(pidText)) continue;
    const pid = Number(pidText);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      rmdirSync(join(dir, n));
      removed.push(n);
    } catch {
      // EBUSY: a live process holds one of its files (its owner); or gone already. Leave it as it is.
    }
  }
  return removed;
}

/** Turns tracing and every event off in an instance directory and clears its triggers, best effort. */
function disableAll(dir: string): void {
  const w = (p: string, v: string) => {
    try {
      writeFileSync(join(dir, p), v);
    } catch {
      // best effort
    }
  };
  w('tracing_on', '0');
  clearTriggers(dir);
  w('events/enable', '0');
}

function clearTriggers(dir: string): void {
  const f = join(dir, 'events/sched/sched_switch/trigger');
  let text: string;
  try {
    text = readFileSync(f, 'utf8');
  } catch {
    return;
  }
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    // A trigger is removed by writing it back prefixed with '!' (without the ':count' suffix the file shows).
    const spec = t.replace(/:unlimited/, '').replace(/:count=\d+/, '');
    try {
      writeFileSync(f, `!${spec}`);
    } catch {
      // best effort
    }
  }
}

/** Number of CPUs the kernel traces (the `per_cpu/cpuN` directories of the top-level tracefs). */
export function tracefsCpus(paths: Paths): number {
  let n = 0;
  for (const name of readdirSync(join(paths.tracefs, 'per_cpu'))) if (/^cpu\d+$/.test(name)) n++;
  return n;
}

export class TracefsInstance {
  readonly name: string;
  readonly dir: string;
  readonly cpus: number;
  /** Sub-buffer size actually in effect, bytes. */
  readonly pageSize: number;
  private removed = false;
  /** Our instance's `tracing_on`, open for the instance's whole life: the owner lock (see the module comment). */
  private lockFd: number | undefined;
  private readonly openFds = new Set<number>();
  private readonly enabled: string[] = [];

  private constructor(
    readonly paths: Paths,
    name: string,
    cpus: number,
    pageSize: number,
  ) {
    this.name = name;
    this.dir = join(paths.tracefs, 'instances', name);
    this.cpus = cpus;
    this.pageSize = pageSize;
  }

  /**
   * Creates and configures the instance (tracing off until `start()`). Mounts tracefs when needed and sweeps stale
   * instances first. Throws `SetupError` with one clear sentence when this cannot work (not root, no tracefs).
   */
  static create(opts: InstanceOptions): TracefsInstance {
    const paths = opts.paths;
    const name = opts.name ?? defaultInstanceName(paths);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new SetupError(`invalid instance name '${name}'`);
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new SetupError(
        'latency-tracker needs root to trace the kernel (it creates a private tracefs instance): run it with sudo.',
      );
    }
    if (!existsSync(join(paths.tracefs, 'instances'))) mountTracefs(paths.tracefs);
    sweepStale(paths);
    const idir = join(paths.tracefs, 'instances', name);
    if (existsSync(idir)) {
      // Left by a dead process of ours with this pid (a live one holds its lock: then rmdir fails and we touch
      // nothing).
      try {
        rmdirSync(idir);
      } catch (e) {
        throw new SetupError(
          `tracefs instance ${name} already exists and is busy (${systemErrorText(e)}): is another copy running?`,
        );
      }
    }
    try {
      mkdirSync(idir);
    } catch (e) {
      throw new SetupError(`cannot create tracefs instance ${idir} (${systemErrorText(e)}).`);
    }
    installExitHandlers();
    const cpus = tracefsCpus(paths);
    const inst = new TracefsInstance(paths, name, cpus, 4096);
    live.add(inst);
    try {
      try {
        inst.lockFd = openSync(join(idir, 'tracing_on'), constants.O_RDONLY);
      } catch (e) {
        throw new SetupError(`cannot open ${join(idir, 'tracing_on')} (${systemErrorText(e)}): is this tracefs?`);
      }
      inst.write('tracing_on', '0');
      inst.write('trace_clock', opts.clock ?? 'mono');
      if (opts.subbufKb !== undefined && existsSync(join(idir, 'buffer_subbuf_size_kb'))) {
        const kb = opts.subbufKb;
        if (!Number.isInteger(kb) || kb < 4 || kb > 1024 || (kb & (kb - 1)) !== 0) {
          throw new SetupError(`sub-buffer size must be a power of two between 4 and 1024 KiB, got ${kb}`);
        }
        // Larger sub-buffers only save reads: a kernel that refuses the change (6.18.44 answers EPERM) keeps its
        // own size, which is read back below and used as is.
        inst.writeQuiet('buffer_subbuf_size_kb', String(kb));
      }
      if (opts.bufferKb !== undefined) {
        const kb = opts.bufferKb;
        if (!Number.isInteger(kb) || kb < 4 || kb > 1 << 21) throw new SetupError(`invalid buffer size ${kb} KiB`);
        inst.write('buffer_size_kb', String(kb));
      }
      const sub = inst.readOptional('buffer_subbuf_size_kb');
      const pageSize = sub === undefined ? 4096 : Number.parseInt(sub, 10) * 1024;
      (inst as { pageSize: number }).pageSize = Number.isFinite(pageSize) && pageSize >= 4096 ? pageSize : 4096;
    } catch (e) {
      inst.remove();
      throw e;
    }
    return inst;
  }

  /** True when `system:event` exists on this kernel. */
  hasEvent(event: string): boolean {
    const m = EVENT_RE.exec(event);
    return m !== null && existsSync(join(this.dir, 'events', m[1], m[2], 'enable'));
  }

  /** Path of a validated event's directory inside the instance. */
  private eventDir(event: string): string {
    const m = EVENT_RE.exec(event);
    if (m === null) throw new SetupError(`invalid event name '${event}' (expected system:event)`);
    const d = join(this.dir, 'events', m[1], m[2]);
    if (!existsSync(d)) throw new SetupError(`this kernel has no tracepoint ${event}`);
    return d;
  }

  /** Enables one event in this instance only. */
  enableEvent(event: string): void {
    const d = this.eventDir(event);
    this.writeAbs(join(d, 'enable'), '1', event);
    if (!this.enabled.includes(event)) this.enabled.push(event);
  }

  /** Disables one event in this instance (at run time: no running analysis reads it any more). */
  disableEvent(event: string): void {
    const d = this.eventDir(event);
    this.writeAbs(join(d, 'enable'), '0', event);
    const i = this.enabled.indexOf(event);
    if (i >= 0) this.enabled.splice(i, 1);
  }

  /** Sets an event filter (built by `filters.ts` from validated values; checked again here). */
  setFilter(event: string, expr: string): void {
    if (!FILTER_RE.test(expr)) throw new SetupError(`refusing to write an unexpected filter expression for ${event}`);
    const d = this.eventDir(event);
    this.writeAbs(join(d, 'filter'), expr, `${event} filter '${expr}'`);
  }

  /** Sets a `stacktrace [if COND]` trigger on an event. */
  setTrigger(event: string, trigger: string): void {
    if (!TRIGGER_RE.test(trigger)) throw new SetupError(`refusing to write an unexpected trigger '${trigger}'`);
    const d = this.eventDir(event);
    this.writeAbs(join(d, 'trigger'), trigger, `${event} trigger '${trigger}'`);
  }

  /** Removes a trigger set by `setTrigger` (written back prefixed with '!'). */
  removeTrigger(event: string, trigger: string): void {
    if (!TRIGGER_RE.test(trigger)) throw new SetupError(`refusing to write an unexpected trigger '${trigger}'`);
    const d = this.eventDir(event);
    this.writeAbs(join(d, 'trigger'), `!${trigger}`, `${event} trigger '!${trigger}'`);
  }

  /** Events of these thread ids are not recorded (`set_event_notrace_pid`); replaces the previous list. */
  setNotracePids(tids: readonly number[]): boolean {
    if (!existsSync(join(this.dir, 'set_event_notrace_pid'))) return false;
    for (const t of tids) if (!Number.isInteger(t) || t <= 0 || t > 1 << 22) throw new SetupError(`bad tid ${t}`);
    this.write('set_event_notrace_pid', tids.length === 0 ? '' : tids.join(' '));
    return true;
  }

  start(): void {
    this.write('tracing_on', '1');
  }

  private readonly onBuf = new Uint8Array(4);

  /**
   * Whether the instance records (`tracing_on` read through the owner lock fd: one pread, no open); undefined when
   * it cannot be read. Another process may switch it off behind our back.
   */
  tracingOn(): boolean | undefined {
    if (this.lockFd === undefined) return undefined;
    try {
      const n = readSync(this.lockFd, this.onBuf, 0, this.onBuf.length, 0);
      return n > 0 ? this.onBuf[0] !== 0x30 : undefined;
    } catch {
      return undefined;
    }
  }

  stop(): void {
    if (!this.removed) this.writeQuiet('tracing_on', '0');
  }

  /** Opens `per_cpu/cpuN/<file>`; the fd is closed by `remove()` if the caller has not closed it. */
  openCpuFile(cpu: number, file: 'trace_pipe_raw', flags: number): number {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpus) throw new SetupError(`bad cpu ${cpu}`);
    const fd = openSync(join(this.dir, 'per_cpu', `cpu${cpu}`, file), flags);
    this.openFds.add(fd);
    return fd;
  }

  closeFd(fd: number): void {
    if (this.openFds.delete(fd)) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }

  /** Per-CPU ring-buffer statistics (`per_cpu/cpuN/stats`). */
  cpuStats(cpu: number): CpuStats {
    const text = this.readOptional(join('per_cpu', `cpu${cpu}`, 'stats')) ?? '';
    const num = (key: string) => {
      const m = new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text);
      return m === null ? 0 : Number(m[1]);
    };
    return {
      entries: num('entries'),
      overrun: num('overrun'),
      commitOverrun: num('commit overrun'),
      dropped: num('dropped events'),
      read: num('read events'),
    };
  }

  /** Reads a file of the instance (relative path), or undefined when it does not exist. */
  readOptional(rel: string): string | undefined {
    try {
      return readFileSync(join(this.dir, rel), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** Events enabled so far. */
  get events(): readonly string[] {
    return this.enabled;
  }

  /**
   * Stops tracing, closes our files and removes the instance directory. Idempotent; never throws (it runs from exit
   * handlers). Returns true when the directory is gone.
   */
  remove(): boolean {
    if (this.removed) return true;
    for (const fd of [...this.openFds]) this.closeFd(fd);
    disableAll(this.dir);
    if (this.lockFd !== undefined) {
      try {
        closeSync(this.lockFd);
      } catch {
        // already closed
      }
      this.lockFd = undefined;
    }
    let gone = false;
    for (let attempt = 0; attempt < 3 && !gone; attempt++) {
      try {
        rmdirSync(this.dir);
        gone = true;
      } catch (e) {
        if (errCode(e) === 'ENOENT') gone = true;
      }
    }
    this.removed = gone;
    if (gone) live.delete(this);
    return gone;
  }

  private write(rel: string, value: string): void {
    this.writeAbs(join(this.dir, rel), value, rel);
  }

  private writeQuiet(rel: string, value: string): void {
    try {
      writeFileSync(join(this.dir, rel), value);
    } catch {
      // best effort
    }
  }

  private writeAbs(path: string, value: string, what: string): void {
    try {
      writeFileSync(path, value);
    } catch (e) {
      const detail = this.lastErrorLog();
      throw new SetupError(`cannot set ${what} (${systemErrorText(e)})${detail ? `: ${detail}` : ''}`);
    }
  }

  /** The last line of tracefs `error_log`, which explains rejected filters and triggers. */
  private lastErrorLog(): string {
    try {
      const lines = readFileSync(join(this.paths.tracefs, 'error_log'), 'utf8').trim().split('\n');
      return lines.length > 0 ? lines[lines.length - 1].replace(/^\[[^\]]*\]\s*/, '').trim() : '';
    } catch {
      return '';
    }
  }
}
