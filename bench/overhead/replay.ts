/**
 * Replays a capture (`capture.ts`) through the live path's user-space code — sub-buffers into the merger's pool,
 * page walk, per-CPU merge to a watermark every ~100 ms of input, the engine with the analyses and profiles — and
 * prints its CPU time per record. Deterministic input, no kernel, no read syscalls: the figure to compare builds by.
 *
 *   node --import tsx bench/overhead/replay.ts [--dir .bench-data/capture] [--dist dist] \
 *        [--analyses syscall,wakeup,offcpu] [--reps 6]
 *
 * `--dist` picks the build to measure (e.g. an older commit built elsewhere); `--analyses none` measures decode and
 * merge alone.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const dir = opt('--dir', '.bench-data/capture');
const dist = resolve(opt('--dist', 'dist'));
const names = opt('--analyses', 'syscall,wakeup,offcpu');
const reps = Number(opt('--reps', '6'));

const { parseEventFormat, parseHeaderPage } = await import(join(dist, 'ftrace/format.js'));
const { CpuMerger } = await import(join(dist, 'ftrace/merge.js'));
const { EventSchema } = await import(join(dist, 'ftrace/schema.js'));
const { Engine } = await import(join(dist, 'analyses/engine.js'));
const { findAnalysis } = await import(join(dist, 'analyses/index.js'));

const cap = JSON.parse(readFileSync(join(dir, 'formats.json'), 'utf8')) as {
  pageSize: number;
  formats: Record<string, string>;
};
const pageSize = cap.pageSize;
const layout = parseHeaderPage(cap.formats.header_page, { littleEndian: true, source: 'header_page' });
layout.pageSize = pageSize;
const formats = Object.entries(cap.formats)
  .filter(([k]) => k !== 'header_page')
  .map(([k, text]) => parseEventFormat(text, k.split(':')[0], { longSize: 8, source: k }));
const schema = new EventSchema(formats, 8, true);
const data: Uint8Array[] = [];
for (let c = 0; ; c++) {
  try {
    data.push(new Uint8Array(readFileSync(join(dir, `cpu${c}.bin`))));
  } catch {
    break;
  }
}
const cpus = data.length;
const pages = data.map((b) => Math.floor(b.length / pageSize));
const first = data.map((b) => (b.length >= 8 ? new DataView(b.buffer, b.byteOffset).getBigUint64(0, true) : 0n));
// biome-ignore lint/complexity/useMathMinMax: bigint values; Math.min does not take them
const origin = first.filter((t) => t > 0n).reduce((a, b) => (b < a ? b : a));
// About 100 ms of input per cycle, as the live reader does (~1 500 sub-buffers/s under the MariaDB load).
const total = pages.reduce((a, b) => a + b, 0);
const perCycle = pages.map((p) => Math.max(1, Math.round((p / total) * 150)));

function once(): { records: number; cpuMs: number } {
  const source = {
    kind: 'tracefs',
    schema,
    cpus,
    originNs: origin,
    clock: 'mono',
    arch: 'x86_64',
    comm: () => undefined,
    tgid: () => undefined,
    symbols: undefined,
    run: async () => ({}),
    stop() {},
  };
  let counted = 0;
  const sink =
    names === 'none'
      ? {
          record() {
            counted++;
          },
        }
      : new Engine(
          source,
          names.split(',').map((n) => findAnalysis(n)),
          { settings: {} },
          () => {},
        );
  const merger = new CpuMerger({ cpus, layout, schema, origin, maxPagesPerCpu: 512 });
  const pos = new Array(cpus).fill(0);
  const c0 = process.cpuUsage();
  while (pos.some((p, c) => p < pages[c])) {
    for (let c = 0; c < cpus; c++) {
      for (let k = 0; k < perCycle[c] && pos[c] < pages[c]; k++, pos[c]++) {
        merger.addPage(c, data[c], pos[c] * pageSize, pageSize);
      }
    }
    let limit = Number.POSITIVE_INFINITY;
    for (let c = 0; c < cpus; c++) if (pos[c] < pages[c]) limit = Math.min(limit, merger.lastTs(c));
    merger.drain(sink, limit);
    if ('tick' in sink && Number.isFinite(limit)) sink.tick(limit);
  }
  merger.drain(sink);
  const u = process.cpuUsage(c0);
  return { records: 'records' in sink ? sink.records : counted, cpuMs: (u.user + u.system) / 1000 };
}

const per: number[] = [];
for (let i = 0; i < reps; i++) {
  const r = once();
  per.push((r.cpuMs * 1e6) / r.records);
  console.log(`run ${i + 1}: ${r.records} records, ${r.cpuMs.toFixed(0)} ms CPU = ${per[i].toFixed(1)} ns/record`);
}
const sorted = [...per].sort((a, b) => a - b);
console.log(
  `${dist} ${names}: best ${sorted[0].toFixed(1)} ns/record, median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)}`,
);
