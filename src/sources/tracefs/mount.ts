import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SetupError } from '../errors.ts';

/**
 * Mounts tracefs at `dir` (`mount -t tracefs nodev DIR`, no shell). Throws `SetupError` with what to do when the
 * kernel or the user cannot.
 */
export function mountTracefs(dir: string): void {
  if (!/^\/[A-Za-z0-9_./-]+$/.test(dir)) throw new SetupError(`refusing to mount tracefs on unusual path '${dir}'`);
  if (existsSync(join(dir, 'instances'))) return;
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', dir], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (e) {
    const msg = String((e as { stderr?: Buffer }).stderr ?? '').trim() || (e as Error).message;
    throw new SetupError(
      `tracefs is not mounted at ${dir} and mounting it failed (${msg.split('\n')[0]}): ` +
        `mount it with 'mount -t tracefs nodev ${dir}' (needs a kernel with CONFIG_TRACING).`,
    );
  }
  if (!existsSync(join(dir, 'instances'))) {
    throw new SetupError(`tracefs at ${dir} has no 'instances' directory: this kernel is too old for latency-tracker.`);
  }
}
