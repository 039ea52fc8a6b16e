/**
 * `npm run bench`: every benchmark, figures as rates and as ratios against a baseline measured in the same run
 * (the machine is shared and noisy: never compare against a number from another run).
 *   npm run bench              all
 *   npm run bench -- tracker   only the named groups
 */

import { ctfBench } from './ctf.bench.ts';
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

if (want('ctf')) {
  const { rows, notes } = await ctfBench({ copies: 20, lttngOnLarge: process.env.CTF_BENCH_LTTNG_LARGE === '1' });
  printResults('CTF reader (LTTng many-threads; baseline = lttng-syscallstats events/s on the same trace)', rows);
  for (const n of notes) console.log(`  ${n}`);
}
