/**
 * Worker for the corruption test: decodes each damaged file it is sent and reports how it ended, so that the main
 * thread can enforce a time bound even on a synchronous endless loop (by terminating the worker).
 */
import { parentPort } from 'node:worker_threads';
import { openTraceDat, TraceDatError } from '../../src/sources/tracedat/index.ts';

export interface CaseResult {
  id: number;
  outcome: 'decoded' | 'error';
  records: number;
  errors: Record<string, number>;
  lossReports: number;
  message?: string;
  offset?: number;
  /** Peak RSS seen in this case, bytes. */
  rss: number;
  ms: number;
}

parentPort?.on('message', async (msg: { id: number; path: string }) => {
  const t0 = performance.now();
  let rss = process.memoryUsage.rss();
  const out: CaseResult = { id: msg.id, outcome: 'decoded', records: 0, errors: {}, lossReports: 0, rss, ms: 0 };
  try {
    const src = await openTraceDat(msg.path);
    let n = 0;
    const stats = await src.run({
      record() {
        if ((++n & 0xffff) === 0) rss = Math.max(rss, process.memoryUsage.rss());
      },
    });
    out.records = stats.records;
    out.errors = stats.errors;
    out.lossReports = stats.lossReports;
  } catch (e) {
    if (!(e instanceof TraceDatError)) {
      out.outcome = 'error';
      out.message = `UNEXPECTED ${(e as Error)?.stack ?? String(e)}`;
    } else {
      out.outcome = 'error';
      out.message = e.message;
      out.offset = e.offset;
    }
  }
  out.rss = Math.max(rss, process.memoryUsage.rss());
  out.ms = performance.now() - t0;
  parentPort?.postMessage(out);
});
