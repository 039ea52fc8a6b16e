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

async function measure(name: string, seconds: number, rate: number, withAnalyses: boolean): Promise<LiveBenchRow> {
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
  // The load: two processes writing one byte to /dev/null at a paced rate (two syscall events per write), about
  // `rate` kernel events/s in all, like the DESIGN's busy 2-CPU database.
  const perProc = Math.round(rate / 4);
  const py =
    `import os, time\nfd = os.open('/dev/null', os.O_WRONLY)\nt = time.time(); n = 0\n` +
    `while time.time() - t < ${seconds + 1}:\n    for i in range(500): os.write(fd, b'x')\n    n += 500\n` +
    `    d = n / ${perProc} - (time.time() - t)\n    if d > 0: time.sleep(d)\n`;
  const loads = [0, 1].map(() => spawn('python3', ['-c', py], { stdio: 'ignore' }));
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

export async function liveBench(seconds = 5, rate = 300_000): Promise<LiveBenchRow[]> {
  if (process.getuid?.() !== 0) throw new Error('the live benchmark needs root');
  return [
    await measure('reader only (decode + merge)', seconds, rate, false),
    await measure('reader + syscall/wakeup/offcpu', seconds, rate, true),
  ];
}
