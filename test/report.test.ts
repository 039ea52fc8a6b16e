// test-timeout: 300s
/**
 * The self-contained HTML report (issue 16) in a real Chromium (Debian's, driven by playwright-core): the report of a
 * recorded run opened from disk shows, per analysis, the counts and percentiles of the very `--json --summary` of the
 * same run, its charts and worst outliers with stacks, with no console error and no request beyond the file itself;
 * the dashboard's "Download report" gives such a file too. CI runs as root.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { formatNs } from '../ui/src/api.ts';
import { BIN, isRoot, type Json, killLiveRuns, LiveRun, parseJsonLine, runChild } from './live.ts';
import { ServeRun } from './serve-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = !isRoot ? 'needs root (CI runs as root)' : !existsSync(CHROMIUM) && `needs ${CHROMIUM} (prepare.sh)`;
const scratch = mkdtempSync(join(process.cwd(), '.lt-report-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function workload(): ChildProcess {
  return spawn('sh', ['-c', 'while :; do sleep 0.02; dd if=/dev/zero of=/dev/null bs=4k count=300 2>/dev/null; done'], {
    stdio: 'ignore',
  });
}

/** Waits for a file to exist (written after end + after); returns its size. */
async function waitForFile(path: string): Promise<number> {
  const deadline = Date.now() + 15_000;
  while (!existsSync(path)) {
    if (Date.now() > deadline) throw new Error(`${path} never written`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return statSync(path).size;
}

/** A browser page that records console errors and every request. */
async function browser(): Promise<{
  ctx: BrowserContext;
  page: Page;
  errors: string[];
  requests: string[];
  dir: string;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'lt-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1366, height: 900 },
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  ctx.on('request', (r) => requests.push(r.url()));
  return { ctx, page, errors, requests, dir };
}

/** The report opened from disk: no errors, no request but the file; the summary table equals `summaries`. */
async function checkReport(page: Page, file: string, summaries: Json[], errors: string[], requests: string[]) {
  requests.length = 0;
  await page.goto(`file://${file}`);
  await page.getByTestId('summary-table').waitFor({ timeout: 10_000 });
  for (const s of summaries) {
    const row = page.locator(`[data-testid=summary-row][data-analysis="${s.analysis}"]`);
    assert.equal(await row.count(), 1, `a row for ${s.analysis}`);
    assert.equal(Number(await row.getByTestId('count').getAttribute('data-value')), s.count, `${s.analysis} count`);
    for (const [id, key] of [
      ['min', 'min_ns'],
      ['p50', 'p50_ns'],
      ['p90', 'p90_ns'],
      ['p99', 'p99_ns'],
      ['p999', 'p999_ns'],
      ['max', 'max_ns'],
    ]) {
      const cell = row.getByTestId(id);
      const want = s[key] as number | null;
      assert.equal(await cell.getAttribute('data-ns'), want === null ? '' : String(want), `${s.analysis} ${key}`);
      assert.equal((await cell.textContent())?.trim(), formatNs(want), `${s.analysis} ${key} as shown`);
    }
  }
  assert.deepEqual(errors, [], 'no console errors');
  assert.deepEqual(requests, [`file://${file}`], 'no request beyond the file');
}

describe('report', { skip }, () => {
  afterEach(killLiveRuns);

  test('analyze --report of a recorded run: from disk in Chromium, equal to --json --summary', async () => {
    const trace = join(scratch, 'run.dat');
    const html = join(scratch, 'run.html');
    const w = workload();
    try {
      const run = new LiveRun(['syscall', 'offcpu', 'wakeup', '--stacks', '-o', trace, '-d', '2s'], 'record');
      await run.ready();
      assert.equal((await run.exited).code, 0, run.stderr);
    } finally {
      w.kill('SIGKILL');
    }
    const args = ['analyze', trace, 'syscall', 'offcpu', 'wakeup', '--stacks', '-t', '5ms', '--json', '--summary'];
    const out = execFileSync(process.execPath, [BIN, ...args, '--report', html], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const records = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(parseJsonLine);
    const summaries = records.filter((r) => r.type === 'summary' && r.group === null);
    assert.equal(summaries.length, 3);
    const size = statSync(html).size;
    assert.ok(size < 4 * 1024 * 1024, `report is ${size} bytes`);

    const b = await browser();
    try {
      await checkReport(b.page, html, summaries, b.errors, b.requests);
      // Per analysis with pairs: histogram, heatmap and percentiles over time drawn.
      for (const s of summaries) {
        const sec = b.page.getByTestId(`analysis-${s.analysis}`);
        if ((s.count as number) === 0) continue;
        for (const id of ['histogram', 'heatmap', 'percentiles-over-time']) {
          assert.equal(await sec.getByTestId(id).locator('canvas').count(), 1, `${s.analysis} ${id}`);
        }
      }
      // The worst outliers: the slowest of the run first; the off-CPU one with the stack where it blocked.
      const off = records.filter((r) => r.type === 'latency' && r.analysis === 'offcpu');
      assert.ok(off.length > 0, 'off-CPU outliers in the run');
      const slowest = Math.max(...off.map((r) => r.latency_ns as number));
      const rows = b.page.getByTestId('analysis-offcpu').getByTestId('worst-row');
      assert.equal(await rows.count(), Math.min(20, off.length));
      assert.equal(Number(await rows.first().getAttribute('data-latency')), slowest);
      const withStack = off.find((r) => Array.isArray(r.stack) && (r.stack as string[]).length > 0);
      if (withStack !== undefined) {
        const i = off
          .map((r) => r.latency_ns as number)
          .sort((x, y) => y - x)
          .indexOf(withStack.latency_ns as number);
        if (i < 20) {
          await rows.nth(i).click();
          const stack = b.page.getByTestId('analysis-offcpu').getByTestId('stack').first();
          await stack.waitFor({ timeout: 5000 });
          assert.match((await stack.textContent()) ?? '', /schedule/);
        }
      }
      assert.deepEqual(b.errors, []);
      await b.page.screenshot({ path: join(scratch, 'report.png'), fullPage: false });
    } finally {
      await b.ctx.close();
      rmSync(b.dir, { recursive: true, force: true });
    }
  });

  test("the dashboard's Download report and an outlier's trace file link", async () => {
    const flight = join(scratch, 'flight');
    const d = new ServeRun([
      'syscall',
      'offcpu',
      '--listen',
      '127.0.0.1:0',
      '-t',
      'syscall=100ms',
      '--flight-recorder',
      flight,
      '--flight-rate',
      '100/1s',
      '--flight-before',
      '200ms',
      '--flight-after',
      '100ms',
    ]);
    const b = await browser();
    try {
      const base = await d.ready();
      await runChild('sleep', ['0.2']);
      await d.caughtUp();
      const r = await d.req('GET', '/api/report');
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(String(r.headers['content-disposition']), /^attachment; filename="latency-report-.*\.html"$/);

      await b.page.goto(`${base}/`);
      await b.page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
      const [download] = await Promise.all([
        b.page.waitForEvent('download', { timeout: 20_000 }),
        b.page.getByTestId('download-report').click(),
      ]);
      const file = join(scratch, 'downloaded.html');
      await download.saveAs(file);
      // Its numbers are the daemon's at that moment: compare with the profile the page itself embeds, after the fact
      // (the daemon keeps counting), through /api/analyses' pair counts: never fewer than the report shows.
      b.errors.length = 0;
      await b.page.goto(`file://${file}`);
      await b.page.getByTestId('summary-table').waitFor({ timeout: 10_000 });
      assert.deepEqual(b.errors, []);
      assert.equal(b.requests.filter((u) => !u.startsWith(base) && u !== `file://${file}`).length, 0);
      const a = await d.getJson('/api/analyses');
      for (const info of a.analyses as Json[]) {
        if (!info.available) continue;
        const row = b.page.locator(`[data-testid=summary-row][data-analysis="${info.analysis}"]`);
        const shown = Number(await row.getByTestId('count').getAttribute('data-value'));
        assert.ok(shown > 0 && shown <= (info.pairs as number), `${info.analysis}: ${shown} of ${info.pairs}`);
      }
      assert.equal((await b.page.getByTestId('report-title').textContent())?.trim(), (a.host as string).trim());

      // A sleep's outlier arriving live in the dashboard links to its trace.dat, which downloads.
      await b.page.goto(`${base}/#/a/syscall`);
      await b.page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
      await b.page.getByTestId('outlier-filter').fill('sleep');
      const live = await runChild('sleep', ['0.25']);
      const row = b.page.locator(`[data-testid=outlier-row][data-tid="${live.pid}"]`).first();
      await row.waitFor({ timeout: 15_000 });
      await row.click();
      const link = b.page.getByTestId('trace-file').first();
      await link.waitFor({ timeout: 5000 });
      const href = (await link.getAttribute('href')) as string;
      // Its own file, or a shared one (an earlier outlier whose window holds the whole sleep).
      assert.match(href, /^\/api\/trace-files\/[a-z-]+-\d+\.\d{9}-(\d+|none)\.dat$/);
      const name = decodeURIComponent(href.slice(href.lastIndexOf('/') + 1));
      const got = await waitForFile(join(flight, name));
      const r2 = await b.page.request.get(`${base}${href}`);
      assert.equal(r2.status(), 200);
      assert.equal((await r2.body()).length, got);
    } finally {
      await b.ctx.close();
      rmSync(b.dir, { recursive: true, force: true });
      await d.stop();
    }
  });
});
