/** Small helpers shared by the benchmarks. */

export interface BenchResult {
  name: string;
  /** Our figure (ops/s or records/s). */
  value: number;
  /** The baseline measured in the same run, when there is one. */
  baseline?: number;
  unit?: string;
}

/** Runs `fn` (which returns a rate) `n` times and keeps the best: the least disturbed by a noisy machine. */
export function bestOf(n: number, fn: () => number): number {
  let best = 0;
  for (let i = 0; i < n; i++) best = Math.max(best, fn());
  return best;
}

export function fmtRate(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return v.toFixed(1);
}

export function printResults(title: string, rows: BenchResult[]): void {
  console.log(`\n${title}`);
  for (const r of rows) {
    const unit = r.unit ?? '';
    let line = `  ${r.name.padEnd(44)} ${fmtRate(r.value).padStart(10)}${unit}`;
    if (r.baseline !== undefined) {
      line += `   baseline ${fmtRate(r.baseline).padStart(9)}${unit}   ratio ${(r.value / r.baseline).toFixed(2)}x`;
    }
    console.log(line);
  }
}
