import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stackReader } from '../../ftrace/stack.ts';
import type { TraceRecord } from '../../ftrace/types.ts';
import { forEachPage, openTraceDat, TraceDatError, type TraceDatSource } from './index.ts';
import { writeTraceDat } from './writer.ts';

const DIR = new URL('../../../../shared/traces/tracecmd-x86-vm/', import.meta.url).pathname;
const V7 = `${DIR}trace.dat`;
const V6 = `${DIR}trace-v6.dat`;
const have = existsSync(V7) && existsSync(V6);
const hasTraceCmd = spawnSync('trace-cmd', ['--version'], { stdio: 'ignore' }).status !== null;
const tmp = mkdtempSync(join(tmpdir(), 'lt-tracedat-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Digest of every delivered record (cpu, time, id, pid, payload bytes) and the count. */
async function digest(src: TraceDatSource, filter?: (r: TraceRecord) => boolean) {
  const h = createHash('sha256');
  let n = 0;
  const head = new DataView(new ArrayBuffer(24));
  const stats = await src.run({
    record(r) {
      if (filter && !filter(r)) return;
      n++;
      head.setUint32(0, r.cpu);
      head.setBigInt64(4, src.originNs + BigInt(r.ts));
      head.setUint32(12, r.id);
      head.setInt32(16, r.pid);
      head.setUint32(20, r.len);
      h.update(new Uint8Array(head.buffer));
      h.update(r.bytes.subarray(r.off, r.off + r.len));
    },
  });
  return { n, sha: h.digest('hex'), stats };
}

async function pagesOf(src: TraceDatSource, cpu: number): Promise<Uint8Array[]> {
  const pages: Uint8Array[] = [];
  await forEachPage(src, cpu, (b, o, n) => pages.push(b.slice(o, o + n)));
  return pages;
}

describe('trace.dat structure', { skip: have ? false : 'no shared trace fixtures' }, () => {
  it('reads v7 metadata: formats, buffers, options, comms', async () => {
    const src = await openTraceDat(V7);
    assert.deepEqual([src.version, src.compression, src.cpus, src.arch], [7, 'zstd', 2, 'x86_64']);
    assert.equal(src.uname, 'Linux vm 6.18.44-fc-v669 x86_64');
    assert.deepEqual(src.formatErrors, []);
    assert.equal(src.schema.formats.filter((f) => f.system === 'ftrace').length, 18);
    assert.equal(src.schema.formats.filter((f) => f.system !== 'ftrace').length, 2305);
    assert.equal(new Set(src.schema.formats.map((f) => f.system)).size, 102);
    assert.equal(src.schema.find('raw_syscalls:sys_enter')?.id, 443);
    assert.deepEqual(
      src.buffers.map((b) => [b.name, b.cpus, b.pageSize]),
      [
        ['', [], 4096],
        ['fx_26721', [0, 1], 4096],
      ],
    );
    assert.equal(src.buffer, 'fx_26721');
    assert.equal(src.originNs, 1055839758240n); // CPU1's first page (notes §6)
    assert.equal(src.comm(2026), 'cat');
    assert.equal(src.comm(15), 'rcu_preempt');
    assert.equal(src.comm(999999), undefined);
  });

  it('v6 gives the same metadata and the same records as v7', async () => {
    const a = await openTraceDat(V7);
    const b = await openTraceDat(V6);
    assert.deepEqual([b.version, b.compression, b.cpus, b.buffer, b.originNs], [6, 'none', 2, 'fx_26721', a.originNs]);
    assert.equal(b.schema.formats.length, a.schema.formats.length);
    const [da, db] = [await digest(a), await digest(b)];
    assert.equal(da.n, 204585);
    assert.deepEqual(db, da);
  });

  it('chooses buffers by name and names the choices on a bad one', async () => {
    const top = await openTraceDat(V7, { buffer: '' });
    assert.equal((await top.run({ record() {} })).records, 0);
    await assert.rejects(
      openTraceDat(V7, { buffer: 'nope' }),
      (e: unknown) =>
        e instanceof TraceDatError && /no buffer named "nope" \(buffers: \(top\), fx_26721\)/.test(e.message),
    );
    await assert.rejects(openTraceDat(`${DIR}README.md`), (e: unknown) => e instanceof TraceDatError && e.offset === 0);
  });

  it('reports progress up to the file size', async () => {
    const seen: number[] = [];
    let total = 0;
    const src = await openTraceDat(V6, {
      onProgress: (d, t) => {
        seen.push(d);
        total = t;
      },
    });
    await src.run({ record() {} });
    assert.ok(seen.length >= 5, `${seen.length} progress calls`);
    assert.deepEqual(
      [...seen].sort((x, y) => x - y),
      seen,
    );
    assert.equal(seen.at(-1), total);
  });

  it('symbolizes kernel stacks from the embedded kallsyms as trace-cmd report does', {
    skip: !hasTraceCmd,
  }, async () => {
    const text = execFileSync('trace-cmd', ['report', V7], {
      maxBuffer: 256 << 20,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const want: [bigint, string][] = [];
    for (const m of text.matchAll(/^=> (\S+) \(([0-9a-f]+)\)$/gm)) want.push([BigInt(`0x${m[2]}`), m[1]]);
    assert.ok(want.length > 10000, `${want.length} stack lines`);
    const src = await openTraceDat(V7);
    const sym = src.symbols;
    assert.ok(sym);
    let checked = 0;
    for (const [addr, name] of want) {
      const s = sym.format(Number(addr >> 32n), Number(addr & 0xffffffffn));
      assert.equal(s.replace(/\+0x[0-9a-f]+$/, ''), name, `0x${addr.toString(16)}`);
      checked++;
    }
    assert.equal(checked, want.length);
    // And the stack reader yields those same addresses, in order.
    const ks = src.schema.find('ftrace:kernel_stack');
    assert.ok(ks);
    const read = stackReader(ks, src.schema);
    const scratch = new Uint32Array(64);
    const ours: bigint[] = [];
    await src.run({
      record(r) {
        if (r.id !== ks.id) return;
        const n = read(r, scratch); // trace-cmd's kernel_stack handler prints all `size` entries
        for (let k = 0; k < n; k++) ours.push((BigInt(scratch[2 * k]) << 32n) | BigInt(scratch[2 * k + 1]));
      },
    });
    assert.deepEqual(
      ours,
      want.map(([a]) => a),
    );
  });

  it('reads v7 uncompressed files made by trace-cmd convert', { skip: !hasTraceCmd }, async () => {
    const out = join(tmp, 'none.dat');
    execFileSync('trace-cmd', ['convert', '-i', V7, '--compression', 'none', '-o', out], { stdio: 'ignore' });
    const src = await openTraceDat(out);
    assert.deepEqual([src.version, src.compression], [7, 'none']);
    assert.deepEqual(await digest(src), await digest(await openTraceDat(V7)));
  });

  it('reads v7 zlib files with a sparse CPU list, an empty compressed top buffer and chained OPTIONS', async () => {
    const orig = await openTraceDat(V7);
    const cpu1 = await pagesOf(orig, 1);
    const out = join(tmp, 'zlib.dat');
    await writeTraceDat(out, {
      version: 7,
      compression: 'zlib',
      meta: orig.info,
      cpus: 4,
      offBy4: true,
      buffers: [
        { name: '', clock: 'local', pageSize: 4096, cpus: [] },
        { name: 'only-cpu1', clock: 'mono', pageSize: 4096, cpus: [{ cpu: 1, pages: () => cpu1 }] },
      ],
    });
    const src = await openTraceDat(out);
    assert.deepEqual([src.compression, src.cpus, src.buffer, src.clock], ['zlib', 4, 'only-cpu1', 'mono']);
    assert.deepEqual(
      src.buffers.map((b) => [b.name, b.cpus]),
      [
        ['', []],
        ['only-cpu1', [1]],
      ],
    );
    const got = await digest(src);
    const want = await digest(orig, (r) => r.cpu === 1);
    assert.equal(got.n, 62303); // CPU1's records (notes: CPU0 142 282, CPU1 62 303)
    assert.equal(got.sha, want.sha);
    // The recorded per-CPU size is 4 short (trace-cmd < 2023) or exact: both read the same.
    const exact = join(tmp, 'zlib-exact.dat');
    await writeTraceDat(exact, {
      version: 7,
      compression: 'zlib',
      meta: orig.info,
      cpus: 2,
      offBy4: false,
      buffers: [{ name: 'x', clock: 'local', pageSize: 4096, cpus: [{ cpu: 1, pages: () => cpu1 }] }],
    });
    assert.equal((await digest(await openTraceDat(exact))).sha, want.sha);
  });
});
