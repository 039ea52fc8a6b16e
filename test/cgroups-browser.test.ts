/**
 * The dashboard cut by cgroup (issue 15), in Debian's Chromium against the real daemon: two real v2 groups with a
 * sleeper each; "group by cgroup" lists both with their outliers, the cgroup filter keeps one group's outliers only,
 * and an outlier's row names its cgroup. Groups are removed in `finally` (processes moved out first).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { isRoot } from './live.ts';
import { ServeRun } from './serve-helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CG = '/sys/fs/cgroup';
const V2 = existsSync(join(CG, 'cgroup.controllers')) ? CG : join(CG, 'unified');
const skip = !isRoot
  ? 'needs root (CI runs as root)'
  : !existsSync(CHROMIUM)
    ? `needs ${CHROMIUM} (prepare.sh)`
    : !existsSync(join(V2, 'cgroup.controllers')) && 'no cgroup v2 hierarchy';

async function removeGroup(dir: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(V2, 'cgroup.procs'), `${p}\n`);
        } catch {
          // exited meanwhile
        }
      }
      rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('dashboard by cgroup', { skip }, () => {
  test('group by cgroup lists both groups; the cgroup filter keeps one', async () => {
    const names = ['a', 'b'].map((x) => `lt-test-${process.pid}-ui-${x}`);
    const dirs = names.map((n) => join(V2, n));
    for (const d of dirs) mkdirSync(d);
    const d = new ServeRun(['syscall', '--listen', '127.0.0.1:0', '-t', 'syscall=30ms', '--no-stacks']);
    const kids = dirs.map(() =>
      spawn('perl', ['-e', '$|=1; <STDIN>; select(undef, undef, undef, 0.05) for 1..4; <STDIN>;'], {
        stdio: ['pipe', 'ignore', 'ignore'],
      }),
    );
    const profile = mkdtempSync(join(tmpdir(), 'lt-chromium-'));
    const ctx = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      viewport: { width: 1366, height: 900 },
    });
    try {
      const base = await d.ready();
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${base}/#/a/syscall`);
      await page.getByTestId('connection').filter({ hasText: 'live' }).waitFor({ timeout: 10_000 });
      kids.forEach((k, i) => {
        writeFileSync(join(dirs[i], 'cgroup.procs'), `${k.pid}\n`);
        k.stdin?.write('go\n');
      });
      await page.getByTestId('outlier-filter').fill('perl');
      await page.getByTestId('group-by').selectOption('cgroup');
      for (const n of names) {
        await page.locator(`[data-testid=group-row][data-group="/${n}"]`).waitFor({ timeout: 20_000 });
      }
      await page.getByTestId('cgroup-filter').fill(`/${names[0]}`);
      await page.locator(`[data-testid=group-row][data-group="/${names[1]}"]`).waitFor({ state: 'detached' });
      const cells = await page
        .getByTestId('outlier-cgroup')
        .evaluateAll((els) => els.map((e) => e.getAttribute('title')));
      assert.ok(cells.length >= 1);
      assert.ok(
        cells.every((t) => t === `/${names[0]}`),
        cells.join(' '),
      );
      mkdirSync(join(process.cwd(), 'artifacts'), { recursive: true });
      await page.screenshot({ path: join(process.cwd(), 'artifacts', 'dashboard-cgroups.png') });
      assert.deepEqual(errors, []);
    } finally {
      for (const k of kids) k.kill('SIGKILL');
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
      await d.stop();
      for (const dir of dirs) await removeGroup(dir);
    }
  });
});
