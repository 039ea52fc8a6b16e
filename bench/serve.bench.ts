/**
 * The daemon's own CPU and memory (issue 6): `latency-tracker serve` (the built package) under the live benchmark's
 * paced load (two processes writing to /dev/null, about 300 k kernel events/s) plus a steady 10 outliers/s (a
 * process sleeping 100 ms in a loop, with the syscall threshold at 50 ms), measured from /proc/PID/stat:
 *
 *   idle      nobody connected: the reader and the analyses alone
 *   served    the dashboard open in Chromium (SSE stream + its polling) and /metrics scraped every second
 *
 * Phases alternate (idle, served, idle, served) so drift in the load shows up; the difference is what serving and
 * the stream add. Needs root and /usr/bin/chromium.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/latency-tracker.js', import.meta.url));
const TICK = 100; // USER_HZ

export interface ServePhase {
  name: string;
  cpuPercent: number;
  rssMiB: number;
  eventsPerSec: number;
  outliersPerSec: number;
  streamed: number;
  scrapes: number;
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]); // utime + stime
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) / 1024;
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path }, (res) => {
      let t = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (t += d));
      res.on('end', () => resolve(t));
    });
    r.on('error', reject);
    r.end();
  });
}

function metric(text: string, re: RegExp): number {
  let sum = 0;
  for (const m of text.matchAll(re)) sum += Number(m[1]);
  return sum;
}

/**
 * `isolated`: no kernel reader (bench/serve-child.ts: profiles from the shared trace, 10 synthetic outliers/s), so
 * the difference between phases is the serving cost alone, free of the reader's noise on a shared machine.
 */
export async function serveBench(seconds = 15, rate = 300_000, isolated = false): Promise<ServePhase[]> {
  if (process.getuid?.() !== 0) throw new Error('the serve benchmark needs root');
  const args = isolated
    ? ['--import', 'tsx', fileURLToPath(new URL('./serve-child.ts', import.meta.url)), '10']
    : [BIN, 'serve', '--no-store', '--listen', '127.0.0.1:0', '-t', 'syscall=50ms'];
  const daemon = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  daemon.stdout.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    daemon.stdout.on('data', (d: string) => {
      out += d;
      const m = /Dashboard: http:\/\/[^:]+:(\d+)\/|^PORT (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1] ?? m[2]));
    });
    daemon.on('exit', () => reject(new Error(`serve exited: ${out}`)));
  });
  const perProc = Math.round(rate / 4);
  const py =
    `import os, time\nfd = os.open('/dev/null', os.O_WRONLY)\nt = time.time(); n = 0\n` +
    `while True:\n    for i in range(500): os.write(fd, b'x')\n    n += 500\n` +
    `    d = n / ${perProc} - (time.time() - t)\n    if d > 0: time.sleep(d)\n`;
  const loads = isolated ? [] : [0, 1].map(() => spawn('python3', ['-c', py], { stdio: 'ignore' }));
  const sleeper = spawn('python3', ['-c', 'import time\nwhile True: time.sleep(0.1)'], { stdio: 'ignore' });
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'lt-bench-chromium-'));
  const phases: ServePhase[] = [];
  try {
    await new Promise((r) => setTimeout(r, 3000)); // let the load settle
    for (const served of [false, true, false, true]) {
      let ctx: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
      let scraper: NodeJS.Timeout | undefined;
      let scrapes = 0;
      if (served) {
        ctx = await chromium.launchPersistentContext(profile, {
          executablePath: '/usr/bin/chromium',
          headless: true,
          args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
          viewport: { width: 1366, height: 900 },
        });
        const page = ctx.pages()[0] ?? (await ctx.newPage());
        await page.goto(`http://127.0.0.1:${port}/#/a/syscall`);
        await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
        scraper = setInterval(() => {
          scrapes++;
          get(port, '/metrics').catch(() => {});
        }, 1000);
      }
      const m0 = await get(port, '/metrics');
      const c0 = cpuTicks(daemon.pid as number);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const c1 = cpuTicks(daemon.pid as number);
      const wall = (performance.now() - t0) / 1000;
      const m1 = await get(port, '/metrics');
      if (scraper !== undefined) clearInterval(scraper);
      const rss = rssMiB(daemon.pid as number);
      await ctx?.close();
      const records = /^latency_tracker_records_total (\d+)$/gm;
      const outl = /^latency_tracker_outliers_total\{[^}]*\} (\d+)$/gm;
      const sent = /^latency_tracker_stream_sent_outliers_total (\d+)$/gm;
      phases.push({
        name: served ? 'served (dashboard + scrape 1/s)' : 'idle (no client)',
        cpuPercent: ((c1 - c0) / TICK / wall) * 100,
        rssMiB: rss,
        eventsPerSec: (metric(m1, records) - metric(m0, records)) / wall,
        outliersPerSec: (metric(m1, outl) - metric(m0, outl)) / wall,
        streamed: metric(m1, sent) - metric(m0, sent),
        scrapes,
      });
    }
  } finally {
    for (const l of loads) l.kill();
    sleeper.kill();
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    rmSync(profile, { recursive: true, force: true });
  }
  return phases;
}
