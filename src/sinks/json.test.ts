import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonLine } from './json.ts';

test('bigints are exact JSON integers, key order kept, one line', () => {
  const line = jsonLine({
    type: 'latency',
    start_ns: 18446744073709551615n,
    end_ns: 1055869758240n,
    latency_ns: 30000000,
    detail: { sector: 2n ** 63n, name: 'a"b\nc' },
  });
  assert.equal(line.includes('\n'), false);
  assert.ok(line.startsWith('{"type":"latency","start_ns":18446744073709551615,'));
  assert.match(line, /"sector":9223372036854775808/);
  assert.match(line, /"name":"a\\"b\\nc"/);
  // A parser that keeps big integers as text sees the exact digits.
  assert.match(line, /"end_ns":1055869758240,/);
  assert.deepEqual(Object.keys(JSON.parse(line)), ['type', 'start_ns', 'end_ns', 'latency_ns', 'detail']);
});
