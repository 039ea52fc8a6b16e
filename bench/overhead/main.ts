/**
 * `npm run bench:overhead`: the original latency_tracker paper's experiment (sysbench OLTP on MySQL, bare vs
 * traced), reproduced on this machine with MariaDB, and latency-tracker's cost measured against the kernel's own.
 *
 *   A  baseline, nothing traced
 *   B  kernel floor: the events `live syscall wakeup offcpu` enables, recorded into a private instance, no reader
 *   C  latency-tracker live syscall wakeup offcpu (default thresholds, output to a file)
 *   D  C with --stacks
 *   E  bpftrace doing the same matching in the kernel (bench/overhead/latency.bt), an outside reference
 *   F  latency-tracker live wakeup offcpu (scheduler events only, the original's own configuration)
 *
 * Configurations run interleaved (A B C D E F, A B C D E F, ...), each for a fixed time; the report gives each
 * one's median transactions/s, its spread, its overhead versus A, the tracer's own CPU, the events seen and lost.
 *
 *   npm run bench:overhead -- [--rounds 5] [--duration 30] [--warmup 20] [--configs ABCDEF] [--threads N]
 *                             [--tables 4] [--table-size 100000] [--out FILE] [--cpu-prof DIR] [--cli PATH]
 *                             [--max-other-cpu 15] [--retries 0] [--cli-alt PATH]
 *
 * Diagnostic configurations, run only when named in --configs: G = B plus a `set_event_notrace_pid` list (what
 * latency-tracker's self-exclusion adds in the kernel); H = C with the build given by --cli-alt (before/after).
 *
 * Needs root (tracefs, apt-get). Installs mariadb-server, sysbench and bpftrace when missing; everything it starts
 * (MariaDB, tracers, tracefs instances) is stopped and removed on every exit path, Ctrl-C included.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findAnalysis } from '../../src/analyses/index.ts';
import type { Analysis } from '../../src/analyses/types.ts';
import { liveEvents } from '../../src/cli/commands.ts';
import { kernelHas } from '../../src/cli/list.ts';
import { resolvePaths } from '../../src/paths.ts';
import { mountTracefs } from '../../src/sources/tracefs/mount.ts';
import { DEFAULT_BUFFER_KB } from '../../src/sources/tracefs/source.ts';
import { Mariadb } from './mariadb.ts';
import { overheadPct, type Spread, spread } from './stats.ts';
import {
  BenchError,
  childrenCpuSeconds,
  ensurePackages,
  machineBusySeconds,
  procCpuSeconds,
  type RingCounters,
  removeInstance,
  ringCounters,
  sleep,
  stopChild,
  waitFor,
} from './system.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BT_SCRIPT = join(ROOT, 'bench/overhead/latency.bt');
const CLI = join(ROOT, 'bin/latency-tracker.js');

type ConfigName = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H';
const CONFIGS: Record<ConfigName, string> = {
  A: 'baseline (nothing traced)',
  B: 'kernel floor (same events, no reader)',
  C: 'latency-tracker live syscall wakeup offcpu',
  D: 'C + --stacks',
  E: 'bpftrace, same matching in the kernel',
  F: 'latency-tracker live wakeup offcpu',
  G: 'B + set_event_notrace_pid (diagnostic)',
  H: 'C with the --cli-alt build (before/after)',
};

interface Options {
  rounds: number;
  duration: number;
  warmup: number;
  configs: ConfigName[];
  threads: number;
  tables: number;
  tableSize: number;
  out: string;
  cpuProf: string | undefined;
  /** The latency-tracker entry point to measure (default: this checkout's bin/latency-tracker.js). */
  cli: string;
  /** Another build for configuration H (e.g. an older commit's bin/latency-tracker.js). */
  cliAlt: string | undefined;
  /** A run during which other processes used more than this (% of one core) is repeated... */
  maxOtherCpu: number;
  /** ...at most this many times. */
  retries: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    rounds: 5,
    duration: 30,
    warmup: 20,
    configs: ['A', 'B', 'C', 'D', 'E', 'F'],
    threads: 2 * cpus().length,
    tables: 4,
    tableSize: 100_000,
    out: '',
    cpuProf: undefined,
    cli: CLI,
    cliAlt: undefined,
    maxOtherCpu: 15,
    retries: 0,
  };
  const int = (name: string, v: string | undefined, min: number): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < min) {
      throw new BenchError(`${name}: '${v ?? ''}' is not an integer >= ${min}`);
    }
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--rounds':
        o.rounds = int(a, v, 1);
        break;
      case '--duration':
        o.duration = int(a, v, 1);
        break;
      case '--warmup':
        o.warmup = int(a, v, 0);
        break;
      case '--threads':
        o.threads = int(a, v, 1);
        break;
      case '--tables':
        o.tables = int(a, v, 1);
        break;
      case '--table-size':
        o.tableSize = int(a, v, 100);
        break;
      case '--configs': {
        if (v === undefined || !/^[A-H]+$/.test(v)) throw new BenchError(`--configs: '${v ?? ''}' is not letters A-H`);
        o.configs = [...new Set(v.split(''))] as ConfigName[];
        break;
      }
      case '--out':
        if (v === undefined) throw new BenchError('--out needs a file name');
        o.out = v;
        break;
      case '--cpu-prof':
        if (v === undefined) throw new BenchError('--cpu-prof needs a directory');
        o.cpuProf = resolve(v);
        break;
      case '--cli-alt':
        if (v === undefined || !existsSync(v)) throw new BenchError(`--cli-alt: '${v ?? ''}' does not exist`);
        o.cliAlt = resolve(v);
        break;
      case '--max-other-cpu':
        o.maxOtherCpu = int(a, v, 0);
        break;
      case '--retries':
        o.retries = int(a, v, 0);
        break;
      case '--cli':
        if (v === undefined || !existsSync(v)) throw new BenchError(`--cli: '${v ?? ''}' does not exist`);
        o.cli = resolve(v);
        break;
      case '-h':
      case '--help':
        console.log(
          'usage: npm run bench:overhead -- [--rounds N] [--duration S] [--warmup S] [--configs ABCDEF]\n' +
            '         [--threads N] [--tables N] [--table-size N] [--out FILE] [--cpu-prof DIR] [--cli PATH]\n' +
            '         [--max-other-cpu PCT] [--retries N] [--cli-alt PATH]',
        );
        process.exit(0);
        break;
      default:
        throw new BenchError(`unknown option '${a}' (see --help)`);
    }
    i++;
  }
  if (o.out === '') {
    const stamp = new Date()
      .toISOString()
      .replace(/[:.]/g, '-')
      .replace(/-\d{3}Z$/, 'Z');
    o.out = join(ROOT, '.bench-data', `overhead-${stamp}.json`);
  }
  return o;
}

