/**
 * TSDL parsing and the metadata file forms: the constructs LTTng 2.1–2.13 emit, the packetized form (text split
 * mid-token across packets), and one-line errors that name the file, the byte offset and the line.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CtfMetadataError } from './errors.ts';
import { metadataText, parseMetadata } from './metadata.ts';
import { parseTsdl } from './tsdl.ts';
import type { CtfType, StructType } from './types.ts';

const TRACES = new URL('../../../../shared/traces/', import.meta.url).pathname;
const at = (pos: number) => ({ file: 'meta', offset: pos });

const BASE = `/* CTF 1.8 */
typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 64; align = 8; signed = false; } := unsigned long;
trace { major = 1; minor = 8; byte_order = be; packet.header := struct { uint32_t magic; }; };
`;

function fieldsOf(t: CtfType | undefined): StructType {
  assert.ok(t && t.kind === 'struct');
  return t;
}

test('LTTng 2.1 style: unquoted names, multi-word aliases, enum ranges, variants, sequences', () => {
  const tr = parseTsdl(
    `${BASE}
env { hostname = "vm"; tracer_major = 2; tracer_minor = 1; big = 18446744073709551615; };
clock { name = monotonic; freq = 1000000000; offset = 1361203559332331489; };
struct event_header_large {
  enum : uint32_t { compact = 0 ... 65534, extended = 65535 } id;
  variant <id> { struct { uint32_t timestamp; } compact; struct { uint32_t id; unsigned long timestamp; } extended; } v;
} align(8);
stream { id = 0; event.header := struct event_header_large; };
event {
  name = block_rq_issue;
  id = 7;
  stream_id = 0;
  fields := struct {
    unsigned long _sector;
    integer { size = 32; align = 8; signed = 1; encoding = none; base = 10; } _tid;
    uint32_t __cmd_length;
    integer { size = 8; align = 8; signed = 0; encoding = none; base = 16; } _cmd[ __cmd_length ];
    integer { size = 8; align = 8; signed = 1; encoding = UTF8; base = 10; } _comm[16];
  };
};`,
    at,
  );
  assert.equal(tr.byteOrder, 'be');
  assert.equal(tr.env.get('hostname'), 'vm');
  assert.equal(tr.env.get('big'), '18446744073709551615', 'beyond 2^53: kept exact, as text');
  const clock = tr.clocks.get('monotonic');
  assert.equal(clock?.offset, 1361203559332331489n, 'clock offset exact (BigInt)');
  const s = tr.streams.get(0)!;
  const ev = s.events.get(7)!;
  assert.equal(ev.name, 'block_rq_issue');
  const f = fieldsOf(ev.fields).fields;
  assert.deepEqual(
    f.map((x) => [x.name, x.type.kind]),
    [
      ['_sector', 'int'],
      ['_tid', 'int'],
      ['__cmd_length', 'int'],
      ['_cmd', 'sequence'],
      ['_comm', 'array'],
    ],
  );
  const sector = f[0].type;
  assert.ok(sector.kind === 'int' && sector.size === 64 && !sector.signed);
  const cmd = f[3].type;
  assert.ok(cmd.kind === 'sequence' && cmd.lengthRef === '__cmd_length');
  const hdr = fieldsOf(s.eventHeader);
  assert.equal(hdr.minAlign, 8);
  const id = hdr.fields[0].type;
  assert.ok(id.kind === 'enum');
  assert.deepEqual(id.entries, [
    { label: 'compact', lo: 0, hi: 65534 },
    { label: 'extended', lo: 65535, hi: 65535 },
  ]);
  const v = hdr.fields[1].type;
  assert.ok(v.kind === 'variant' && v.tagRef === 'id' && v.options.length === 2);
});

test('quoted enum labels, implicit values, typedef, nested aliases, comments, absolute paths', () => {
  const tr = parseTsdl(
    `${BASE}
