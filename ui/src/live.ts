// The live outlier feed: the SSE stream (GET /api/events/stream) and, per analysis the page shows, that analysis's
// own recent window read back from the history (GET /api/events?analysis=&since=&before=, paged), kept in one
// bounded list, newest first. Subscribers are told at most every 250 ms.
import { getJson, type Outlier } from './api.ts';

/** Outliers kept per analysis (the newest); beyond, the window shown is cut and the page says so. */
export const PER_ANALYSIS = 10_000;
const PAGE = 1000;

/** Where the connection to the daemon stands. */
export type FeedState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface Feed {
  outliers: Outlier[];
  /** unix_ns - now_ns of the daemon: add to a record's `end_ns` to get wall time. */
  offsetNs: number;
  state: FeedState;
  /** Wall-clock ms when the daemon said goodbye (state `stopped`). */
  stoppedAt: number | undefined;
  /** Outliers the daemon did not stream during a storm. */
  skipped: number;
  /** Per analysis: its window is being read, was read, or was cut at `PER_ANALYSIS`. */
  history: Record<string, 'loading' | 'done' | 'cut' | 'failed'>;
}

export interface FeedControl {
  /** Reads `analysis`'s outliers of the last `spanNs` from the history (once per connection). */
  load(analysis: string, spanNs: number): void;
  stop(): void;
}

type Listener = (f: Feed) => void;

export function startFeed(onChange: Listener): FeedControl {
  const feed: Feed = {
    outliers: [],
    offsetNs: 0,
    state: 'connecting',
    stoppedAt: undefined,
    skipped: 0,
    history: {},
  };
  const seen = new Set<string>();
  // Arrivals since the last notification: merged into the list once per notification, not once per outlier (a storm
  // streams up to 1000 per flush), and always into a new array, so that the page's memos see the change.
  let incoming: Outlier[] = [];
  let timer: number | undefined;
  /** The daemon's clock (now_ns) at `helloAt` (performance.now() ms). */
  let helloNs = 0;
  let helloAt = 0;
  let generation = 0;
  const daemonNow = () => helloNs + (performance.now() - helloAt) * 1e6;
  const notify = () => {
    if (timer !== undefined) return;
    timer = window.setTimeout(() => {
      timer = undefined;
      if (incoming.length > 0) {
        const merged = feed.outliers.concat(incoming);
        incoming = [];
        merged.sort((a, b) => b.end_ns - a.end_ns);
        // Bounded per analysis: the oldest of an analysis beyond PER_ANALYSIS go.
        const per = new Map<string, number>();
        const kept: Outlier[] = [];
        for (const o of merged) {
          const n = (per.get(o.analysis) ?? 0) + 1;
          per.set(o.analysis, n);
          if (n <= PER_ANALYSIS) kept.push(o);
          else seen.delete(key(o));
        }
        feed.outliers = kept;
      }
      onChange({ ...feed });
    }, 250);
  };
  const key = (o: Outlier) => `${o.analysis}/${o.tid}/${o.start_ns}/${o.end_ns}/${o.reason}`;
  const add = (o: Outlier) => {
    const k = key(o);
    if (seen.has(k)) return;
    seen.add(k);
    incoming.push(o);
  };

  const load = async (analysis: string, spanNs: number) => {
    const st = feed.history[analysis];
    if (st === 'loading' || st === 'done' || st === 'cut' || feed.state === 'connecting') return;
    const gen = generation;
    feed.history[analysis] = 'loading';
    notify();
    const since = BigInt(Math.max(0, Math.floor(daemonNow() - spanNs)));
    let before: number | undefined;
    let got = 0;
    try {
      for (;;) {
        const q = `analysis=${encodeURIComponent(analysis)}&since=${since}&limit=${PAGE}${before !== undefined ? `&before=${before}` : ''}`;
        const r = await getJson<{ events: Outlier[] }>(`/api/events?${q}`);
        if (gen !== generation) return;
        for (const o of r.events) add(o);
        got += r.events.length;
        notify();
        if (r.events.length < PAGE) {
          feed.history[analysis] = 'done';
          break;
        }
        if (got >= PER_ANALYSIS) {
          feed.history[analysis] = 'cut';
          break;
        }
        // The next page: older than the oldest of this one (same-end_ns ties at a page edge are rare and harmless).
        before = r.events[r.events.length - 1].end_ns;
      }
    } catch {
      if (gen === generation) feed.history[analysis] = 'failed';
    }
    notify();
  };

  const es = new EventSource('/api/events/stream');
  es.addEventListener('hello', (ev) => {
    const h = JSON.parse((ev as MessageEvent).data) as { now_ns: number; unix_ns: number };
    feed.offsetNs = h.unix_ns - h.now_ns;
    helloNs = h.now_ns;
    helloAt = performance.now();
    feed.state = 'live';
    feed.stoppedAt = undefined;
    // A new connection (first, or after the daemon came back): the windows are read again.
    generation++;
    feed.history = {};
    notify();
  });
  es.addEventListener('latency', (ev) => {
    add(JSON.parse((ev as MessageEvent).data) as Outlier);
    notify();
  });
  es.addEventListener('skipped', (ev) => {
    feed.skipped += (JSON.parse((ev as MessageEvent).data) as { count: number }).count;
    notify();
  });
  es.addEventListener('bye', () => {
    // The daemon is shutting down: it streamed everything it reported. The browser will try to reconnect; a daemon
    // started again says hello and the page goes live again.
    feed.state = 'stopped';
    feed.stoppedAt = Date.now();
    notify();
  });
  es.onerror = () => {
    if (feed.state !== 'stopped') feed.state = feed.state === 'connecting' ? 'connecting' : 'reconnecting';
    notify();
  };
  return {
    load: (analysis, spanNs) => {
      load(analysis, spanNs);
    },
    stop: () => {
      es.close();
      if (timer !== undefined) window.clearTimeout(timer);
    },
  };
}
