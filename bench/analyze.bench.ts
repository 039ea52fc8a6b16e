/**
 * What the analyses and profiles cost on top of decoding: records/s of `analyze` with all analyses on the ≥ 5 M event
 * recording of the decode benchmark, next to decode + merge alone, and with profiles switched off (issue 4: the nine
 * analyses cost no more than half of the decode time; issue 5: profiles under 10 % of analyze time).
 * Measures the built package (`dist/`).
 */
import { Engine } from '../dist/analyses/engine.js';
import { ANALYSES } from '../dist/analyses/index.js';
import { openTraceDat } from '../dist/sources/tracedat/index.js';
import { benchTrace, decodeMerge } from './decode.bench.ts';
import type { BenchResult } from './util.ts';

async function best(runs: number, fn: () => Promise<number>): Promise<{ rate: number; records: number; ms: number }> {
  let rate = 0;
  let records = 0;
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    records = await fn();
    const dt = performance.now() - t0;
    ms = Math.min(ms, dt);
    rate = Math.max(rate, (records / dt) * 1000);
  }
  return { rate, records, ms };
}

async function analyze(path: string, noProfiles: boolean): Promise<number> {
  const src = await openTraceDat(path);
  const has = (e: string) => src.schema.find(e) !== undefined;
  const analyses = ANALYSES.filter((a) => typeof a.events(has) !== 'string');
  const settings = Object.fromEntries(analyses.map((a) => [a.name, { threshold: 3_600e9 }]));
  const engine = new Engine(src, analyses, { settings, noProfiles }, () => {});
  await src.run(engine);
  return engine.records;
}

export async function analyzeBench(path = benchTrace()): Promise<BenchResult[]> {
  await decodeMerge(path); // warm up
  const dec = await best(3, () => decodeMerge(path));
  const all = await best(3, () => analyze(path, false));
  const noProf = await best(3, () => analyze(path, true));
  const analysesMs = noProf.ms - dec.ms;
  const profilesMs = all.ms - noProf.ms;
  console.log(
    `\n  ${all.records} records; decode + merge ${dec.ms.toFixed(0)} ms, + analyses ${analysesMs.toFixed(0)} ms ` +
      `(${((analysesMs / dec.ms) * 100).toFixed(0)} % of decode), + profiles ${profilesMs.toFixed(0)} ms ` +
      `(${((profilesMs / all.ms) * 100).toFixed(1)} % of analyze)`,
  );
  return [
    { name: 'records/s, analyze (all analyses) vs decode+merge', value: all.rate, baseline: dec.rate },
    { name: 'records/s, analyze without profiles vs decode+merge', value: noProf.rate, baseline: dec.rate },
  ];
}
