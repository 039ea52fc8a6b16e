/**
 * Captures the raw sub-buffers of the events `live syscall wakeup offcpu` enables, as the kernel hands them to a
 * reader, for `replay.ts` (a repeatable measure of the live path's user-space cost per record, without the noise of
 * a live run). Run it while a load runs (e.g. the MariaDB of `bench:overhead`):
 *
 *   node --import tsx bench/overhead/capture.ts [--seconds 8] [--out .bench-data/capture]
 *
 * Writes `formats.json` (sub-buffer size, header_page and the event formats) and `cpuN.bin` (the sub-buffers of CPU
 * N, back to back). Uses its own private instance `lt-capture-<pid>`, removed on exit. Needs root.
 */
import { constants, mkdirSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findAnalysis } from '../../src/analyses/index.ts';
import type { Analysis } from '../../src/analyses/types.ts';
import { liveEvents } from '../../src/cli/commands.ts';
import { kernelHas } from '../../src/cli/list.ts';
import { resolvePaths } from '../../src/paths.ts';
import { TracefsInstance } from '../../src/sources/tracefs/instance.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const seconds = Number(opt('--seconds', '8'));
const out = opt('--out', '.bench-data/capture');
const paths = resolvePaths();
const analyses = ['syscall', 'wakeup', 'offcpu'].map((n) => findAnalysis(n)).filter((a): a is Analysis => !!a);
const { events } = liveEvents(paths, analyses, kernelHas(paths), false);
const inst = TracefsInstance.create({ paths, name: `lt-capture-${process.pid}`, subbufKb: 16, bufferKb: 65536 });
try {
  const formats: Record<string, string> = { header_page: inst.readOptional('events/header_page') ?? '' };
  for (const e of events) {
    const [sys, name] = e.split(':');
    inst.enableEvent(e);
    formats[e] = inst.readOptional(`events/${sys}/${name}/format`) ?? '';
  }
  inst.setNotracePids([process.pid]);
  const fds = Array.from({ length: inst.cpus }, (_, c) =>
    inst.openCpuFile(c, 'trace_pipe_raw', constants.O_RDONLY | constants.O_NONBLOCK),
  );
  const chunks: Buffer[][] = fds.map(() => []);
  const buf = Buffer.alloc(inst.pageSize);
  const end = Date.now() + seconds * 1000;
  inst.start();
  for (;;) {
    const last = Date.now() > end;
    if (last) inst.stop();
    for (let c = 0; c < fds.length; c++) {
      for (;;) {
        let n = 0;
        try {
          n = readSync(fds[c], buf, 0, buf.length, null);
        } catch {
          break; // EAGAIN: drained
        }
        if (n <= 0) break;
        chunks[c].push(Buffer.from(buf.subarray(0, n)));
      }
    }
    if (last) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'formats.json'), JSON.stringify({ pageSize: inst.pageSize, formats }));
  for (let c = 0; c < fds.length; c++) writeFileSync(join(out, `cpu${c}.bin`), Buffer.concat(chunks[c]));
  const lost = Array.from({ length: inst.cpus }, (_, c) => inst.cpuStats(c)).map((s) => s.overrun + s.dropped);
  console.log(`captured ${chunks.map((c) => c.length).join(' + ')} sub-buffers into ${out} (lost ${lost.join(' + ')})`);
} finally {
  inst.remove();
}
