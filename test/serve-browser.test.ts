/**
 * The dashboard in a real browser (issue 6): Debian's Chromium driven by playwright-core opens the page served by
 * the real daemon, sees a provoked outlier arrive live, expands it to its kernel stack, changes the threshold
 * through the form and sees the effect. No console errors, no request leaves the daemon. A screenshot is saved
 * under artifacts/ (git-ignored).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { isRoot, runChild } from './live.ts';
import { ServeRun } from './serve-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = !isRoot ? 'needs root (CI runs as root)' : !existsSync(CHROMIUM) && `needs ${CHROMIUM} (prepare.sh)`;
const ARTIFACTS = join(process.cwd(), 'artifacts');

describe('serve: the dashboard in Chromium', { skip }, () => {
  let d: ServeRun;
  let base: string;
  let ctx: BrowserContext;
  let page: Page;
  let profile: string;
  const consoleErrors: string[] = [];
  const foreign: string[] = [];

  before(async () => {
    d = new ServeRun(['syscall', 'offcpu', '--listen', '127.0.0.1:0', '-t', 'syscall=100ms']);
    base = await d.ready();
    profile = mkdtempSync(join(tmpdir(), 'lt-chromium-'));
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
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
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    ctx.on('request', (r) => {
      if (!r.url().startsWith(`${base}/`)) foreign.push(r.url());
    });
  });

  after(async () => {
    await ctx?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    await d?.stop();
  });

  test('live outliers, stack, threshold change through the UI; no console errors or external requests', async () => {
    await page.goto(`${base}/#/a/syscall`);
    await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('outlier-filter').fill('sleep');
    assert.equal(await page.locator('.chart canvas').count(), 2, 'scatter and histogram drawn');

    // A provoked latency appears live (SSE), with its kernel stack.
    const first = await runChild('sleep', ['0.3']);
    const row = page.locator(`[data-testid=outlier-row][data-tid="${first.pid}"]`).first();
    await row.waitFor({ timeout: 15_000 });
    assert.match((await row.textContent()) ?? '', /sleep.*nanosleep/s);
    await row.click();
    const stack = page.getByTestId('stack').first();
    await stack.waitFor({ timeout: 5000 });
    const frames = (await stack.textContent()) ?? '';
    assert.match(frames, /nanosleep/, frames);
    assert.match(frames, /^schedule/m, frames);

    // The threshold changed through the form is in effect at once.
    await page.getByTestId('threshold-input').fill('500ms');
    await page.getByTestId('apply').click();
    await page.getByTestId('apply-message').filter({ hasText: 'applied' }).waitFor({ timeout: 5000 });
    await page.getByTestId('current-settings').filter({ hasText: 'threshold 500ms' }).waitFor({ timeout: 5000 });
    assert.equal((await d.getJson('/api/analyses/syscall')).threshold_ns, 500_000_000);
    const below = await runChild('sleep', ['0.3']);
    const above = await runChild('sleep', ['0.7']);
    await page.locator(`[data-testid=outlier-row][data-tid="${above.pid}"]`).first().waitFor({ timeout: 15_000 });
    // The 0.7 s sleep began after the 0.3 s one ended, so the page has seen everything about the shorter one.
    assert.equal(await page.locator(`[data-testid=outlier-row][data-tid="${below.pid}"]`).count(), 0);

    // Profiles and the compare view render.
    await page.getByTestId('profile-table').waitFor();
    assert.match((await page.getByTestId('profile-table').textContent()) ?? '', /1m.*5m.*1h/s);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });
    await page.getByTestId('nav-compare').click();
    await page.getByTestId('compare-table').locator('tbody tr').first().waitFor({ timeout: 10_000 });
    assert.match((await page.getByTestId('compare-table').textContent()) ?? '', /syscall/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-compare.png') });

    assert.deepEqual(consoleErrors, [], 'no console errors');
    assert.deepEqual(foreign, [], 'no request leaves the daemon');
  });
});
