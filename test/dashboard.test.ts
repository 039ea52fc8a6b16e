/**
 * What a new user of the dashboard tripped over (issue 17), in Debian's Chromium driven by playwright-core against
 * the real daemon, as root: each analysis loads its own window of outliers; a real log-axis histogram with gaps;
 * axis titles and a legend; tick labels that never read "–" and never overlap; the threshold field takes what the
 * command line takes; an unknown analysis says so; Compare says what each window really covers; the expanded row
 * shows dates, not raw clock values; the threshold line follows the threshold of each point's time; and when the
 * daemon stops, the page says so and its counters agree with its list.
 */
// test-timeout: 300s
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { isRoot, runChild } from './live.ts';
import { ServeRun, waitFor } from './serve-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = !isRoot ? 'needs root (CI runs as root)' : !existsSync(CHROMIUM) && `needs ${CHROMIUM} (prepare.sh)`;

type Rec = Record<string, unknown>;

let ctx: BrowserContext;
let profile: string;
const consoleErrors: string[] = [];

async function newPage(): Promise<Page> {
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|EventSource/.test(m.text())) {
      consoleErrors.push(m.text());
    }
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  return page;
}

/** What uPlot drew in the chart `testid`: scales, axis labels and tick texts, and its data. */
function chartState(page: Page, testid: string) {
  return page.getByTestId(testid).evaluate((el) => {
    // biome-ignore lint/suspicious/noExplicitAny: uPlot's internals (_splits, _values) are what the test reads.
    const u = (el as any).__uplot;
    const ctx2 = u.ctx;
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    const axes = u.axes.map((a: any, i: number) => {
      const scale = i === 0 ? 'x' : 'y';
      ctx2.font = a.font?.[0] ?? '11px sans-serif';
      const ticks = (a._splits ?? []).map((v: number, k: number) => ({
        text: String(a._values?.[k] ?? ''),
        pos: u.valToPos(v, scale),
        width:
          ctx2.measureText(String(a._values?.[k] ?? '')).width /
          ((globalThis as { devicePixelRatio?: number }).devicePixelRatio ?? 1),
      }));
      return { label: a.label, ticks };
    });
    return { xDistr: u.scales.x.distr, yDistr: u.scales.y.distr, axes, data: u.data as (number | null)[][] };
  });
}

before(async () => {
  if (skip) return;
  profile = mkdtempSync(join(tmpdir(), 'lt-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    viewport: { width: 1100, height: 900 },
  });
});
after(async () => {
  await ctx?.close();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
});

