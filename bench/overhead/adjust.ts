/**
 * Load-adjusted overheads from a `bench:overhead` result file: on a shared machine, throughput and CPU per
 * transaction both move with what other processes take ("other CPU"). This fits each metric on other CPU by least
 * squares, one slope for all configurations (within-configuration centring), and reads every configuration at the same
 * other-CPU level. A model, to cross-check the medians, not a measurement.
 *
 *   node --import tsx bench/overhead/adjust.ts .bench-data/overhead-XXX.json [--at 20]
 */
import { readFileSync } from 'node:fs';

interface Run {
  config: string;
  tps: number;
  cpuPerTxMs: number;
  otherCpuPct: number;
}

const args = process.argv.slice(2);
const file = args.find((a) => a.endsWith('.json'));
const atIdx = args.indexOf('--at');
const at = atIdx >= 0 ? Number(args[atIdx + 1]) : 20;
if (file === undefined) {
  console.error('usage: adjust.ts RESULT.json [--at OTHER_CPU_PCT]');
  process.exit(2);
}
const runs = (JSON.parse(readFileSync(file, 'utf8')) as { runs: Run[] }).runs;
const configs = [...new Set(runs.map((r) => r.config))];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

for (const key of ['tps', 'cpuPerTxMs'] as const) {
  let sxy = 0;
  let sxx = 0;
  const centre = new Map<string, { x: number; y: number }>();
  for (const c of configs) {
    const g = runs.filter((r) => r.config === c);
    const x = mean(g.map((r) => r.otherCpuPct));
    const y = mean(g.map((r) => r[key]));
    centre.set(c, { x, y });
    for (const r of g) {
      sxy += (r.otherCpuPct - x) * (r[key] - y);
      sxx += (r.otherCpuPct - x) ** 2;
    }
  }
  if (sxx / runs.length < 25) {
    console.log(`${key}: other CPU hardly varied (sd < 5 % of a core): nothing to adjust, use the medians`);
    continue;
  }
  const slope = sxy / sxx;
  const value = new Map(
    configs.map((c) => {
      const m = centre.get(c) as { x: number; y: number };
      return [c, m.y + slope * (at - m.x)];
    }),
  );
  const base = value.get('A');
  console.log(`${key}: slope ${slope.toFixed(4)} per % of a core of other CPU; read at ${at} %:`);
  for (const c of configs) {
    const v = value.get(c) as number;
    const ov =
      base === undefined || c === 'A'
        ? ''
        : key === 'tps'
          ? `  overhead ${((1 - v / base) * 100).toFixed(1)} %`
          : `  CPU per tx ${((v / base - 1) * 100).toFixed(1)} %`;
    console.log(`  ${c}  ${v.toFixed(key === 'tps' ? 1 : 3)}${ov}`);
  }
}