// -------------------------------------------------------------------------------------------------------------------
// Tracers: one per configuration, started before the sysbench run and stopped after it.

interface Tracer {
  /** Process whose CPU is the tracer's own (user space), if any. */
  pid?: number;
  /** The tracefs instance whose ring counters count events seen and lost, if any. */
  instance?: string;
  /** Outliers or other lines the tracer printed (file). */
  output?: string;
  stop(): Promise<{ exitCode: number | null; stderr: string }>;
}

const paths = resolvePaths();
/** Everything to undo, most recent first: run on every exit path. */
const cleanups: (() => Promise<void> | void)[] = [];
let db: Mariadb | undefined;

function instanceDir(name: string): string {
  return join(paths.tracefs, 'instances', name);
}

/** B: the same events in a private instance, tracing on, nobody reading (overwrite mode, see docs/overhead.md). */
/**
 * B, and with `notrace` G: B plus a `set_event_notrace_pid` list (this script's pid) as latency-tracker sets for its
 * own threads, to measure what the scheduler probes behind that option cost.
 */
function startFloor(events: string[], notrace = false): Tracer {
  const name = `lt-overhead-floor-${process.pid}`;
  const dir = instanceDir(name);
  removeInstance(dir);
  mkdirSync(dir);
  const undo = () => {
    removeInstance(dir);
  };
  cleanups.push(undo);
  const w = (p: string, v: string) => writeFileSync(join(dir, p), v);
  try {
    w('tracing_on', '0');
    w('trace_clock', 'mono');
    if (existsSync(join(dir, 'buffer_subbuf_size_kb'))) w('buffer_subbuf_size_kb', '16');
    w('buffer_size_kb', String(DEFAULT_BUFFER_KB)); // as latency-tracker's own instance
    // Overwrite (the default): once full, the writer pushes the oldest sub-buffer out and keeps recording every
    // event through the same reserve/write/commit path as with a reader. Without overwrite a full buffer would
    // reject events early and cheaply, understating the floor.
    w('options/overwrite', '1');
    for (const e of events) {
      const [sys, ev] = e.split(':');
      w(join('events', sys, ev, 'enable'), '1');
    }
    if (notrace) w('set_event_notrace_pid', String(process.pid));
    w('tracing_on', '1');
  } catch (e) {
    undo();
    throw e;
  }
  return {
    instance: dir,
    async stop() {
      undo();
      cleanups.splice(cleanups.indexOf(undo), 1);
      return { exitCode: 0, stderr: '' };
    },
  };
}

