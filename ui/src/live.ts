// The live outlier feed: the recent history (GET /api/events) and then the SSE stream (GET /api/events/stream),
// kept in one bounded list, newest first. Subscribers are told at most every 250 ms.
import { getJson, type Outlier } from './api.ts';

const MAX = 3000;

export interface Feed {
  outliers: Outlier[];
  /** unix_ns - now_ns of the daemon: add to a record's `end_ns` to get wall time. */
  offsetNs: number;
  connected: boolean;
  /** Outliers the daemon did not stream during a storm. */
  skipped: number;
}

type Listener = (f: Feed) => void;

export function startFeed(onChange: Listener): () => void {
  const feed: Feed = { outliers: [], offsetNs: 0, connected: false, skipped: 0 };
  const seen = new Set<string>();
  // Arrivals since the last notification: merged into the list once per notification, not once per outlier (a storm
  // streams up to 1000 per flush), and always into a new array, so that the page's memos see the change.
  let incoming: Outlier[] = [];
  let timer: number | undefined;
  const notify = () => {
    if (timer !== undefined) return;
    timer = window.setTimeout(() => {
      timer = undefined;
      if (incoming.length > 0) {
        const merged = feed.outliers.concat(incoming);
        incoming = [];
        merged.sort((a, b) => b.end_ns - a.end_ns);
        if (merged.length > MAX) for (const x of merged.splice(MAX)) seen.delete(key(x));
        feed.outliers = merged;
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
  const es = new EventSource('/api/events/stream');
  es.addEventListener('hello', (ev) => {
    const h = JSON.parse((ev as MessageEvent).data) as { now_ns: number; unix_ns: number };
    feed.offsetNs = h.unix_ns - h.now_ns;
    feed.connected = true;
    // The history fills in what happened before the stream opened (and across reconnects).
    getJson<{ events: Outlier[] }>('/api/events?limit=500')
      .then((r) => {
        for (const o of r.events) add(o);
        notify();
      })
      .catch(() => {});
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
  es.onerror = () => {
    feed.connected = false;
    notify();
  };
  return () => {
    es.close();
    if (timer !== undefined) window.clearTimeout(timer);
  };
}
