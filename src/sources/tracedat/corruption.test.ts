// test-timeout: 300s
/**
 * Damaged trace.dat files: the shared fixture (v7 zstd and v6) truncated at every section boundary and at a few
 * hundred random offsets, and with random bytes flipped (seeded). Every case must end, within a time bound, either
 * with one TraceDatError line naming a file offset, or with the valid part decoded and the damage counted in
 * SourceStats — never another exception, a hang or unbounded memory. Cases run in a worker so that even a
 * synchronous endless loop is caught (the worker is terminated).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import type { CaseResult } from '../../../test/helpers/corruption-worker.ts';
import { rng } from '../../../test/helpers/ftrace-fixture.ts';
import { openTraceDat } from './index.ts';

const DIR = new URL('../../../../shared/traces/tracecmd-x86-vm/', import.meta.url).pathname;
const WORKER = new URL('../../../test/helpers/corruption-worker.mjs', import.meta.url);
const have = existsSync(`${DIR}trace.dat`) && existsSync(`${DIR}trace-v6.dat`);
const shm = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const tmp = mkdtempSync(join(shm, 'lt-corrupt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const CASE_TIMEOUT_MS = 30_000;
const RSS_LIMIT = 1024 * 1024 * 1024;

interface Case {
  what: string;
  /** Made when the case runs (copies of a 10 MB file for hundreds of cases would dwarf what is measured). */
  bytes: () => Uint8Array;
  truncated: boolean;
}

class Runner {
  private w: Worker;
  constructor() {
    this.w = new Worker(WORKER);
  }
  run(id: number, path: string): Promise<CaseResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void this.w.terminate();
        this.w = new Worker(WORKER);
        reject(new Error(`case ${id} did not finish within ${CASE_TIMEOUT_MS} ms`));
      }, CASE_TIMEOUT_MS);
      const onMsg = (r: CaseResult) => {
        if (r.id !== id) return;
        clearTimeout(timer);
        this.w.off('message', onMsg);
        this.w.off('error', onErr);
        resolve(r);
      };
      const onErr = (e: Error) => {
        clearTimeout(timer);
        reject(e);
      };
      this.w.on('message', onMsg);
      this.w.on('error', onErr);
      this.w.postMessage({ id, path });
    });
  }
  close() {
    return this.w.terminate();
  }
}

/** Section boundaries of a v7 file (linear walk of the 16-byte section headers) and of its CPU chunk streams. */
function v7Boundaries(b: Uint8Array, cpuOffsets: number[]): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = [0, 10, 12, 13, 14, 18];
  let at = 37;
  while (at + 16 <= b.length) {
    const size = Number(dv.getBigUint64(at + 8, true));
    out.push(at, at + 8, at + 16, at + 24);
    at += 16 + size;
  }
  for (const off of cpuOffsets) {
    out.push(off, off + 4);
    let p = off + 4;
    for (let k = 0; k < 3 && p + 8 <= b.length; k++) {
      p += 8 + dv.getUint32(p, true);
      out.push(p, p + 4, p + 8);
    }
  }
  return out;
}