/** Spawns a tracer process writing stdout to `outFile`; waits until `ready(stdoutText)`; stops it with SIGINT. */
async function startProcess(
  cmd: string,
  args: string[],
  outFile: string,
  ready: (out: string) => boolean,
  what: string,
): Promise<Tracer & { child: ChildProcess }> {
  const fd = openSync(outFile, 'w');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    if (stderr.length < 65536) stderr += b.toString();
  });
  const kill = async () => {
    await stopChild(child, 'SIGINT', 20_000);
    // The CLI removes its own instance; after a SIGKILL nobody did.
    if (child.pid !== undefined) removeInstance(instanceDir(`latency-tracker-${child.pid}`));
  };
  cleanups.push(kill);
  const read = () => {
    try {
      return readFileSync(outFile, 'utf8');
    } catch {
      return '';
    }
  };
  try {
    await waitFor(() => child.exitCode !== null || ready(read()), 30_000, `${what} did not start within 30 s`);
    if (child.exitCode !== null) throw new BenchError(`${what} exited (${child.exitCode}): ${stderr.trim()}`);
  } catch (e) {
    await kill();
    cleanups.splice(cleanups.indexOf(kill), 1);
    throw e;
  }
  return {
    child,
    pid: child.pid,
    output: outFile,
    async stop() {
      await kill();
      cleanups.splice(cleanups.indexOf(kill), 1);
      return { exitCode: child.exitCode, stderr: stderr.trim() };
    },
  };
}

async function startLatencyTracker(
  analyses: string[],
  stacks: boolean,
  outFile: string,
  o: Options,
  tag: string,
  cli = o.cli,
) {
  const node =
    o.cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', o.cpuProf, '--cpu-prof-name', `${tag}.cpuprofile`];
  const args = [...node, cli, 'live', ...analyses, ...(stacks ? ['--stacks'] : [])];
  const t = await startProcess(process.execPath, args, outFile, (s) => s.includes('Hit Ctrl-C'), 'latency-tracker');
  return { ...t, instance: instanceDir(`latency-tracker-${t.pid}`) };
}

async function startBpftrace(outFile: string) {
  // bpftrace prints "Attaching N probes..." once its programs are attached.
  return startProcess('bpftrace', [BT_SCRIPT], outFile, (s) => s.includes('Attaching'), 'bpftrace');
}

// -------------------------------------------------------------------------------------------------------------------

interface RunResult {
  config: ConfigName;
  round: number;
  tps: number;
  transactions: number;
  qps: number;
  p95ms: number;
  /**
   * CPU of the work itself per transaction, ms: MariaDB + sysbench (which also pay the kernel's tracing cost: the
   * tracepoints and BPF programs run in their context) + the tracer process. Unlike throughput, barely moved by
   * other processes on the machine.
   */
  cpuPerTxMs: number;
  /** CPU seconds over the run: MariaDB, sysbench, tracer process (null when none). */
  dbCpuS: number;
  sysbenchCpuS: number;
  tracerCpuS: number | null;
  /** Tracer process CPU over the sysbench run, % of one core. */
  tracerCpuPct: number | null;
  /** Events the kernel recorded (floor) or the reader consumed (latency-tracker), per second. */
  eventsPerSec: number | null;
  /** Events lost in the kernel during the run (overrun + dropped + commit overrun). */
  lost: number | null;
  /** CPU of everything else on the machine (not MariaDB, sysbench, the tracer or this script), % of one core. */
  otherCpuPct: number;
  tracerExit: number | null;
  tracerStderr: string;
  outliers: number | null;
}

