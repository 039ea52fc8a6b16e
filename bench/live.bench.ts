/**
 * The live reader's own CPU: under a steady syscall load, how much CPU our process uses per 100 k events/s of kernel
 * events delivered — the reader alone (decode + merge, no analyses), and with the syscall/wakeup/offcpu analyses.
 * Needs root. Measures the built package (`dist/`).
 */
import { spawn } from 'node:child_process';
import { Engine } from '../dist/analyses/engine.js';
import { findAnalysis } from '../dist/analyses/index.js';
import { resolvePaths } from '../dist/paths.js';
import { LiveSource } from '../dist/sources/tracefs/source.js';

export interface LiveBenchRow {
  name: string;
  eventsPerSec: number;
  cpuPercent: number;
  /** CPU % of one core per 100 k events/s. */
  cpuPer100k: number;
  lost: number;
}

const EVENTS = ['raw_syscalls:sys_enter', 'raw_syscalls:sys_exit', 'sched:sched_switch', 'sched:sched_waking'];

async function measure(name: string, seconds: number, withAnalyses: boolean): Promise<LiveBenchRow> {
  const src = LiveSource.open({ paths: resolvePaths(), events: EVENTS });
  let n = 0;
  const count = {
    record() {
      n++;
    },
  };
  let sink: { record(r: unknown): void } = count;
  let engine: Engine | undefined;
  if (withAnalyses) {
    const analyses = ['syscall', 'wakeup', 'offcpu'].map((a) => findAnalysis(a)).filter((a) => a !== undefined);
    engine = new Engine(src, analyses, { settings: { syscall: { threshold: 3600e9 } } }, () => {});
    sink = engine;
  }
  const running = src.run(sink as never);
  // The load: a byte-by-byte dd (two syscalls per byte) on each CPU, for the measured time.
  const loads = [0, 1].map(() =>
    spawn('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${300_000 * seconds}`], { stdio: 'ignore' }),
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  for (const l of loads) l.kill();
  src.stop();
  const stats = await running;
  const delivered = engine !== undefined ? engine.records : n;
  const eventsPerSec = delivered / wall;
  const cpuPercent = ((cpu.user + cpu.system) / 1e6 / wall) * 100;
  return {
    name,
    eventsPerSec,
    cpuPercent,
    cpuPer100k: cpuPercent / (eventsPerSec / 1e5),
    lost: stats.lostPerCpu.reduce((a, b) => a + b, 0),
  };
}

export async function liveBench(seconds = 5): Promise<LiveBenchRow[]> {
  if (process.getuid?.() !== 0) throw new Error('the live benchmark needs root');
  return [
    await measure('reader only (decode + merge)', seconds, false),
    await measure('reader + syscall/wakeup/offcpu', seconds, true),
  ];
}