async function cases(path: string, seed: number): Promise<{ list: Case[]; records: number; size: number }> {
  const orig = new Uint8Array(readFileSync(path));
  const src = await openTraceDat(path);
  const records = (await src.run({ record() {} })).records;
  const cpuOffsets = src.info.buffers.flatMap((b) => b.cpus.map((c) => c.offset));
  let bounds: number[];
  if (src.version === 7) bounds = v7Boundaries(orig, cpuOffsets);
  else {
    bounds = [0, 10, 12, 18, src.info.headerAt, ...src.info.formats.filter((_, i) => i % 150 === 0).map((f) => f.at)];
    for (const o of cpuOffsets) bounds.push(o, o + 8, o + 16, o + 4096, o + 4096 * 3 + 100);
  }
  const list: Case[] = [];
  const seen = new Set<number>();
  for (const b of bounds) {
    for (const d of [-1, 0, 1]) {
      const at = b + d;
      if (at < 0 || at >= orig.length || seen.has(at)) continue;
      seen.add(at);
      list.push({ what: `truncated at ${at} (boundary ${b})`, bytes: () => orig.subarray(0, at), truncated: true });
    }
  }
  const rand = rng(seed);
  for (let i = 0; i < 120; i++) {
    const at = Math.floor(rand() * orig.length);
    list.push({ what: `truncated at ${at}`, bytes: () => orig.subarray(0, at), truncated: true });
  }
  const dataStart = Math.min(...cpuOffsets);
  for (let i = 0; i < 160; i++) {
    const n = 1 + Math.floor(rand() * 16);
    const inData = i % 2 === 0;
    const flips: [number, number][] = [];
    for (let k = 0; k < n; k++) {
      const at = inData ? dataStart + Math.floor(rand() * (orig.length - dataStart)) : Math.floor(rand() * orig.length);
      flips.push([at, 1 + Math.floor(rand() * 255)]);
    }
    const bytes = () => {
      const b = orig.slice();
      for (const [at, x] of flips) b[at] ^= x;
      return b;
    };
    list.push({ what: `flipped bytes at ${flips.map(([a]) => a).join(',')}`, bytes, truncated: false });
  }
  return { list, records, size: orig.length };
}

describe('corrupt trace.dat files', { skip: have ? false : 'no shared trace fixtures' }, () => {
  for (const [file, seed] of [
    ['trace.dat', 1],
    ['trace-v6.dat', 2],
  ] as const) {
    it(`${file}: truncations and byte flips end cleanly, bounded in time and memory`, async () => {
      const { list, records, size } = await cases(`${DIR}${file}`, seed);
      const runner = new Runner();
      const tally = { errors: 0, decoded: 0, partial: 0 };
      let maxRss = 0;
      try {
        for (let i = 0; i < list.length; i++) {
          const c = list[i];
          const p = join(tmp, `case-${file}`);
          writeFileSync(p, c.bytes());
          const r = await runner.run(i, p).catch((e: Error) => {
            throw new Error(`${file} ${c.what}: ${e.message}`);
          });
          maxRss = Math.max(maxRss, r.rss);
          const label = `${file} ${c.what}`;
          if (r.outcome === 'error') {
            assert.ok(!r.message?.startsWith('UNEXPECTED'), `${label}: ${r.message}`);
            assert.ok(
              r.offset !== undefined && Number.isInteger(r.offset) && r.offset >= 0 && r.offset <= size,
              `${label}: offset ${r.offset}`,
            );
            assert.ok(!r.message?.includes('\n'), `${label}: one line`);
            assert.ok(r.message?.startsWith(`${p}: offset ${r.offset}: `), `${label}: ${r.message}`);
            tally.errors++;
          } else {
            tally.decoded++;
            if (c.truncated) {
              assert.ok(r.records <= records, `${label}: ${r.records} records`);
              if (r.records < records) {
                assert.ok(
                  Object.keys(r.errors).length > 0,
                  `${label}: ${r.records}/${records} records and no error counted`,
                );
                tally.partial++;
              }
            }
          }
        }
      } finally {
        await runner.close();
      }
      assert.ok(list.length > 350, `${list.length} cases`);
      assert.ok(tally.errors > 20 && tally.decoded > 20, JSON.stringify(tally));
      // v6 keeps its metadata in front, so a cut in the CPU data still decodes the part before it; v7 keeps the
      // BUFFER options (where each CPU's data is) after the data, so a cut v7 file is an error, as for trace-cmd.
      if (file === 'trace-v6.dat') assert.ok(tally.partial > 20, JSON.stringify(tally));
      console.log(
        `# ${file}: ${list.length} cases ${JSON.stringify(tally)}, peak RSS ${(maxRss / 2 ** 20).toFixed(0)} MiB`,
      );
      assert.ok(maxRss < RSS_LIMIT, `peak RSS ${maxRss}`);
    });
  }
});
