/**
 * `npm run bench`: every benchmark, figures as rates and as ratios against a baseline measured in the same run
 * (the machine is shared and noisy: never compare against a number from another run).
 *   npm run bench              all
 *   npm run bench -- tracker   only the named groups (tracker, decode)
 */

import { decodeBench } from './decode.bench.ts';
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

if (want('decode')) {
  for (const b of await decodeBench()) {
    printResults(
      `trace.dat decoding: ${b.file.split('/').at(-1)} (${(b.bytes / 1e6).toFixed(1)} MB, ${b.records} records, best of 3; trace-cmd best of 2)`,
      b.rows,
    );
  }
}
