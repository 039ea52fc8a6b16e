/**
 * The flight recorder's `trace_file` in the outlier store (issue 16): kept through the row form, the worker batch and
 * DuckDB; a store made before the column existed gains it on open (its rows read back without one).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { OutlierRecord } from '../../analyses/engine.ts';
import { decodeBatch, encodeBatch, toRecord, toRow } from './schema.ts';
import { OutlierStore } from './store.ts';

const scratch = mkdtempSync(join(process.cwd(), '.lt-trace-file-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const rec = (i: number, traceFile?: string): OutlierRecord => ({
  type: 'latency',
  analysis: 'syscall',
  reason: 'threshold',
  start_ns: 1_000_000_000n + BigInt(i),
  end_ns: 2_000_000_000n + BigInt(i),
  latency_ns: 1_000_000_000,
  cpu: 0,
  tid: 7,
  pid: 7,
  comm: 'x',
  detail: { syscall: 'read', id: 0 },
  cgroup: null,
  container: null,
  ...(traceFile === undefined ? {} : { trace_file: traceFile }),
});

test('trace_file survives the row form and the worker batch; absent stays absent', () => {
  const a = rec(1, '/var/lib/lt/syscall-1.000000001-7.dat');
  const b = rec(2);
  assert.deepEqual(toRecord(toRow(a, 'h', 0)), a);
  assert.equal('trace_file' in toRecord(toRow(b, 'h', 0)), false);
  const rows = decodeBatch(encodeBatch([a, b], ['h', 'h'], () => 0));
  assert.deepEqual(
    rows.map((r) => r.trace_file),
    [a.trace_file, null],
  );
});

test('DuckDB keeps it; a store without the column gains it on open', async () => {
  const path = join(scratch, 'old.duckdb');
  // A store as it was before the flight recorder: the outliers table without trace_file, one row in it.
  {
    const db = await DuckDBInstance.create(path);
    const c = await db.connect();
    await c.run(`CREATE TABLE outliers (seq UBIGINT NOT NULL, time TIMESTAMP NOT NULL, host VARCHAR NOT NULL,
      analysis VARCHAR NOT NULL, reason VARCHAR NOT NULL, start_ns UBIGINT NOT NULL, end_ns UBIGINT NOT NULL,
      latency_ns BIGINT NOT NULL, cpu INTEGER, tid INTEGER, pid INTEGER, comm VARCHAR, subject VARCHAR,
      detail VARCHAR NOT NULL, stack VARCHAR[])`);
    await c.run(`INSERT INTO outliers VALUES (1, now()::TIMESTAMP, 'h', 'syscall', 'threshold',
      5, 6, 1, 0, 7, 7, 'x', 'read', '{"syscall":"read","id":0}', NULL)`);
    c.closeSync();
    db.closeSync();
  }
  const store = await OutlierStore.open({ path });
  try {
    store.add(rec(3, '/d/syscall-1.000000003-7.dat'), 'h');
    await store.flush();
    const got = await store.query({ limit: 10 });
    assert.equal(got.length, 2);
    assert.equal(got.find((r) => r.start_ns === 1_000_000_003n)?.trace_file, '/d/syscall-1.000000003-7.dat');
    assert.equal(got.find((r) => r.start_ns === 5n)?.trace_file, undefined);
  } finally {
    await store.close();
  }
});
