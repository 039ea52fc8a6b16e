import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEBUGFS_TRACEFS, DEFAULT_TRACEFS } from '../../paths.ts';
import { SetupError } from '../errors.ts';

/** Mount points this process mounted tracefs on, unmounted at exit (`unmountOursSync`). */
const mounted = new Set<string>();
let exitHookInstalled = false;

/**
 * Mounts tracefs at `dir` (`mount -t tracefs nodev DIR`, no shell) when it is not mounted there — only on one of the
 * standard mount points or on an empty directory: mounting over a directory with files would hide them. What this
 * process mounted it unmounts at exit (after its instances are removed). Throws `SetupError` with what to do when
 * the kernel or the user cannot.
 */
export function mountTracefs(dir: string): void {
  if (!/^\/[A-Za-z0-9_./-]+$/.test(dir)) throw new SetupError(`refusing to mount tracefs on unusual path '${dir}'`);
  if (existsSync(join(dir, 'instances'))) return;
  if (dir !== DEFAULT_TRACEFS && dir !== DEBUGFS_TRACEFS) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (e) {
      throw new SetupError(
        `tracefs is not mounted at ${dir}, which cannot be read (${(e as NodeJS.ErrnoException).code})`,
      );
    }
    if (entries.length > 0) {
      throw new SetupError(
        `${dir} is not a tracefs mount (no 'instances' directory) and not empty: refusing to mount tracefs over ` +
          `its files; give tracefs's mount point (e.g. ${DEFAULT_TRACEFS}) or an empty directory.`,
      );
    }
  }
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', dir], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (e) {
    const msg = String((e as { stderr?: Buffer }).stderr ?? '').trim() || (e as Error).message;
    throw new SetupError(
      `tracefs is not mounted at ${dir} and mounting it failed (${msg.split('\n')[0]}): ` +
        `mount it with 'mount -t tracefs nodev ${dir}' (needs a kernel with CONFIG_TRACING).`,
    );
  }
  mounted.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Runs before the instance's own exit handler: busy then (our instance's files are open), it is retried by
    // `removeAllInstancesSync` once the instances are gone.
    process.on('exit', unmountOursSync);
  }
  if (!existsSync(join(dir, 'instances'))) {
    throw new SetupError(`tracefs at ${dir} has no 'instances' directory: this kernel is too old for latency-tracker.`);
  }
}

/**
 * Unmounts what `mountTracefs` mounted, best effort and never lazily: a mount still in use (our instance's files
 * open, or another process reading through it) stays, and is retried by the next call. Safe from exit handlers.
 */
export function unmountOursSync(): void {
  for (const dir of [...mounted]) {
    try {
      execFileSync('umount', [dir], { stdio: 'ignore', timeout: 10_000 });
      mounted.delete(dir);
    } catch {
      // busy: retried after our instances are removed; otherwise left mounted
    }
  }
}
