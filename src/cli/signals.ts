/**
 * How `live` and `serve` end on a signal (issue 18). SIGINT, SIGTERM and SIGHUP (a closed terminal or ssh session)
 * all stop gracefully: the source drains, the store commits what is queued and closes, the instance is removed. A
 * second signal only says what is still being done; a third leaves at once (the instance is still removed), saying
 * how many outliers that drops, with exit code 128 + the signal's number.
 */
import { constants } from 'node:os';
import { removeAllInstancesSync } from '../sources/tracefs/instance.ts';
import type { Output } from './run.ts';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Calls `stop` on the first stop signal. `pending()` is the number of outliers not committed yet (0 without a
 * store). Returns the disposer, to call once the command has finished its own shutdown.
 */
export function onStopSignals(stop: () => void, pending: () => number, io: Output): () => void {
  let seen = 0;
  const handler = (sig: NodeJS.Signals) => {
    seen++;
    if (seen === 1) {
      stop();
      return;
    }
    const n = pending();
    if (seen === 2) {
      const doing = n > 0 ? `committing ${n} outliers to the store` : 'finishing';
      io.err(
        `latency-tracker: ${sig}: still ${doing}; a third signal leaves at once${n > 0 ? ' and drops them' : ''}\n`,
      );
      return;
    }
    io.err(
      `latency-tracker: ${sig}: leaving at once${n > 0 ? `, ${n} outliers not committed to the store dropped` : ''}\n`,
    );
    removeAllInstancesSync();
    process.exit(128 + (constants.signals[sig] ?? 0));
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, handler);
  };
}