// line comment
typedef uint8_t byte_t;
event { name = "e"; fields := struct {
  typealias integer { size = 16; align = 16; signed = true; byte_order = le; } := s16le;
  enum : byte_t { "RWBS_FLAG_WRITE" = 1, RWBS_FLAG_DISCARD, X = -1 } _e;
  s16le _x, _y[2];
  floating_point { exp_dig = 8; mant_dig = 24; align = 32; } _f;
  string { encoding = ASCII; } _s;
  uint32_t _z[stream.packet.context.n];
  struct { } align(64) _pad;
}; };`,
    at,
  );
  const ev = tr.streams.get(0)!.events.get(0)!;
  const f = fieldsOf(ev.fields).fields;
  const e = f[0].type;
  assert.ok(e.kind === 'enum' && e.container.size === 8);
  assert.deepEqual(e.entries, [
    { label: 'RWBS_FLAG_WRITE', lo: 1, hi: 1 },
    { label: 'RWBS_FLAG_DISCARD', lo: 2, hi: 2 },
    { label: 'X', lo: -1, hi: -1 },
  ]);
  const x = f[1].type;
  assert.ok(x.kind === 'int' && x.signed && x.byteOrder === 'le' && x.align === 16);
  const y = f[2].type;
  assert.ok(y.kind === 'array' && y.length === 2);
  assert.ok(f[3].type.kind === 'float' && f[3].type.align === 32);
  assert.ok(f[4].type.kind === 'string' && f[4].type.encoding === 'ascii');
  const z = f[5].type;
  assert.ok(z.kind === 'sequence' && z.lengthRef === 'stream.packet.context.n');
  const pad = f[6].type;
  assert.ok(pad.kind === 'struct' && pad.fields.length === 0 && pad.minAlign === 64);
});

test('syntax errors: CtfMetadataError naming the file, the offset and the line', () => {
  const bad = `${BASE}\nevent { name = "e"; fields := struct { uint32_t _a uint32_t _b; }; };`;
  assert.throws(
    () => parseTsdl(bad, at),
    (e: Error) => {
      assert.ok(e instanceof CtfMetadataError);
      assert.match(e.message, /^meta: offset \d+ \(0x[0-9a-f]+\): metadata line 7: expected ';' but found 'uint32_t'$/);
      return true;
    },
  );
  for (const [text, why] of [
    [`${BASE} event { name = "e"; fields := struct { nosuchtype _a; }; };`, /unknown type "nosuchtype"/],
    [`${BASE} event { name = "e"; fields := struct { integer { align = 8; } _a; }; };`, /integer without a size/],
    [`${BASE} event { name = "e"; fields := struct { integer { size = 8; align = 3; } _a; }; };`, /bad alignment 3/],
    [`${BASE} event { name = "e"; id = 1; }; event { name = "f"; id = 1; };`, /id 1 already used/],
    [`${BASE} event { name = "e"; stream_id = 4; };`, /stream 4, which is not declared/],
    [`${BASE} /* open comment`, /unterminated comment/],
    ['trace { major = 1; minor = 8; };', /declares no byte_order/],
    [`${BASE} ${'struct { '.repeat(100)}`, /nested deeper than 64/],
    [`${BASE} event { name = "e"; fields := struct { integer { size = 09; } _a; }; };`, /'09' is not an octal/],
    [`${BASE} event { name = "e"; fields := struct { integer { size = 0x; } _a; }; };`, /'0x' has no hex digits/],
  ] as const) {
    assert.throws(
      () => parseTsdl(text, at),
      (e: unknown) => e instanceof CtfMetadataError && why.test(e.message),
    );
  }
});

/** Wraps TSDL text into metadata packets of `size` bytes (37-byte header, sizes in bits). */
function packetize(text: string, size: number, uuid = new Uint8Array(16)): Uint8Array {
  const body = new TextEncoder().encode(text);
  const per = size - 37;
  const n = Math.ceil(body.length / per);
  const out = new Uint8Array(n * size);
  const dv = new DataView(out.buffer);
  for (let k = 0; k < n; k++) {
    const chunk = body.subarray(k * per, (k + 1) * per);
    const o = k * size;
    dv.setUint32(o, 0x75d11d57, true);
    out.set(uuid, o + 4);
    dv.setUint32(o + 24, (37 + chunk.length) * 8, true);
    dv.setUint32(o + 28, size * 8, true);
    out[o + 35] = 1;
    out[o + 36] = 8;
    out.set(chunk, o + 37);
  }
  return out;
}

test('packetized metadata: text split mid-token across packets parses like the plain text', () => {
  const text = `${BASE}event { name = "sched_switch"; id = 3; fields := struct { uint32_t _prev_tid; }; };\n`;
  const plain = parseTsdl(text, at);
  const bytes = packetize(text, 64); // 27 bytes of text per packet: boundaries inside tokens
  const m = metadataText(bytes, 'metadata');
  assert.equal(m.packetized, true);
  assert.equal(m.text, text);
  assert.deepEqual(parseMetadata(bytes, 'metadata'), plain);
  // an error's offset points into the packet that holds the bad token
  const bad = packetize(`${BASE}event { name = "e"; fields := struct { nosuch _a; }; };`, 64);
  assert.throws(
    () => parseMetadata(bad, 'metadata'),
    (e: CtfMetadataError) => {
      const off = e.offset;
      assert.equal(new TextDecoder().decode(bad.subarray(off, off + 6)), 'nosuch');
      return true;
    },
  );
});

test('bad metadata packets: magic, sizes, truncation', () => {
  const good = packetize(BASE, 128);
  const flip = (i: number, v: number) => {
    const b = good.slice();
    b[i] = v;
    return b;
  };
  assert.throws(() => parseMetadata(flip(128, 0), 'md'), /md: offset 128 \(0x80\): bad metadata packet magic/);
  assert.throws(() => parseMetadata(flip(25, 0), 'md'), /md: offset 0 .*bad metadata packet sizes/);
  assert.throws(() => parseMetadata(good.subarray(0, 150), 'md'), /md: offset 128 .*packet header cut short/);
  assert.throws(() => parseMetadata(good.subarray(0, 200), 'md'), /md: offset 128 .*runs past the end of the file/);
  assert.throws(() => parseMetadata(flip(32, 1), 'md'), /compressed, encrypted or checksummed/);
  assert.throws(() => parseMetadata(new TextEncoder().encode('hello'), 'md'), /md: offset 0 .*not CTF metadata/);
});

test('the 356 KiB packetized metadata of the ARM trace (87 packets, 541 events)', () => {
  const path = `${TRACES}lttng-arm-bug446190/kernel/metadata`;
  const bytes = new Uint8Array(readFileSync(path));
  assert.equal(bytes.length, 356352);
  const m = metadataText(bytes, path);
  assert.equal(m.text.length, 179815);
  const tr = parseMetadata(bytes, path);
  let events = 0;
  for (const s of tr.streams.values()) events += s.events.size;
  assert.equal(events, 541);
  assert.equal(tr.env.get('tracer_minor'), 5);
  const ph = tr.packetHeader!;
  assert.deepEqual(
    ph.fields.map((f) => f.name),
    ['magic', 'uuid', 'stream_id'],
  );
});
