/**
 * `npm run bench`: every benchmark, figures as rates and as ratios against a baseline measured in the same run
 * (the machine is shared and noisy: never compare against a number from another run).
 *   npm run bench              all
 *   npm run bench -- tracker   only the named groups (tracker, histogram, decode, analyze, live, serve, ctf, store)
 */

import { analyzeBench } from './analyze.bench.ts';
import { ctfBench } from './ctf.bench.ts';
import { decodeBench } from './decode.bench.ts';
import { compareCalibration, queryBench, recordBench, windowsMemory } from './histogram.bench.ts';
import { liveBench } from './live.bench.ts';
import { serveBench } from './serve.bench.ts';
import { storeBench } from './store.bench.ts';
import { trackerBench, trackerHeapGrowth } from './tracker.bench.ts';
import { printResults } from './util.ts';

const only = new Set(process.argv.slice(2));
const want = (g: string) => only.size === 0 || only.has(g);

if (want('tracker')) {
  printResults('core tracker (eventIn + eventOut pairs, best of 3 x 5 M)', trackerBench(5_000_000));
  const growth = trackerHeapGrowth(10_000_000);
  console.log(
    `  heap growth over 10 M steady-state pairs: ${Number.isNaN(growth) ? 'n/a (run with --expose-gc)' : `${(growth / 1024).toFixed(1)} KiB`}`,
  );
}

if (want('histogram')) {
  // Memory first, before the other benchmarks leave garbage behind.
  console.log('\nmemory of the three windows (1m, 5m, 1h) of one analysis after 65 minutes of traffic');
  for (const m of windowsMemory()) {
    const kib = (b: number) => (Number.isNaN(b) ? 'n/a (run with --expose-gc)' : `${(b / 1024).toFixed(0)} KiB`);
    console.log(
      `  ${m.name.padEnd(44)} ${kib(m.bytes).padStart(10)}  (bucket data ${kib(m.own)}, ${m.snapshots} closed intervals)`,
    );
  }
  printResults('histogram record (latency-like values, best of 3 x 50 M)', recordBench(50_000_000));
  console.log('\nhistogram operations (best of 3, microseconds per call)');
  for (const r of queryBench()) console.log(`  ${r.name.padEnd(44)} ${r.us.toFixed(2).padStart(10)} us`);
  console.log('\ncompare (default options): seeded latency-like samples, n values per side');
  for (const c of compareCalibration([10_000, 50_000, 200_000], 100)) {
    console.log(
      `  n=${String(c.n).padEnd(7)} false alarms ${c.falseAlarms}/${c.trials}` +
        `   +20 % tail shift caught at p99 ${c.detected}/${c.trials}`,
    );
  }
}

if (want('decode')) {
  for (const b of await decodeBench()) {
    printResults(
      `trace.dat decoding: ${b.file.split('/').at(-1)} (${(b.bytes / 1e6).toFixed(1)} MB, ${b.records} records, best of 3; trace-cmd best of 2)`,
      b.rows,
    );
  }
}

if (want('analyze')) {
  printResults('analyze: the nine analyses and the profiles on top of decoding (best of 3)', await analyzeBench());
}

if (want('live')) {
  console.log('\nlive reader CPU under a paced syscall load of about 300 k events/s (5 s each)');
  for (const r of await liveBench(5)) {
    console.log(
      `  ${r.name.padEnd(36)} ${(r.eventsPerSec / 1e3).toFixed(0).padStart(6)} k events/s  ` +
        `CPU ${r.cpuPercent.toFixed(1).padStart(5)} %  = ${r.cpuPer100k.toFixed(2)} % per 100 k events/s  lost ${r.lost}`,
    );
  }
}

if (want('serve')) {
  console.log('\nserve: the daemon under ~300 k events/s and ~10 syscall outliers/s (15 s per phase, /proc/PID/stat)');
  for (const r of await serveBench(15)) {
    console.log(
      `  ${r.name.padEnd(32)} CPU ${r.cpuPercent.toFixed(1).padStart(5)} %  RSS ${r.rssMiB.toFixed(0).padStart(4)} MiB  ` +
        `${(r.eventsPerSec / 1e3).toFixed(0).padStart(4)} k events/s  ${r.outliersPerSec.toFixed(1).padStart(5)} outliers/s  ` +
        `streamed ${r.streamed}  scrapes ${r.scrapes}`,
    );
  }
  console.log('\nserve, isolated: HTTP + SSE only (no kernel reader), 10 synthetic outliers/s (15 s per phase)');
  for (const r of await serveBench(15, 0, true)) {
    console.log(
      `  ${r.name.padEnd(32)} CPU ${r.cpuPercent.toFixed(2).padStart(5)} %  RSS ${r.rssMiB.toFixed(0).padStart(4)} MiB  ` +
        `streamed ${r.streamed}  scrapes ${r.scrapes}`,
    );
  }
}

if (want('ctf')) {
  const { rows, notes } = await ctfBench({ copies: 20, lttngOnLarge: process.env.CTF_BENCH_LTTNG_LARGE === '1' });
  printResults('CTF reader (LTTng many-threads; baseline = lttng-syscallstats events/s on the same trace)', rows);
  for (const n of notes) console.log(`  ${n}`);
}

if (want('store')) {
  const { rows, notes } = await storeBench();
  printResults('outlier store (DuckDB; target >= 50 k outliers/s committed)', rows);
  for (const n of notes) console.log(`  ${n}`);
}
