/**
 * The store of a live run (`live --store`, `--clickhouse`): opens it, tees every outlier into it, takes a profile
 * snapshot per analysis every `--profile-interval` (aligned to wall-clock multiples of the interval), and at the end
 * takes the last snapshot, flushes, closes and reports on stderr. `serve` wires the store the same way.
 */
import type { Engine, OutlierRecord } from '../analyses/engine.ts';
import type { OutlierHistory } from '../server/history.ts';
import { ProfileSnapshotter } from '../sinks/store/snapshots.ts';
import { OutlierStore, type StoreStats } from '../sinks/store/store.ts';
import type { Output } from './run.ts';
import type { StoreRunOptions } from './store-options.ts';

export interface RunStore {
  /** The store itself: `serve` answers `GET /api/events` with `history.query(...)`. */
  readonly history: OutlierHistory;
  /** The engine's outlier tee: queues the outlier (constant time). */
  tee(o: OutlierRecord): void;
  /** Outliers queued or being committed (what leaving now would drop). */
  readonly pending: number;
  /** Starts the profile snapshots of `engine`. */
  start(engine: Engine): void;
  /**
   * Last snapshot, flush, close; prints the store's line on stderr. Returns the exit code: 1 if rows were lost or
   * closing failed (a full disk, a damaged block: the line says which, with the true counts).
   */
  close(engine: Engine | undefined): Promise<number>;
}

/** Snapshot sources of an engine's analyses. */
export function profileSources(engine: Engine) {
  return engine.states.map((st) => ({
    name: st.analysis.name,
    total: () => engine.profiles.total(st.analysis.name),
    counters: () => {
      const t = st.tracker.stats;
      return { outliers: st.outliers, overThreshold: t.overThreshold, timeouts: t.timeouts };
    },
  }));
}

export async function openRunStore(opts: StoreRunOptions, io: Output): Promise<RunStore> {
  const store = await OutlierStore.open({ ...opts.store, log: (line) => io.err(`latency-tracker: ${line}\n`) });
  const host = OutlierStore.host();
  let snap: ProfileSnapshotter | undefined;
  let timer: NodeJS.Timeout | undefined;
  const every = opts.profileIntervalMs;
  const schedule = () => {
    timer = setTimeout(
      () => {
        if (snap !== undefined) store.addProfiles(snap.take(Date.now()));
        schedule();
      },
      every - (Date.now() % every),
    );
    timer.unref();
  };
  return {
    history: store,
    tee: (o) => store.add(o, host),
    get pending() {
      return store.backlog;
    },
    start(engine) {
      snap = new ProfileSnapshotter(profileSources(engine), host, Date.now());
      schedule();
    },
    async close(engine) {
      if (timer !== undefined) clearTimeout(timer);
      if (snap !== undefined && engine !== undefined) store.addProfiles(snap.take(Date.now()));
      const s = await store.close();
      io.err(`latency-tracker: ${storeLine(store.path, s)}\n`);
      return s.failed !== null || s.droppedFailed > 0 || s.closeFailed !== null ? 1 : 0;
    },
  };
}

/** One line about what the store did. */
export function storeLine(path: string, s: StoreStats): string {
  let line = `store ${path}: ${s.written} outliers and ${s.profiles} profile snapshots written`;
  if (s.dropped > 0) line += `, ${s.dropped} outliers dropped (the store fell behind)`;
  if (s.droppedFailed > 0) line += `, ${s.droppedFailed} outliers lost (${s.failed ?? 'store failure'})`;
  if (s.retentionDeleted > 0) line += `, ${s.retentionDeleted} expired by retention`;
  if (s.closeFailed !== null) {
    // The rows committed are in DuckDB's log; only the checkpoint folding them into the file failed.
    const why = s.closeFailed === s.failed ? '' : ` (${s.closeFailed})`;
    line += `; not checkpointed${why}: the rows written are in ${path}.wal, replayed when the store next opens`;
  }
  const ch = s.clickhouse;
  if (ch !== null) {
    line += `; ClickHouse: ${ch.shippedOutliers} outliers and ${ch.shippedProfiles} snapshots shipped`;
    const pend = (ch.pendingOutliers ?? 0) + (ch.pendingProfiles ?? 0);
    if (pend > 0) line += `, ${pend} rows still spooled (shipped on the next run with the same store)`;
    if (ch.alreadyThere > 0) line += `, ${ch.alreadyThere} found already delivered (not sent twice)`;
  }
  return line;
}
