/**
 * A daemon without a kernel reader, for measuring what serving alone costs: the engine has run over the shared
 * trace.dat (so profiles and counters are real), the HTTP server is the daemon's, and synthetic outliers arrive at
 * a steady rate through the same path as live ones (history + SSE). Prints `PORT <n>` when ready.
 * Run by serve.bench.ts: `node --import tsx bench/serve-child.ts RATE`.
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ANALYSES } from '../dist/analyses/index.js';
import { Daemon } from '../dist/server/daemon.js';
import { createApiServer } from '../dist/server/http.js';
import { StaticFiles } from '../dist/server/static.js';
import { openTraceDat } from '../dist/sources/tracedat/index.js';

const rate = Number(process.argv[2] ?? '10');
const trace = fileURLToPath(new URL('../../shared/traces/tracecmd-x86-vm/trace.dat', import.meta.url));
const source = await openTraceDat(trace);
const daemon = new Daemon({
  source,
  analyses: ANALYSES,
  host: hostname(),
  version: 'bench',
  now: () => process.hrtime.bigint(),
});
await daemon.run();
const server = createApiServer({
  daemon,
  files: new StaticFiles(fileURLToPath(new URL('../ui/dist', import.meta.url))),
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const addr = server.address();
let n = 0;
setInterval(() => {
  const end = process.hrtime.bigint();
  const o = {
    type: 'latency' as const,
    analysis: 'syscall',
    reason: 'threshold' as const,
    start_ns: end - 120_000_000n,
    end_ns: end,
    latency_ns: 120_000_000,
    cpu: n % 2,
    tid: 1000 + (n++ % 50),
    pid: 1000,
    comm: 'bench',
    detail: { syscall: 'clock_nanosleep', id: 230 },
    stack: ['schedule+0x3d/0xa0', 'do_nanosleep+0x6b/0x150', 'hrtimer_nanosleep+0x9c/0x140'],
    cgroup: null,
    container: null,
  };
  daemon.history.add(o, 'bench');
  daemon.hub.offer(o);
}, 1000 / rate);
process.stdout.write(`PORT ${typeof addr === 'object' && addr !== null ? addr.port : 0}\n`);
process.on('SIGTERM', () => process.exit(0));