describe('dashboard: windows, charts, settings, compare', { skip }, () => {
  let d: ServeRun;
  let base: string;
  let sleeper: number;
  before(async () => {
    // offcpu at 1 us floods the history with thousands of outliers newer than the syscall one.
    d = new ServeRun([
      'syscall',
      'offcpu',
      '--listen',
      '127.0.0.1:0',
      '-t',
      'syscall=100ms',
      '-t',
      'offcpu=1us',
      '--history',
      '200000',
    ]);
    base = await d.ready();
    sleeper = (await runChild('sleep', ['0.3'])).pid;
    const info = async (n: string) => (await d.getJson(`/api/analyses/${n}`)) as Rec;
    await waitFor(
      async () => {
        const r = await d.getJson('/api/events?analysis=syscall&limit=1000');
        return (r.events as Rec[]).some((e) => e.tid === sleeper) ? true : undefined;
      },
      15_000,
      'the sleep outlier',
    );
    const off0 = Number((await info('offcpu')).outliers);
    await waitFor(
      async () => (Number((await info('offcpu')).outliers) > off0 + 2000 ? true : undefined),
      30_000,
      '2000 newer offcpu outliers',
    );
  });
  after(async () => {
    await d?.stop();
  });

  test('an analysis shows its own window, however many newer outliers other analyses have', async () => {
    const page = await newPage();
    await page.goto(`${base}/#/a/syscall`);
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 });
    // The table shows the newest 100: other processes' long system calls may be newer; show this one's only.
    await page.getByTestId('outlier-filter').fill(String(sleeper));
    await page.locator(`[data-testid=outlier-row][data-tid="${sleeper}"]`).first().waitFor({ timeout: 15_000 });
    await page.getByTestId('outlier-count').filter({ hasNotText: 'reading' }).waitFor({ timeout: 15_000 });

    // The expanded row: dates in local time, no raw clock values, no "pid ?".
    await page.locator(`[data-testid=outlier-row][data-tid="${sleeper}"]`).first().click();
    const times = (await page.getByTestId('outlier-times').first().textContent()) ?? '';
    assert.match(times, /from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} to \d\d:\d\d:\d\d\.\d{3} \(\d/);
    assert.doesNotMatch(times, /pid \?|\d{10,}| ns\b/);
    await page.close();
  });

  test('charts: log-axis histogram with gaps, axis titles, a legend, tick labels that are never "–" nor overlap', async () => {
    const page = await newPage();
    await page.goto(`${base}/#/a/syscall`);
    await page.getByTestId('profile-table').locator('tbody tr').first().waitFor();
    await page.getByTestId('profile-table').getByRole('button', { name: '1h' }).click();
    await waitFor(
      async () => ((await chartState(page, 'histogram')).data[0].length > 3 ? true : undefined),
      15_000,
      'histogram data',
    );
    const h = await chartState(page, 'histogram');
    assert.equal(h.xDistr, 3, 'log x axis');
    assert.equal(h.axes[0].label, 'latency (log scale)');
    assert.equal(h.axes[1].label, 'pairs per bin');
    const [xs, ys] = h.data as number[][];
    for (let i = 1; i < xs.length; i++) {
      const r = xs[i] / xs[i - 1];
      assert.ok(Math.abs(r - 2 ** 0.25) < 1e-9, `bins are consecutive on the log axis (${xs[i - 1]} -> ${xs[i]})`);
    }
    // Each drawn bin is one the daemon sent, at its own place; the steps between are zero (gaps, not squeezed out).
    // The 1h window (chosen above) loses nothing during the test, so what the page drew is within what it sends now.
    const sent = (await d.getJson('/api/profiles/syscall?window=1h')).buckets as [number, number, number][];
    const byK = new Map(sent.map(([l, , c]) => [Math.round(Math.log2(l) * 4), c]));
    let drawn = 0;
    for (let i = 0; i < xs.length - 1; i++) {
      if (ys[i] === 0) continue;
      drawn++;
      const c = byK.get(Math.round(Math.log2(xs[i]) * 4));
      assert.ok(c !== undefined && ys[i] <= c, `bin at ${xs[i]} ns: drawn ${ys[i]}, sent ${c}`);
    }
    assert.ok(drawn > 3);
    const s = await chartState(page, 'scatter');
    assert.equal(s.yDistr, 3);
    assert.equal(s.axes[0].label, 'time (local)');
    assert.equal(s.axes[1].label, 'latency');
    assert.match((await page.getByTestId('scatter-legend').textContent()) ?? '', /outlier.*threshold in force/);
    for (const chart of [h, s]) {
      for (const a of chart.axes as { ticks: { text: string; pos: number; width: number }[] }[]) {
        assert.ok(a.ticks.length > 1);
        for (const t of a.ticks) assert.doesNotMatch(t.text, /–|NaN|undefined/, `tick ${t.text}`);
      }
      // Labels drawn (uPlot leaves a split without a label empty): none may overlap its neighbour.
      const x = (chart.axes[0] as { ticks: { text: string; pos: number; width: number }[] }).ticks.filter(
        (t) => t.text !== '',
      );
      for (let i = 1; i < x.length; i++) {
        const gap = x[i].pos - x[i - 1].pos - (x[i].width + x[i - 1].width) / 2;
        assert.ok(gap > 0, `x labels ${x[i - 1].text} and ${x[i].text} overlap`);
      }
    }
    await page.close();
  });

  test('the threshold field takes 1h like the command line; each point is drawn against the threshold of its time', async () => {
    const page = await newPage();
    await page.goto(`${base}/#/a/syscall`);
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('threshold-input').fill('1h');
    await page.getByTestId('apply').click();
    await page.getByTestId('current-settings').filter({ hasText: 'threshold 1h' }).waitFor({ timeout: 5000 });
    assert.equal((await d.getJson('/api/analyses/syscall')).threshold_ns, 3_600_000_000_000);
    await page.getByTestId('threshold-input').fill('200ms');
    await page.getByTestId('apply').click();
    await page.getByTestId('current-settings').filter({ hasText: 'threshold 200ms' }).waitFor({ timeout: 5000 });
    const later = (await runChild('sleep', ['0.3'])).pid;
    // Each sleep alone in the scatter (the filter takes a tid): its point and the threshold drawn at its time.
    const pointOf = async (tid: number) => {
      await page.getByTestId('outlier-filter').fill(String(tid));
      await page.locator(`[data-testid=outlier-row][data-tid="${tid}"]`).first().waitFor({ timeout: 15_000 });
      return waitFor(
        async () => {
          const [, ys, th] = (await chartState(page, 'scatter')).data;
          const pts = ys.map((y, i) => [y, th[i]] as const).filter(([y]) => y !== null);
          return pts.length === 1 ? pts[0] : undefined;
        },
        10_000,
        `the point of ${tid} in the scatter`,
      );
    };
    // The first sleep was recorded under 100 ms, the second under 200 ms: each point is drawn with its own.
    assert.equal((await pointOf(sleeper))[1], 100_000_000);
    assert.equal((await pointOf(later))[1], 200_000_000);
    await page.close();
  });

  test('an unknown analysis in the address says so (not "Loading…" forever)', async () => {
    const page = await newPage();
    await page.goto(`${base}/#/a/nosuch`);
    await page.getByTestId('no-such-analysis').waitFor({ timeout: 10_000 });
    assert.match(
      (await page.getByTestId('no-such-analysis').textContent()) ?? '',
      /No such analysis: nosuch.*syscall/s,
    );
    await page.close();
  });

  test('Compare says how much time each window really covers', async () => {
    const page = await newPage();
    await page.goto(`${base}/#/compare`);
    await page.getByTestId('compare-covers').waitFor({ timeout: 10_000 });
    const text = (await page.getByTestId('compare-covers').textContent()) ?? '';
    // The daemon has run for well under an hour: the 1 h baseline is only that long so far.
    assert.match(text, /baseline covers last 1h \(only (\d+ s|\d+ min \d+ s) so far\)/);
    assert.match(text, /share most of their pairs/);
    await page.close();
  });
});