function sysbenchArgs(o: Options, db: Mariadb): string[] {
  return [
    'oltp_read_write',
    '--db-driver=mysql',
    `--mysql-socket=${db.socket}`,
    '--mysql-user=root',
    '--mysql-db=sbtest',
    `--tables=${o.tables}`,
    `--table-size=${o.tableSize}`,
  ];
}

async function sysbench(o: Options, db: Mariadb, phase: string[], log = false): Promise<string> {
  const child = spawn('sysbench', [...sysbenchArgs(o, db), ...phase], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => stopChild(child, 'SIGKILL', 1000));
  let out = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  cleanups.pop();
  if (code !== 0) throw new BenchError(`sysbench ${phase.join(' ')} failed (${code}): ${out.trim().slice(-500)}`);
  if (log) process.stderr.write(out);
  return out;
}

function parseSysbench(out: string): { tps: number; transactions: number; qps: number; p95ms: number } {
  const tps = /transactions:\s+(\d+)\s+\(([\d.]+) per sec/.exec(out);
  const qps = /queries:\s+\d+\s+\(([\d.]+) per sec/.exec(out);
  const p95 = /95th percentile:\s+([\d.]+)/.exec(out);
  if (tps === null) throw new BenchError(`cannot read transactions/s from sysbench output: ${out.slice(-300)}`);
  return {
    tps: Number(tps[2]),
    transactions: Number(tps[1]),
    qps: Number(qps?.[1] ?? Number.NaN),
    p95ms: Number(p95?.[1] ?? Number.NaN),
  };
}

async function runOne(c: ConfigName, round: number, o: Options, db: Mariadb, events: string[], tmp: string) {
  let stopped = { exitCode: null as number | null, stderr: '' };
  const r = await measureOne(c, round, o, db, events, tmp, (s) => {
    stopped = s;
  });
  r.tracerExit = stopped.exitCode;
  r.tracerStderr = stopped.stderr;
  return r;
}

async function measureOne(
  c: ConfigName,
  round: number,
  o: Options,
  db: Mariadb,
  events: string[],
  tmp: string,
  onStop: (s: { exitCode: number | null; stderr: string }) => void,
): Promise<RunResult> {
  let tracer: Tracer | undefined;
  const outFile = join(tmp, `${c}-${round}.out`);
  if (c === 'B') tracer = startFloor(events);
  else if (c === 'G') tracer = startFloor(events, true);
  else if (c === 'H') {
    if (o.cliAlt === undefined) throw new BenchError('configuration H needs --cli-alt PATH');
    tracer = await startLatencyTracker(['syscall', 'wakeup', 'offcpu'], false, outFile, o, `H-${round}`, o.cliAlt);
  } else if (c === 'C')
    tracer = await startLatencyTracker(['syscall', 'wakeup', 'offcpu'], false, outFile, o, `C-${round}`);
  else if (c === 'D')
    tracer = await startLatencyTracker(['syscall', 'wakeup', 'offcpu'], true, outFile, o, `D-${round}`);
  else if (c === 'E') tracer = await startBpftrace(outFile);
  else if (c === 'F') tracer = await startLatencyTracker(['wakeup', 'offcpu'], false, outFile, o, `F-${round}`);
  try {
    // Let the tracer reach its steady state (first read cycles, comm lookups) before the measured window.
    if (tracer !== undefined) await sleep(1000);
    const pidCpu = (pid: number | undefined) => (pid === undefined ? Number.NaN : procCpuSeconds(paths.procfs, pid));
    const self = () => procCpuSeconds(paths.procfs, process.pid);
    const ring0 = tracer?.instance !== undefined ? ringCounters(tracer.instance) : undefined;
    const t0 = performance.now();
    const cpu0 = {
      tracer: pidCpu(tracer?.pid),
      db: pidCpu(db.pid),
      kids: childrenCpuSeconds(paths.procfs),
      self: self(),
      all: machineBusySeconds(paths.procfs),
    };
    const out = await sysbench(o, db, [`--threads=${o.threads}`, `--time=${o.duration}`, '--report-interval=0', 'run']);
    const cpu1 = {
      tracer: pidCpu(tracer?.pid),
      db: pidCpu(db.pid),
      kids: childrenCpuSeconds(paths.procfs),
      self: self(),
      all: machineBusySeconds(paths.procfs),
    };
    const wall = (performance.now() - t0) / 1000;
    const ring1 = tracer?.instance !== undefined ? ringCounters(tracer.instance) : undefined;
    const sb = parseSysbench(out);
    const tracerCpu = cpu1.tracer - cpu0.tracer;
    const known =
      cpu1.db -
      cpu0.db +
      (cpu1.kids - cpu0.kids) +
      (cpu1.self - cpu0.self) +
      (Number.isFinite(tracerCpu) ? tracerCpu : 0);
    const dbCpu = cpu1.db - cpu0.db;
    const sbCpu = cpu1.kids - cpu0.kids;
    const work = dbCpu + sbCpu + (Number.isFinite(tracerCpu) ? tracerCpu : 0);
    const r: RunResult = {
      config: c,
      round,
      ...sb,
      cpuPerTxMs: (work / sb.transactions) * 1000,
      dbCpuS: dbCpu,
      sysbenchCpuS: sbCpu,
      tracerCpuS: Number.isFinite(tracerCpu) ? tracerCpu : null,
      tracerCpuPct: Number.isFinite(tracerCpu) ? (tracerCpu / wall) * 100 : null,
      eventsPerSec: null,
      lost: null,
      otherCpuPct: Math.max(0, ((cpu1.all - cpu0.all - known) / wall) * 100),
      tracerExit: null,
      tracerStderr: '',
      outliers: null,
    };
    if (ring0 !== undefined && ring1 !== undefined) {
      const d = (k: keyof RingCounters) => ring1[k] - ring0[k];
      // Floor: events recorded = what is in the buffer plus what was overwritten. Reader: events consumed.
      r.eventsPerSec =
        c === 'B' || c === 'G' ? (d('entries') + d('overrun')) / wall : (d('read') + d('entries')) / wall;
      r.lost =
        c === 'B' || c === 'G' ? d('dropped') + d('commitOverrun') : d('overrun') + d('dropped') + d('commitOverrun');
    }
    return r;
  } finally {
    if (tracer !== undefined) onStop(await tracer.stop());
  }
}

async function finishTracerInfo(r: RunResult, tmp: string): Promise<void> {
  const f = join(tmp, `${r.config}-${r.round}.out`);
  if (!existsSync(f)) return;
  const text = readFileSync(f, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (r.config === 'E') {
    r.outliers = lines.filter((l) => /^(syscall|wakeup|offcpu) /.test(l)).length;
    const lost = /Lost (\d+) events/.exec(text);
    if (lost !== null) r.lost = Number(lost[1]);
  } else {
    r.outliers = Math.max(0, lines.length - 1);
  }
}

// -------------------------------------------------------------------------------------------------------------------

interface ConfigSummary {
  config: ConfigName;
  description: string;
  tps: Spread;
  overheadPct: number;
  /** Median over rounds of the overhead versus A in the same round. */
  pairedOverheadPct: number | null;
  pairedOverheadRange: [number, number] | null;
  tracerCpuPct: number | null;
  eventsPerSec: number | null;
  lost: number | null;
  otherCpuPct: number;
  cpuPerTx: Spread;
  /** CPU cost per transaction versus A's (medians), percent: the overhead as CPU, robust to a noisy machine. */
  cpuOverheadPct: number;
}

function summarize(results: RunResult[], configs: ConfigName[]): ConfigSummary[] {
  const of = (c: ConfigName) => results.filter((r) => r.config === c);
  const base = of('A');
  const baseMedian = spread(base.map((r) => r.tps)).median;
  const baseCpu = spread(base.map((r) => r.cpuPerTxMs)).median;
  const med = (xs: (number | null)[]) => {
    const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
    return v.length === 0 ? null : spread(v).median;
  };
  return configs.map((c) => {
    const rs = of(c);
    const paired = rs
      .map((r) => {
        const a = base.find((b) => b.round === r.round);
        return a === undefined ? Number.NaN : overheadPct(a.tps, r.tps);
      })
      .filter((x) => Number.isFinite(x));
    const lost = rs.map((r) => r.lost).filter((x): x is number => x !== null);
    return {
      config: c,
      description: CONFIGS[c],
      tps: spread(rs.map((r) => r.tps)),
      overheadPct: overheadPct(baseMedian, spread(rs.map((r) => r.tps)).median),
      pairedOverheadPct: base.length > 0 && paired.length > 0 ? spread(paired).median : null,
      pairedOverheadRange: base.length > 0 && paired.length > 0 ? [Math.min(...paired), Math.max(...paired)] : null,
      tracerCpuPct: med(rs.map((r) => r.tracerCpuPct)),
      eventsPerSec: med(rs.map((r) => r.eventsPerSec)),
      lost: lost.length === 0 ? null : lost.reduce((a, b) => a + b, 0),
      otherCpuPct: med(rs.map((r) => r.otherCpuPct)) ?? 0,
      cpuPerTx: spread(rs.map((r) => r.cpuPerTxMs)),
      cpuOverheadPct: (spread(rs.map((r) => r.cpuPerTxMs)).median / baseCpu - 1) * 100,
    };
  });
}

function formatTable(rows: ConfigSummary[], hasBaseline: boolean): string {
  const f = (x: number | null, d = 1) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const pct = (x: number | null) => (x === null || !Number.isFinite(x) ? '-' : `${x >= 0 ? '+' : ''}${x.toFixed(2)} %`);
  const lines = [
    'throughput (transactions/s)',
    'cfg   median   min..max          IQR               overhead   paired overhead (min..max)',
  ];
  for (const r of rows) {
    const base = hasBaseline && r.config !== 'A';
    const range = r.pairedOverheadRange;
    lines.push(
      `${r.config.padEnd(3)} ${f(r.tps.median).padStart(8)}   ${`${f(r.tps.min)}..${f(r.tps.max)}`.padEnd(16)}  ` +
        `${`${f(r.tps.q1)}..${f(r.tps.q3)}`.padEnd(16)} ${(base ? pct(r.overheadPct) : '-').padStart(9)}   ` +
        `${base && range !== null ? `${pct(r.pairedOverheadPct)} (${f(range[0])}..${f(range[1])})` : '-'}`,
    );
  }
  lines.push(
    '',
    'CPU per transaction (MariaDB + sysbench + tracer process), tracer, events',
    'cfg   ms/tx median (IQR)      CPU overhead   tracer CPU   events/s    lost   other CPU',
  );
  for (const r of rows) {
    const base = hasBaseline && r.config !== 'A';
    lines.push(
      `${r.config.padEnd(3)} ${`${f(r.cpuPerTx.median, 3)} (${f(r.cpuPerTx.q1, 3)}..${f(r.cpuPerTx.q3, 3)})`.padEnd(24)} ` +
        `${(base ? pct(r.cpuOverheadPct) : '-').padStart(10)}   ${(r.tracerCpuPct === null ? '-' : `${f(r.tracerCpuPct)} %`).padStart(10)}` +
        `   ${(r.eventsPerSec === null ? '-' : `${f(r.eventsPerSec / 1000, 0)} k`).padStart(8)}` +
        `   ${(r.lost === null ? '-' : String(r.lost)).padStart(5)}   ${`${f(r.otherCpuPct)} %`.padStart(8)}`,
    );
  }
  lines.push('(tracer CPU and other CPU in % of one core; lost = events the kernel dropped or overwrote)');
  for (const r of rows) lines.push(`  ${r.config}: ${r.description}`);
  return lines.join('\n');
}

// -------------------------------------------------------------------------------------------------------------------

async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    const c = cleanups.pop();
    try {
      await c?.();
    } catch (e) {
      console.error(`bench:overhead: cleanup step failed: ${(e as Error).message}`);
    }
  }
  if (db !== undefined) {
    const d = db;
    db = undefined;
    await d.stop();
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0)
    throw new BenchError('the overhead experiment needs root (tracefs, apt-get): run it with sudo');
  const log = (s: string) => console.error(`bench:overhead: ${s}`);
  const needed: [string, string][] = [
    ['mariadbd', 'mariadb-server'],
    ['mariadb-install-db', 'mariadb-server'],
    ['sysbench', 'sysbench'],
  ];
  if (o.configs.includes('E')) needed.push(['bpftrace', 'bpftrace']);
  ensurePackages(needed, log);
  if (!existsSync(CLI) || !existsSync(join(ROOT, 'dist/cli/main.js'))) {
    throw new BenchError('dist/ is missing: run `npm run build` (npm run bench:overhead does it)');
  }
  mountTracefs(paths.tracefs);
  const has = kernelHas(paths);
  const analyses = ['syscall', 'wakeup', 'offcpu']
    .map((n) => findAnalysis(n))
    .filter((a): a is Analysis => a !== undefined);
  const { events } = liveEvents(paths, analyses, has, false);
  if (o.cpuProf !== undefined) mkdirSync(o.cpuProf, { recursive: true });

  const totalS = o.rounds * o.configs.length * (o.duration + 3) + o.warmup;
  log(
    `${o.rounds} rounds x ${o.configs.join('')} x ${o.duration} s, sysbench oltp_read_write ${o.tables} x ${o.tableSize} rows, ` +
      `${o.threads} threads; about ${Math.ceil(totalS / 60)} min after setup`,
  );
  log(`floor (B) events: ${events.join(' ')}`);
  db = await Mariadb.start({ bufferPoolMb: 1024 });
  log(`MariaDB started in ${db.dir} (socket only)`);
  await sysbench(o, db, [`--threads=${Math.min(o.tables, cpus().length * 2)}`, 'prepare']);
  log('tables prepared');
  if (o.warmup > 0) {
    await sysbench(o, db, [`--threads=${o.threads}`, `--time=${o.warmup}`, '--report-interval=0', 'run']);
    log(`warm-up (${o.warmup} s) done`);
  }
  const results: RunResult[] = [];
  const discarded: RunResult[] = [];
  const started = new Date();
  for (let round = 1; round <= o.rounds; round++) {
    for (const c of o.configs) {
      let r = await runOne(c, round, o, db, events, db.dir);
      // This machine is shared: a run during which other processes took a lot of CPU is repeated (up to
      // --retries times); the noisy attempts are kept in the JSON file, marked `discarded`.
      for (let k = 0; k < o.retries && r.otherCpuPct > o.maxOtherCpu; k++) {
        log(`round ${round} ${c}: other processes used ${r.otherCpuPct.toFixed(1)} % of a core, running it again`);
        discarded.push(r);
        await sleep(5000);
        r = await runOne(c, round, o, db, events, db.dir);
      }
      await finishTracerInfo(r, db.dir);
      results.push(r);
      log(
        `round ${round} ${c}: ${r.tps.toFixed(1)} tps` +
          (r.tracerCpuPct !== null ? `, tracer CPU ${r.tracerCpuPct.toFixed(1)} %` : '') +
          (r.eventsPerSec !== null ? `, ${(r.eventsPerSec / 1000).toFixed(0)} k events/s` : '') +
          (r.lost !== null ? `, lost ${r.lost}` : '') +
          `, other CPU ${r.otherCpuPct.toFixed(1)} %`,
      );
    }
  }
  const summary = summarize(results, o.configs);
  const table = formatTable(summary, o.configs.includes('A'));
  console.log(
    `\nsysbench oltp_read_write, ${o.rounds} interleaved rounds of ${o.duration} s (medians; overhead vs A)\n`,
  );
  console.log(table);
  const sbVersion = spawnSync('sysbench', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const record = {
    date: started.toISOString(),
    host: hostname(),
    kernel: release(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    sysbench: sbVersion.trim(),
    options: { ...o, cpuProf: o.cpuProf ?? null },
    floorEvents: events,
    summary,
    runs: results,
    discarded,
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\nresults: ${o.out}`);
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    console.error(`bench:overhead: ${sig}, cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}
process.on('exit', () => {
  // Last resort when an async cleanup could not run: nothing left started.
  db?.killSync();
});

try {
  await main();
} catch (e) {
  console.error(
    `bench:overhead: ${e instanceof BenchError || (e as Error).name === 'SetupError' ? (e as Error).message : (e as Error).stack}`,
  );
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
