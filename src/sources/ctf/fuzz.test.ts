/**
 * Damaged input never crashes or hangs the reader: streams cut at many offsets, seeded byte flips in streams and in
 * metadata. Each case either opens and runs to the end with the damage counted in `SourceStats.errors` (and a
 * warning naming file and offset), or fails with a one-line `CtfError` — never another exception. The whole file is
 * time-bound by the test timeouts.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { rng } from '../../../test/helpers/ftrace-fixture.ts';
import { CtfError, CtfMetadataError, CtfStreamError } from './errors.ts';
import { openCtfTrace } from './index.ts';

const TRACES = new URL('../../../../shared/traces/', import.meta.url).pathname;
const ARM = `${TRACES}lttng-arm-bug446190/kernel`;
const SCP = `${TRACES}lttng-scp-dest/kernel`;

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'ctf-fuzz-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

let caseNo = 0;
/** A trace dir with `metadata` and one stream file `channel0_0` holding `stream`. */
async function makeTrace(metadata: Uint8Array | string, stream: Uint8Array): Promise<string> {
  const d = join(work, `case${caseNo++}`);
  await rm(d, { recursive: true, force: true });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(d);
  if (typeof metadata === 'string') await copyFile(metadata, join(d, 'metadata'));
  else await writeFile(join(d, 'metadata'), metadata);
  await writeFile(join(d, 'channel0_0'), stream);
  return d;
}

interface Outcome {
  kind: 'ran' | 'error';
  records: number;
  errors: Record<string, number>;
  warnings: string[];
  message?: string;
  /** The error was a CtfMetadataError (the metadata, not a stream, was found bad). */
  inMetadata?: boolean;
}

/** Opens and runs; anything thrown must be a CtfError with a one-line message. */
async function attempt(dir: string, strict = false): Promise<Outcome> {
  try {
    const src = await openCtfTrace(dir, { strict, chunkSize: 8192 });
    let records = 0;
    const stats = await src.run({
      record(r) {
        records++;
        assert.ok(r.len >= 8 && r.len <= 65535);
        assert.ok(Number.isFinite(r.ts));
      },
    });
    assert.equal(stats.records, records);
    return { kind: 'ran', records, errors: stats.errors, warnings: src.warnings };
  } catch (e) {
    assert.ok(e instanceof CtfError, `not a CtfError: ${(e as Error).stack}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.ok(e.message.length > 0 && e.message.length < 400);
    return {
      kind: 'error',
      records: 0,
      errors: {},
      warnings: [],
      message: e.message,
      inMetadata: e instanceof CtfMetadataError,
    };
  }
}

test('streams cut at many offsets: the part before the cut is decoded, the rest counted', {
  timeout: 120_000,
}, async () => {
  const stream = new Uint8Array(await readFile(join(ARM, 'channel0_2')));
  const full = await attempt(await makeTrace(join(ARM, 'metadata'), stream));
  assert.equal(full.kind, 'ran');
  assert.deepEqual(full.errors, {});
  const rnd = rng(1);
  const cuts = [1, 3, 4, 20, 24, 40, 63, 64, 65, 100, 1000, 4095, 4096, 4097, stream.length - 1];
  while (cuts.length < 60) cuts.push(Math.floor(rnd() * stream.length));
  let damaged = 0;
  for (const cut of cuts) {
    const o = await attempt(await makeTrace(join(ARM, 'metadata'), stream.subarray(0, cut)));
    if (o.kind === 'error') {
      // nothing decodable at all (cut inside the first packet header)
      assert.match(o.message!, /channel0_0|no stream files/);
      continue;
    }
    assert.ok(o.records <= full.records, `cut ${cut}: ${o.records} records`);
    const names = Object.keys(o.errors);
    assert.ok(names.length > 0, `cut ${cut}: the truncation is counted`);
    assert.ok(
      names.some((n) => n.startsWith('ctf_truncated')),
      `cut ${cut}: ${JSON.stringify(o.errors)}`,
    );
    assert.match(o.warnings[0], /channel0_0: offset \d+ \(0x[0-9a-f]+\): /);
    damaged++;
  }
  assert.ok(damaged > 40);
  // strict mode: the same damage is a one-line CtfStreamError
  const strict = await attempt(await makeTrace(join(ARM, 'metadata'), stream.subarray(0, 30000)), true);
  assert.equal(strict.kind, 'error');
  assert.match(strict.message!, /channel0_0: offset \d+ .*cut short/);
});

test('seeded byte flips in streams: no crash, no hang, damage counted', { timeout: 180_000 }, async () => {
  const sources = [
    { meta: join(ARM, 'metadata'), bytes: new Uint8Array(await readFile(join(ARM, 'channel0_2'))) },
    {
      meta: join(SCP, 'metadata'),
      bytes: new Uint8Array(await readFile(join(SCP, 'channel0_0'))).subarray(0, 300_000),
    },
  ];
  const rnd = rng(2);
  let ran = 0;
  let counted = 0;
  for (let k = 0; k < 60; k++) {
    const s = sources[k % 2];
    const b = s.bytes.slice();
    const flips = 1 + Math.floor(rnd() * 8);
    for (let f = 0; f < flips; f++) {
      // half of the flips land in the first 4 KiB (packet headers and contexts), half anywhere
      const at = rnd() < 0.5 ? Math.floor(rnd() * Math.min(4096, b.length)) : Math.floor(rnd() * b.length);
      b[at] ^= 1 << Math.floor(rnd() * 8);
    }
    const o = await attempt(await makeTrace(s.meta, b));
    if (o.kind === 'ran') {
      ran++;
      if (Object.keys(o.errors).length > 0) counted++;
    }
  }
  assert.ok(ran > 30, `${ran} of 60 ran to the end`);
  assert.ok(counted > 5, `${counted} runs counted damage`);
});

test('seeded byte flips in metadata: CtfMetadataError or a trace that still runs', { timeout: 180_000 }, async () => {
  const meta = new Uint8Array(await readFile(join(SCP, 'metadata')));
  const stream = new Uint8Array(await readFile(join(SCP, 'channel0_0'))).subarray(0, 200_000);
  const rnd = rng(3);
  let parsedErrors = 0;
  let ran = 0;
  for (let k = 0; k < 120; k++) {
    const b = meta.slice();
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips; f++) {
      // mostly in the TSDL text, sometimes in a metadata packet header
      const at = rnd() < 0.15 ? 4096 * Math.floor(rnd() * 9) + Math.floor(rnd() * 37) : Math.floor(rnd() * b.length);
      b[at] = rnd() < 0.5 ? b[at] ^ (1 << Math.floor(rnd() * 8)) : Math.floor(rnd() * 128);
    }
    const o = await attempt(await makeTrace(b, stream));
    if (o.kind === 'error') {
      parsedErrors++;
      assert.ok(o.inMetadata, o.message);
      assert.match(o.message!, /\/metadata: /);
    } else ran++;
  }
  assert.ok(parsedErrors > 20, `${parsedErrors} metadata errors`);
  assert.ok(ran > 10, `${ran} ran`);
});

test('error classes', () => {
  const e = new CtfStreamError('f', 16, 'x');
  assert.ok(e instanceof CtfError);
  assert.equal(e.message, 'f: offset 16 (0x10): x');
  assert.equal(new CtfMetadataError('m', -1, 'y').message, 'm: y');
});
