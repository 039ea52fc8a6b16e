/**
 * The live outlier stream (`GET /api/events/stream`, Server-Sent Events). Bounded everywhere:
 *
 * - at most `maxClients` streams at once (more are refused with 503, counted as `rejected`);
 * - each client's queue is the socket's own write buffer, capped at `maxQueueBytes`: a client that does not read
 *   fast enough is disconnected (counted as `dropped`) rather than buffered without end;
 * - the record path only appends to a bounded pending list (`offer`, O(1)); serialization and writes happen later,
 *   on `setImmediate`, so a slow or busy client never delays the kernel reader. Outliers beyond `maxPending` per
 *   flush (an outlier storm) are not streamed; they are counted as `skipped` and clients get a `skipped` event
 *   with the count (the history and the metrics still have them).
 */
import type { ServerResponse } from 'node:http';
import type { OutlierRecord } from '../analyses/engine.ts';
import { jsonLine } from '../sinks/json.ts';

export interface SseOptions {
  maxClients?: number;
  /** Bytes a client may have unread before it is dropped. */
  maxQueueBytes?: number;
  /** Outliers kept for one flush; more are skipped (counted). */
  maxPending?: number;
  /** Comment line sent to idle streams so proxies keep them open, ms. */
  heartbeatMs?: number;
}

export interface SseStats {
  clients: number;
  /** Streams accepted since start. */
  accepted: number;
  /** Streams refused because `maxClients` were open. */
  rejected: number;
  /** Clients disconnected because their queue was full. */
  dropped: number;
  /** Outliers not streamed because too many arrived between two flushes. */
  skipped: number;
  /** Outliers streamed (each counted once, whatever the number of clients). */
  sent: number;
}

interface Client {
  res: ServerResponse;
  /** Only this analysis, or every one. */
  analysis: string | undefined;
}

export class SseHub {
  private readonly clients = new Set<Client>();
  private readonly maxClients: number;
  private readonly maxQueueBytes: number;
  private readonly maxPending: number;
  private pending: OutlierRecord[] = [];
  private skippedSinceFlush = 0;
  private scheduled = false;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  readonly stats: SseStats = { clients: 0, accepted: 0, rejected: 0, dropped: 0, skipped: 0, sent: 0 };

  constructor(opts: SseOptions = {}) {
    this.maxClients = opts.maxClients ?? 32;
    this.maxQueueBytes = opts.maxQueueBytes ?? 256 * 1024;
    this.maxPending = opts.maxPending ?? 1000;
    this.heartbeat = setInterval(() => this.pingAll(), opts.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  /**
   * Takes over `res` as an event stream (headers, a `hello` event with `hello`'s fields). Returns false (and leaves
   * `res` alone) when the hub is full or closed: the caller answers 503.
   */
  open(res: ServerResponse, analysis: string | undefined, hello: object, headers: Record<string, string>): boolean {
    if (this.closed || this.clients.size >= this.maxClients) {
      this.stats.rejected++;
      return false;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    const c: Client = { res, analysis };
    this.clients.add(c);
    this.stats.accepted++;
    this.stats.clients = this.clients.size;
    res.on('close', () => this.remove(c));
    res.write(`retry: 2000\nevent: hello\ndata: ${jsonLine(hello)}\n\n`);
    return true;
  }

  /** Called on the record path for every outlier: O(1), no serialization, no I/O. */
  offer(o: OutlierRecord): void {
    if (this.clients.size === 0) return;
    if (this.pending.length >= this.maxPending) {
      this.skippedSinceFlush++;
      this.stats.skipped++;
    } else this.pending.push(o);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Serializes what is pending once and writes it to every client that wants it. */
  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const skipped = this.skippedSinceFlush;
    this.skippedSinceFlush = 0;
    if (this.clients.size === 0) return;
    // One string per outlier, shared by all clients.
    const frames = batch.map((o) => `event: latency\ndata: ${jsonLine(o)}\n\n`);
    this.stats.sent += frames.length;
    for (const c of this.clients) {
      let text = '';
      for (let i = 0; i < batch.length; i++)
        if (c.analysis === undefined || c.analysis === batch[i].analysis) text += frames[i];
      if (skipped > 0) text += `event: skipped\ndata: {"count":${skipped}}\n\n`;
      if (text !== '') this.write(c, text);
    }
  }

  /** Ends every stream and refuses new ones (shutdown). */
  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const c of [...this.clients]) {
      c.res.end('event: bye\ndata: {}\n\n');
      this.remove(c);
    }
  }

  /** A comment line to every client: keeps proxies from closing idle streams. */
  private pingAll(): void {
    for (const c of this.clients) this.write(c, ': ping\n\n');
  }

  private write(c: Client, text: string): void {
    // `writableLength` is what the socket has not taken yet: this client's queue.
    if (c.res.writableLength + text.length > this.maxQueueBytes) {
      this.stats.dropped++;
      this.remove(c);
      c.res.destroy();
      return;
    }
    c.res.write(text);
  }

  private remove(c: Client): void {
    if (this.clients.delete(c)) this.stats.clients = this.clients.size;
  }
}
