import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFlightOptions } from './flight.ts';
import { UsageError } from './options.ts';
import { parseFileOptions } from './record.ts';

describe('flight recorder and record options', () => {
  it('defaults: 2s before, 500ms after, 256 MiB, 1 file per 10 s, 1 GiB, trace.dat v6', () => {
    assert.equal(parseFlightOptions({}), undefined);
    assert.deepEqual(parseFlightOptions({ flightRecorder: '/tmp/x' }), {
      dir: '/tmp/x',
      beforeNs: 2e9,
      afterNs: 5e8,
      memoryBytes: 256 * 2 ** 20,
      maxAgeNs: 60e9,
      rate: { files: 1, perNs: 10e9 },
      dirMaxBytes: 2 ** 30,
      version: 6,
      compression: 'none',
    });
    const s = parseFlightOptions({
      flightRecorder: 'd',
      flightRate: '3/1m',
      flightCompress: 'zlib',
      flightMemory: '8M',
    });
    assert.deepEqual(
      [s?.rate, s?.version, s?.compression, s?.memoryBytes],
      [{ files: 3, perNs: 60e9 }, 7, 'zlib', 8 * 2 ** 20],
    );
  });

  it('bad values are one clear line naming the flag', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ flightBefore: '1s' }, /--flight-before needs --flight-recorder DIR/],
      [{ flightRecorder: 'd', flightRate: 'often' }, /--flight-rate: 'often' is not N\/DURATION/],
      [{ flightRecorder: 'd', flightRate: '0/1s' }, /--flight-rate/],
      [{ flightRecorder: 'd', flightMemory: '1M' }, /--flight-memory: '1M' is below 4 MiB/],
      [{ flightRecorder: 'd', flightMemory: 'lots' }, /--flight-memory: 'lots' is not a size/],
      [{ flightRecorder: 'd', flightBefore: '2h' }, /--flight-before: '2h' is more than 60s/],
      [{ flightRecorder: 'd', flightMaxAge: '1s' }, /--flight-max-age must be at least/],
      [{ flightRecorder: 'd', flightCompress: 'zstd' }, /--flight-compress: 'zstd' is not none or zlib/],
      [{ flightRecorder: '' }, /--flight-recorder: give a directory/],
    ];
    for (const [raw, re] of bad)
      assert.throws(
        () => parseFlightOptions(raw),
        (e: Error) => e instanceof UsageError && re.test(e.message),
      );
  });

  it('record: v6 by default; v7 with none or zlib; zlib needs v7', () => {
    assert.deepEqual(parseFileOptions({}), { version: 6, compression: 'none' });
    assert.deepEqual(parseFileOptions({ fileVersion: '7', compress: 'zlib' }), { version: 7, compression: 'zlib' });
    assert.throws(() => parseFileOptions({ fileVersion: '8' }), /--file-version: '8' is not 6 or 7/);
    assert.throws(() => parseFileOptions({ compress: 'zlib' }), /needs --file-version 7/);
    assert.throws(() => parseFileOptions({ fileVersion: '7', compress: 'zstd' }), /--compress: 'zstd'/);
  });
});
