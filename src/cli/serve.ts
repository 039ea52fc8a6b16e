/**
 * `latency-tracker serve`: the monitoring daemon (issue 6). Live tracking of the analyses, the HTTP API, `/metrics`
 * and the dashboard, until SIGINT, SIGTERM or SIGHUP (`signals.ts`); then the streams end, the server closes, the
 * source drains its last events and removes its tracefs instance, the store commits and closes, and the process
 * exits 0 (1 if the store lost rows).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ANALYSES } from '../analyses/index.ts';
import { Profiles } from '../analyses/profiles.ts';
import { Daemon } from '../server/daemon.ts';
import { createApiServer } from '../server/http.ts';
import { checkToken, DEFAULT_LISTEN, isLoopback, parseListen } from '../server/listen.ts';
import { StaticFiles } from '../server/static.ts';
import { removeServeNote, serveNotePath, writeServeNote } from '../sinks/store/serve-note.ts';
import { DEFAULT_STORE_PATH } from '../sinks/store/store.ts';
import { Cgroupfs } from '../sources/cgroupfs.ts';
import { SetupError, systemErrorText } from '../sources/errors.ts';
import { removeAllInstancesSync } from '../sources/tracefs/instance.ts';
import { LiveSource } from '../sources/tracefs/source.ts';
import { ensureTracefs, type GlobalOptions, liveEvents, pathsOf, runnable } from './commands.ts';
import {
  ForwardingObserver,
  flightSummary,
  openFlightRecorder,
  parseFlightOptions,
  prepareFlightDir,
  type RawFlightOptions,
} from './flight.ts';
import { kernelHas } from './list.ts';
import { engineSettings, parseRunOptions, type RawOptions, UsageError } from './options.ts';
import { reportTemplate } from './report.ts';
import { type Output, onOutputError } from './run.ts';
import { openRunStore, type RunStore } from './run-store.ts';
import { onStopSignals } from './signals.ts';
import { parseStoreOptions, type RawStoreOptions } from './store-options.ts';

export interface ServeOptions extends RawOptions, GlobalOptions, Omit<RawStoreOptions, 'store'>, RawFlightOptions {
  listen?: string;
  token?: string;
  history?: string;
  /** `--no-stacks` sets this false. */
  stacks?: boolean;
  /** `--store PATH`; `--no-store` sets it false (then outliers are kept in memory only). */
  store?: string | boolean;
  metricsBy?: string;
  metricsLimit?: string;
}

/** Cgroup series per analysis in /metrics before `other` (`--metrics-limit`). */
export const DEFAULT_METRICS_LIMIT = 64;
export const MAX_METRICS_LIMIT = 4096;

/** Where the built dashboard is: `ui/dist` at the package root (from `src/cli/` or `dist/cli/`). */
export const UI_DIST = fileURLToPath(new URL('../../ui/dist', import.meta.url));

/**
 * Longest a graceful shutdown may take before the process cleans up and leaves anyway (it normally takes well under
 * 2 s: the store's ClickHouse shipping is bounded by 5 s, a checkpoint by the store's size).
 */
const SHUTDOWN_MS = 15_000;

