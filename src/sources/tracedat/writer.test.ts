/**
 * The trace.dat writer: real ring-buffer pages captured live (test/fixtures/ftrace: 4 KiB and 16 KiB sub-buffers, an
 * overrun with lost-event flags) written as v6, v7 uncompressed and v7 zlib; our reader gives back exactly the
 * records of the pages, and trace-cmd 3.1.6 prints exactly what our `dump` formatter prints for the same file.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FIXTURES, fixtureSchema, loadCapture } from '../../../test/helpers/ftrace-fixture.ts';
import { CpuMerger } from '../../ftrace/merge.ts';
import { RecordFormatter } from '../../ftrace/report.ts';
import type { TraceRecord } from '../../ftrace/types.ts';
import { openTraceDat } from './index.ts';
import { type TraceDatMeta, writeTraceDat } from './writer.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lt-writer-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const traceCmd = spawnSync('trace-cmd', ['list', '-c'], { encoding: 'utf8' });
const hasTraceCmd = traceCmd.status === 0;
/** Debian's trace-cmd 3.1.6 is built with zstd only: it cannot read zlib files. */
const traceCmdZlib = hasTraceCmd && /\bzlib\b/.test(traceCmd.stdout);

function meta(capture: string): TraceDatMeta {
  const dir = join(FIXTURES, 'formats');
  const formats = readdirSync(dir)
    .filter((n) => n.includes('__'))
    .map((n) => ({ system: n.split('__')[0], text: readFileSync(join(dir, n), 'utf8') }));
  return {
    headerPage: readFileSync(join(FIXTURES, capture, 'header_page'), 'utf8'),
    headerEvent: readFileSync(join(dir, 'header_event'), 'utf8'),
    formats,
    kallsyms: '',
    printk: '',
    cmdlines: '',
  };
}

function pagesOf(bytes: Uint8Array, pageSize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + pageSize <= bytes.length; o += pageSize) out.push(bytes.subarray(o, o + pageSize));
  return out;
}

function recordKey(r: TraceRecord, origin: bigint): string {
  return `${r.cpu} ${origin + BigInt(r.ts)} ${r.id} ${r.pid} ${createHash('md5')
    .update(r.bytes.subarray(r.off, r.off + r.len))
    .digest('hex')}`;
}

for (const name of ['basic-4k', 'subbuf-16k', 'overrun']) {
  describe(`writer: capture ${name}`, () => {
    const cap = loadCapture(name);
    const pageSize = cap.layout.pageSize;
    const pages = cap.cpus.map((b) => pagesOf(b, pageSize));

    /** The records of the captured pages, merged as a live run would deliver them. */
    function direct(origin: bigint): { keys: string[]; lost: number[] } {
      const m = new CpuMerger({
        cpus: pages.length,
        layout: cap.layout,
        schema: fixtureSchema(),
        origin,
        maxPagesPerCpu: Math.max(...pages.map((p) => p.length)) + 1,
      });
      for (let c = 0; c < pages.length; c++) for (const p of pages[c]) m.addPage(c, p);
      const keys: string[] = [];
      m.drain({ record: (r) => keys.push(recordKey(r, origin)) });
      return { keys, lost: m.stats.lostPerCpu };
    }

    for (const [version, compression] of [
      [6, 'none'],
      [7, 'none'],
      [7, 'zlib'],
    ] as const) {
      it(`v${version} ${compression}: our reader gives back every record; trace-cmd report prints what dump prints`, async () => {
        const file = join(tmp, `${name}-v${version}-${compression}.dat`);
        await writeTraceDat(file, {
          version,
          compression,
          meta: meta(name),
          cpus: pages.length,
          traceClock: '[mono] local',
          tool: 'latency-tracker test',
          buffers: [{ name: '', clock: 'mono', pageSize, cpus: pages.map((p, cpu) => ({ cpu, pages: () => p })) }],
        });
        const src = await openTraceDat(file);
        assert.deepEqual(
          [src.version, src.compression, src.layout.pageSize, src.clock],
          [version, compression, pageSize, 'mono'],
        );
        const keys: string[] = [];
        const lines: string[] = [];
        const fmt = new RecordFormatter(src.schema, { origin: src.originNs, clock: src.clock, comm: src.comm });
        const stats = await src.run({
          record(r) {
            keys.push(recordKey(r, src.originNs));
            lines.push(fmt.formatLine(r));
          },
        });
        const want = direct(src.originNs);
        assert.ok(keys.length > 300, `${keys.length} records`);
        assert.deepEqual(keys, want.keys);
        assert.deepEqual(stats.lostPerCpu, want.lost);
        // The overrun capture's pages carry the kernel's lost-event flags and counts: they survive the file.
        if (name === 'overrun') assert.ok(stats.lossReports > 0, 'lost-event flags kept');
        assert.deepEqual(stats.errors, {});
        if (!hasTraceCmd || (compression === 'zlib' && !traceCmdZlib)) return;
        const report = execFileSync('trace-cmd', ['report', '-R', '-t', file], {
          encoding: 'utf8',
          maxBuffer: 1 << 30,
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        const theirs = report.split('\n').filter((l) => l !== '' && !l.startsWith('cpus=') && !l.startsWith('CPU:'));
        assert.equal(theirs.length, lines.length);
        assert.deepEqual(theirs, lines);
      });
    }
  });
}

describe('CPU statistics', () => {
  it('losses the pages do not carry (dropped events, commit overruns) are read from CPUSTAT, per buffer', async () => {
    const stat = (cpu: number, dropped: number, commit: number) =>
      `CPU: ${cpu}\nentries: 0\noverrun: 7\ncommit overrun: ${commit}\nbytes: 0\ndropped events: ${dropped}\n`;
    const cap = loadCapture('basic-4k');
    const ps = cap.layout.pageSize;
    const run = async (cpuStats: string[]) => {
      const file = join(tmp, 'cpustat.dat');
      await writeTraceDat(file, {
        version: 7,
        compression: 'none',
        meta: meta('basic-4k'),
        cpus: 2,
        cpuStats,
        buffers: [{ name: '', clock: 'mono', pageSize: ps, cpus: [{ cpu: 0, pages: () => pagesOf(cap.cpus[0], ps) }] }],
      });
      const src = await openTraceDat(file);
      const lost: [number, number][] = [];
      const stats = await src.run({ record() {}, lost: (cpu, n) => lost.push([cpu, n]) });
      return { lost, stats };
    };
    const without = await run([]);
    const withStats = await run([stat(0, 3, 1), stat(1, 0, 0)]);
    assert.deepEqual(withStats.lost, [...without.lost, [0, 4]]);
    assert.deepEqual(withStats.stats.lostPerCpu.slice(0, 2), [without.stats.lostPerCpu[0] + 4, 0]);
    // An instance's statistics come after a `Buffer: NAME` separator: they are not the top buffer's.
    const { statLosses } = await import('./index.ts');
    const m = statLosses([stat(0, 1, 0), '\nBuffer: fx\n\n', stat(0, 5, 2)], 'fx');
    assert.deepEqual([...m], [[0, 7]]);
  });
});
