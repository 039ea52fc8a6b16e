/**
 * The working trace.dat of `record`: after every step (a page written, a read cycle committed, a region moved) the
 * file as it is on disk — what a SIGKILL would leave — is read by our reader and by trace-cmd, and both give exactly
 * the records of the pages committed so far. `finish` then writes the compact final file with the same records.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FIXTURES, loadCapture } from '../../../test/helpers/ftrace-fixture.ts';
import { openTraceDat } from './index.ts';
import { RecordingFile } from './recording.ts';
import type { TraceDatMeta } from './writer.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lt-recording-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const hasTraceCmd = spawnSync('trace-cmd', ['--version'], { stdio: 'ignore' }).status !== null;

function meta(capture: string): TraceDatMeta {
  const dir = join(FIXTURES, 'formats');
  return {
    headerPage: readFileSync(join(FIXTURES, capture, 'header_page'), 'utf8'),
    headerEvent: readFileSync(join(dir, 'header_event'), 'utf8'),
    formats: readdirSync(dir)
      .filter((n) => n.includes('__'))
      .map((n) => ({ system: n.split('__')[0], text: readFileSync(join(dir, n), 'utf8') })),
    kallsyms: '',
    printk: '',
    cmdlines: '1 init\n',
  };
}

/** Records of a file as `cpu ts id` keys, by our reader (with its data errors). */
async function ours(file: string): Promise<{ keys: string[]; errors: Record<string, number> }> {
  const src = await openTraceDat(file);
  const keys: string[] = [];
  const stats = await src.run({ record: (r) => keys.push(`${r.cpu} ${src.originNs + BigInt(r.ts)} ${r.id}`) });
  return { keys, errors: stats.errors };
}

/** Number of records trace-cmd reports. */
function theirs(file: string): number {
  const out = execFileSync('trace-cmd', ['report', '-R', '-t', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return out.split('\n').filter((l) => /\[\d{3}\]\s+\d+\.\d{9}:/.test(l)).length;
}

for (const [version, name] of [
  [6, 'basic-4k'],
  [7, 'basic-4k'],
  [7, 'subbuf-16k'],
] as const) {
  describe(`recording file v${version}, ${name}`, () => {
    const cap = loadCapture(name);
    const ps = cap.layout.pageSize;
    const pages = cap.cpus.map((b) => {
      const out: Uint8Array[] = [];
      for (let o = 0; o + ps <= b.length; o += ps) out.push(b.subarray(o, o + ps));
      return out;
    });

    it('is readable by both readers after every step, exactly up to the last committed cycle', async () => {
      const path = join(tmp, `rec-v${version}-${name}.dat`);
      // Two pages of room: regions move several times.
      const rec = RecordingFile.create({
        path,
        version,
        compression: 'none',
        meta: meta(name),
        cpus: pages.length,
        pageSize: ps,
        clock: 'mono',
        traceClock: '[mono] local',
        uname: 'Linux test 6.18 x86_64',
        tool: 'test',
        initialPages: 2,
      });
      // The reference: all records, and how many belong to the first k pages of each CPU.
      const all = await (async () => {
        const f = join(tmp, `all-${version}-${name}.dat`);
        const r = RecordingFile.create({ ...rec.opts, path: f });
        for (let c = 0; c < pages.length; c++) for (const p of pages[c]) r.page(c, p, 0, p.length);
        r.commit();
        r.close();
        return (await ours(f)).keys;
      })();
      const committed = new Array(pages.length).fill(0);
      const snapshot = async (step: string) => {
        const copy = join(tmp, 'snapshot.dat');
        copyFileSync(path, copy);
        const got = await ours(copy);
        // Exactly the records of the committed pages: those of all records whose page index is committed.
        const want = await (async () => {
          const f = join(tmp, 'want.dat');
          const r = RecordingFile.create({ ...rec.opts, path: f });
          for (let c = 0; c < pages.length; c++) for (let i = 0; i < committed[c]; i++) r.page(c, pages[c][i], 0, ps);
          r.commit();
          r.close();
          return (await ours(f)).keys;
        })();
        assert.deepEqual(got.keys, want, step);
        assert.deepEqual(got.errors, {}, step);
        return got.keys.length;
      };
      // Interleave the CPUs' pages in cycles of 3 pages per CPU, snapshotting between every write and commit.
      const next = new Array(pages.length).fill(0);
      let cycles = 0;
      let checkedByTraceCmd = 0;
      while (next.some((n, c) => n < pages[c].length)) {
        for (let c = 0; c < pages.length; c++) {
          for (let k = 0; k < 3 && next[c] < pages[c].length; k++) {
            rec.page(c, pages[c][next[c]], 0, ps);
            next[c]++;
            if (cycles < 6) await snapshot(`cycle ${cycles} after cpu${c} page ${next[c]}`);
          }
        }
        rec.commit();
        for (let c = 0; c < pages.length; c++) committed[c] = next[c];
        const n = await snapshot(`cycle ${cycles} committed`);
        if (hasTraceCmd && (cycles % 7 === 0 || next.every((x, c) => x === pages[c].length))) {
          const copy = join(tmp, 'snapshot-tc.dat');
          copyFileSync(path, copy);
          assert.equal(theirs(copy), n, `trace-cmd at cycle ${cycles}`);
          checkedByTraceCmd++;
        }
        cycles++;
      }
      assert.ok(rec.stats.moves >= 2, `${rec.stats.moves} region moves`);
      assert.ok(checkedByTraceCmd >= 2 || !hasTraceCmd);
      assert.equal((await ours(path)).keys.length, all.length);
      // The final file: compact, same records, the comm table of the end.
      const size = await rec.finish('1 init\n42 worker\n');
      const fin = await openTraceDat(path);
      assert.equal(fin.comm(42), 'worker');
      assert.deepEqual((await ours(path)).keys, all);
      const pageBytes = pages.reduce((a, p) => a + p.length * ps, 0);
      assert.ok(size < pageBytes + 64 * 1024, `final file ${size} bytes for ${pageBytes} bytes of pages`);
      if (hasTraceCmd) assert.equal(theirs(path), all.length);
    });
  });
}