export async function runServe(names: string[], raw: ServeOptions, io: Output, version: string): Promise<number> {
  const o = parseRunOptions(names, { ...raw, stacks: raw.stacks !== false });
  const listen = parseListen(raw.listen ?? DEFAULT_LISTEN);
  if (typeof listen === 'string') throw new UsageError(`--listen: ${listen}`);
  // An empty LATENCY_TRACKER_TOKEN (`LATENCY_TRACKER_TOKEN=` in a unit file or a shell) means no token, as if unset;
  // an empty --token is refused by checkToken like any other bad token.
  const token = raw.token ?? (process.env.LATENCY_TRACKER_TOKEN || undefined);
  if (token !== undefined) {
    const bad = checkToken(token);
    if (bad !== undefined) throw new UsageError(`--token: ${bad}`);
  }
  if (!isLoopback(listen.host) && token === undefined) {
    throw new UsageError(
      `--listen ${raw.listen}: binding beyond loopback needs --token (or LATENCY_TRACKER_TOKEN): every request must then carry it`,
    );
  }
  let metricsLimit: number | undefined;
  if (raw.metricsLimit !== undefined && raw.metricsBy === undefined) {
    throw new UsageError('--metrics-limit caps the series of --metrics-by cgroup: give --metrics-by too');
  }
  if (raw.metricsBy !== undefined) {
    if (raw.metricsBy !== 'cgroup') throw new UsageError(`--metrics-by: unknown field '${raw.metricsBy}' (cgroup)`);
    const t = raw.metricsLimit ?? String(DEFAULT_METRICS_LIMIT);
    if (!/^\d{1,5}$/.test(t) || Number(t) < 1 || Number(t) > MAX_METRICS_LIMIT) {
      throw new UsageError(`--metrics-limit: '${t.slice(0, 20)}' is not a number from 1 to ${MAX_METRICS_LIMIT}`);
    }
    metricsLimit = Number(t);
  }
  let historyCapacity = 4096;
  if (raw.history !== undefined && raw.store !== false) {
    throw new UsageError('--history sizes the in-memory history, which only --no-store uses (the store keeps all)');
  }
  if (raw.history !== undefined) {
    if (!/^\d{1,7}$/.test(raw.history) || Number(raw.history) < 1 || Number(raw.history) > 1_000_000) {
      throw new UsageError(`--history: '${raw.history}' is not a number of outliers (1..1000000)`);
    }
    historyCapacity = Number(raw.history);
  }
  const flightSettings = parseFlightOptions(raw);
  const files = new StaticFiles(UI_DIST);
  // The daemon keeps every outlier in the store by default (history survives restarts); --no-store keeps a ring.
  const storeOpts =
    raw.store === false
      ? undefined
      : parseStoreOptions({ ...raw, store: typeof raw.store === 'string' ? raw.store : DEFAULT_STORE_PATH });

  const paths = pathsOf(raw);
  ensureTracefs(paths);
  const has = kernelHas(paths);
  const analyses = runnable(o, names.length > 0, has, 'this kernel');
  const cgroups = Cgroupfs.open(paths);
  const { events, stackBits } = liveEvents(paths, analyses, has, o.stacks, cgroups !== undefined);
  if (flightSettings !== undefined) prepareFlightDir(flightSettings);
  // The store opens before tracing starts: a locked, corrupt or unwritable store ends the daemon with one line.
  const store: RunStore | undefined = storeOpts === undefined ? undefined : await openRunStore(storeOpts, io);
  let source: LiveSource;
  const pages = flightSettings === undefined ? undefined : new ForwardingObserver();
  try {
    source = LiveSource.open({ paths, events, stackBits, cgroups, pageObserver: pages });
  } catch (e) {
    await store?.close(undefined);
    throw e;
  }
  let daemon: Daemon;
  let flight: ReturnType<typeof openFlightRecorder> | undefined;
  try {
    if (flightSettings !== undefined && pages !== undefined) {
      flight = openFlightRecorder(flightSettings, source, paths, `latency-tracker ${version}`);
      pages.target = flight;
    }
    const settings = engineSettings(o);
    daemon = new Daemon({
      source,
      // Every analysis asked for: those this kernel lacks are listed (unavailable, with the reason).
      analyses: names.length > 0 ? o.analyses : ANALYSES,
      engine: {
        settings,
        stacks: o.stacks,
        cgroupMetrics: metricsLimit,
        // Latency over time is kept for the report (GET /api/report).
        profiles: new Profiles(undefined, undefined, metricsLimit, { timeline: true }),
      },
      recording: { events, setRecording: (e, s) => source.setRecording(e, s) },
      historyCapacity,
      history: store?.history,
      host: hostname(),
      version,
      now: () => process.hrtime.bigint(),
      flight,
      reportTemplate: optionalReportTemplate(),
    });
  } catch (e) {
    source.instance.remove();
    await store?.close(undefined);
    throw e;
  }
  const server = createApiServer({ daemon, files, token });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    daemon.close();
    source.instance.remove();
    await store?.close(undefined);
    throw new SetupError(`cannot listen on ${raw.listen ?? DEFAULT_LISTEN}: ${systemErrorText(e)}`);
  }
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : listen.port;
  // A wildcard address is no place to browse to: show the machine's name instead.
  const wildcard = listen.host === '0.0.0.0' || listen.host === '::' || /^[0:]+$/.test(listen.host);
  const shownHost = wildcard ? hostname() : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const base = `http://${shownHost}:${port}`;

  let forced: NodeJS.Timeout | undefined;
  const shutdown = () => {
    // A shutdown that hangs (a wedged store or read) still ends, saying what it drops.
    forced = setTimeout(() => {
      const n = store?.pending ?? 0;
      io.err(
        `latency-tracker: shutdown took over ${SHUTDOWN_MS / 1000} s; leaving${n > 0 ? `, ${n} outliers not committed to the store dropped` : ''}\n`,
      );
      removeAllInstancesSync();
      if (storeOpts !== undefined) removeServeNote(storeOpts.store.path);
      process.exit(1);
    }, SHUTDOWN_MS);
    forced.unref();
    daemon.close();
    server.close();
    server.closeAllConnections();
    source.stop();
  };
  const offSignals = onStopSignals(shutdown, () => store?.pending ?? 0, io);
  // Its few lines of output are informational: a daemon whose standard output fails goes on (and exits 1 at the end).
  const offOutput = onOutputError(() => {});
  let code = 0;
  try {
    const running = daemon.run();
    store?.start(daemon.engine);
    io.out(`Tracing ${daemon.engine.states.map((s) => s.analysis.name).join(', ')}... Hit Ctrl-C to end.\n`);
    for (const s of daemon.engine.skipped) io.out(`  not available: ${s}\n`);
    io.out(`Dashboard: ${base}/${token !== undefined ? '  (log in once with /?token=YOUR_TOKEN)' : ''}\n`);
    io.out(`Metrics:   ${base}/metrics\n`);
    if (storeOpts !== undefined) {
      const path = resolve(storeOpts.store.path);
      // `query` finds this daemon through the note and asks it (the store admits one process at a time).
      const noted = writeServeNote(path, base);
      io.out(
        `Store:     ${path}${noted ? ' (latency-tracker query asks this daemon while it runs)' : ` (cannot write ${serveNotePath(path)}: query cannot reach this daemon)`}\n`,
      );
    } else io.out('Store:     none (--no-store): outliers are kept in memory only\n');
    const stats = await running.catch((e) => {
      server.close();
      server.closeAllConnections();
      daemon.close();
      throw e;
    });
    const lost = stats.lostPerCpu.reduce((a, b) => a + b, 0);
    if (lost > 0) io.err(`latency-tracker: the kernel lost ${lost} events while serving\n`);
  } finally {
    // Files still due are written with the pages there are (the forced exit still bounds the shutdown).
    if (flight !== undefined) {
      await flight.flush();
      io.err(flightSummary(flight));
    }
    // Everything buffered reaches the store before we leave (the forced exit still bounds the shutdown).
    if (storeOpts !== undefined) removeServeNote(storeOpts.store.path);
    if (store !== undefined) code = await store.close(daemon.engine);
    if (forced !== undefined) clearTimeout(forced);
    offSignals();
    offOutput();
  }
  return code;
}

/** The report page when it was built (the daemon runs without it: `GET /api/report` then says so). */
function optionalReportTemplate(): string | undefined {
  try {
    return reportTemplate();
  } catch {
    return undefined;
  }
}