describe('dashboard: the daemon stops', { skip }, () => {
  test('the indicator and the dots say so, and the counter agrees with the list', async () => {
    const d = new ServeRun(['syscall', '--listen', '127.0.0.1:0', '-t', 'syscall=100ms']);
    try {
      const base = await d.ready();
      const page = await newPage();
      await page.goto(`${base}/#/a/syscall`);
      await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 });
      await page.getByTestId('dot-syscall').and(page.locator('.up')).waitFor({ timeout: 10_000 });
      const s = await runChild('sleep', ['0.15']);
      await page.locator(`[data-testid=outlier-row][data-tid="${s.pid}"]`).first().waitFor({ timeout: 15_000 });
      // Stop at once: the last outliers came through the stream after the page last polled the counters.
      const { code } = await d.stop();
      assert.equal(code, 0);
      await page.getByTestId('connection').filter({ hasText: 'daemon stopped' }).waitFor({ timeout: 10_000 });
      await page.getByTestId('stopped-banner').waitFor();
      assert.equal(await page.getByTestId('dot-syscall').and(page.locator('.up')).count(), 0, 'no green dot');
      // Both read what the page shows; they must come to agree (the feed notifies every 250 ms).
      const shown = async () => {
        const listed = Number(
          /(\d+) outliers in the last 5 minutes/.exec(
            (await page.getByTestId('outlier-count').textContent()) ?? '',
          )?.[1],
        );
        const counter = Number(await page.getByTestId('nav-syscall').locator('.count').textContent());
        return { listed, counter };
      };
      const agreed = await waitFor(
        async () => {
          const v = await shown();
          return v.listed >= 1 && v.listed === v.counter ? v : undefined;
        },
        5000,
        'the counter and the list to agree',
      );
      assert.equal(agreed.counter, agreed.listed);
      assert.deepEqual(consoleErrors, []);
      await page.close();
    } finally {
      await d.stop();
    }
  });
});
