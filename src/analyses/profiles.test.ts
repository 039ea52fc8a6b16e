/**
 * Profiles on a real trace (issue 5): two halves of the trace's pairs compare as "no significant change" on every
 * analysis; the same pairs with the tail shifted by +20 % are "regressed" at p99; bootstrap resamples of the real
 * syscall latencies raise no false alarm in at least 95 of 100 seeded trials; and windows on trace time hold the
 * pairs of the last minute.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rng } from '../../test/helpers/ftrace-fixture.ts';
import { reference, reportText, TRACECMD_DIR } from '../../test/reference.ts';
import { compareHistograms, compareProfiles } from '../histogram/compare.ts';
import { Histogram } from '../histogram/histogram.ts';
import { openTraceDat } from '../sources/tracedat/index.ts';
import { Engine } from './engine.ts';
import { ANALYSES } from './index.ts';
import { Profiles } from './profiles.ts';

const TRACE = `${TRACECMD_DIR}trace.dat`;

/**
 * Splits the pairs of each analysis into two halves at random (seeded; not alternately: request/ack pairs alternate
 * and would put all requests on one side).
 */
class SplitProfiles extends Profiles {
  readonly other = new Profiles();
  private readonly coin = rng(7);
  override add(name: string): number {
    this.other.add(name);
    return super.add(name);
  }
  override record(i: number, ns: number, group: string | undefined, ts: number): void {
    if (this.coin() < 0.5) super.record(i, ns, group, ts);
    else this.other.record(i, ns, group, ts);
  }
}

async function analyzeInto(profiles: Profiles): Promise<Engine> {
  const src = await openTraceDat(TRACE);
  const has = (e: string) => src.schema.find(e) !== undefined;
  const analyses = ANALYSES.filter((a) => typeof a.events(has) !== 'string');
  const settings = Object.fromEntries(analyses.map((a) => [a.name, { threshold: 1e15 }]));
  const engine = new Engine(src, analyses, { settings, profiles }, () => {});
  await src.run(engine);
  return engine;
}

describe('profiles of a real trace', () => {
  const ref = reference(reportText());

  test('two halves of the pairs: no significant change on every analysis', async () => {
    const split = new SplitProfiles();
    await analyzeInto(split);
    const a = split.toProfile({ source: 'half A' });
    const b = split.other.toProfile({ source: 'half B' });
    const rows = compareProfiles(a, b);
    assert.equal(rows.length, 9, 'all nine analyses compared');
    for (const r of rows) {
      const na = r.count.a ?? 0;
      const nb = r.count.b ?? 0;
      assert.ok(na > 0 && nb > 0 && Math.abs(na - nb) <= 4 * Math.sqrt(na + nb), `${r.analysis} halves ${na}/${nb}`);
      for (const p of r.percentiles) assert.equal(p.verdict, 'no significant change', `${r.analysis} ${p.label}`);
    }
  });

  test('the tail shifted by +20 %: regressed at p99 wherever p99 is measurable', () => {
    // Real tails are sparse: on this trace the syscall p99 (1.01 ms) sits in a gap of the distribution and its 99 %
    // interval spans 0.77-1.48 ms, so a 20 % move there is within sampling noise and must NOT be flagged. Where the
    // interval is narrow enough to see a 20 % move, it must be flagged.
    let flagged = 0;
    for (const [name, lat] of ref.latencies) {
      if (lat.length < 1000) continue; // p99 needs samples beyond it on both sides
      const sorted = [...lat].sort((x, y) => x - y);
      const p98 = sorted[Math.floor(sorted.length * 0.98)];
      const base = new Histogram();
      const cur = new Histogram();
      for (const v of lat) {
        base.record(v);
        cur.record(v > p98 ? v * 1.2 : v);
      }
      const c = compareHistograms(base, cur);
      const p99 = c.percentiles.find((p) => p.q === 99);
      assert.ok(p99 !== undefined && p99.aInterval !== null && p99.a !== null && p99.b !== null);
      assert.ok(p99.b / p99.a > 1.15, `${name}: p99 moved ${p99.a} -> ${p99.b}`);
      const [lo, hi] = p99.aInterval;
      const resolvable = (hi - lo) / p99.a < 0.2;
      assert.equal(p99.verdict, resolvable ? 'regressed' : 'no significant change', `${name} p99 [${lo}, ${hi}]`);
      assert.equal(c.percentiles.find((p) => p.q === 50)?.verdict, 'no significant change', `${name} p50 unchanged`);
      if (p99.verdict === 'regressed') flagged++;
    }
    assert.ok(flagged >= 1, 'at least one analysis of the real trace resolves its p99');
  });

  test('bootstrap resamples of the real syscall latencies: at most 5 false alarms in 100 trials', () => {
    const lat = ref.latencies.get('syscall') as number[];
    const next = rng(20261126);
    let alarms = 0;
    for (let trial = 0; trial < 100; trial++) {
      const a = new Histogram();
      const b = new Histogram();
      for (let i = 0; i < lat.length; i++) {
        a.record(lat[Math.floor(next() * lat.length)]);
        b.record(lat[Math.floor(next() * lat.length)]);
      }
      if (compareHistograms(a, b).percentiles.some((p) => p.verdict !== 'no significant change')) alarms++;
    }
    assert.ok(alarms <= 5, `${alarms} false alarms`);
  });

  test('windows follow trace time: the 3 s trace is all in the last minute, the histogram equals the run', async () => {
    const profiles = new Profiles();
    const engine = await analyzeInto(profiles);
    for (const st of engine.states) {
      const name = st.analysis.name;
      const total = profiles.total(name);
      assert.equal(profiles.window(name, '1m').count, total.count, `${name} 1m`);
      assert.equal(profiles.window(name, '1h').count, total.count, `${name} 1h`);
      assert.ok(profiles.window(name, '1m').equals(total), `${name} 1m window equals the whole run`);
    }
  });
});
