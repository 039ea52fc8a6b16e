/**
 * Helpers for the daemon's tests: run the real `latency-tracker serve` in a child process, wait for its URL, and
 * talk HTTP to it with full control of the headers (node:http, not fetch: tests send odd Host headers and bodies).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { BIN } from './live.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): Record<string, unknown>;
}

export class ServeRun {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  private waiters: (() => void)[] = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = process.env) {
    // Tests keep outliers in memory unless they name a store (the default store is a system path).
    const store = args.some((a) => a === '--store' || a === '--no-store') ? [] : ['--no-store'];
    this.child = spawn(process.execPath, [BIN, 'serve', ...store, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (d: string) => {
      this.stdout += d;
      this.notify();
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (d: string) => {
      this.stderr += d;
      this.notify();
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    this.exited.then(() => this.notify());
  }

  private notify() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** The instance directory of this daemon. */
  get instanceDir(): string {
    return `/sys/kernel/tracing/instances/latency-tracker-${this.pid}`;
  }

  get instanceExists(): boolean {
    return existsSync(this.instanceDir);
  }

  /** Resolves when `cond()` holds (checked on output and every `poll` ms), rejects after `ms` or on exit. */
  async until(cond: () => boolean | Promise<boolean>, ms: number, what: string, poll = 100): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await cond())) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`latency-tracker serve exited before ${what}: ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, poll));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the dashboard line; returns the base URL (`http://127.0.0.1:PORT`). */
  async ready(ms = 20_000): Promise<string> {
    await this.until(() => /Dashboard: http:\/\/\S+:\d+\//.test(this.stdout), ms, 'the dashboard URL');
    const m = /Dashboard: (http:\/\/\S+):(\d+)\//.exec(this.stdout) as RegExpExecArray;
    this.port = Number(m[2]);
    return `http://127.0.0.1:${this.port}`;
  }

  port = 0;

  /** One HTTP request to the daemon on 127.0.0.1. */
  req(
    method: string,
    path: string,
    opts: { headers?: Record<string, string>; body?: string | Buffer } = {},
  ): Promise<Reply> {
    return httpRequest(this.port, method, path, opts);
  }

  async getJson(path: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const r = await this.req('GET', path, { headers });
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
    return r.json();
  }

  putJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    return this.req('PUT', path, {
      headers: { 'Content-Type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  /** Waits until the daemon has handled every event up to now (its `processed_ns` passed our monotonic clock). */
  async caughtUp(ms = 10_000): Promise<void> {
    const t = process.hrtime.bigint();
    await this.until(
      async () => {
        const a = await this.getJson('/api/analyses');
        return a.processed_ns !== null && BigInt(a.processed_ns as number) > t;
      },
      ms,
      'the daemon to catch up with the kernel',
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export function httpRequest(
  port: number,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = request(
      // A fresh connection per request (agent: false): a kept-alive socket can be closed by the server's idle timeout
      // just as it is reused, which reads as a 'socket hang up' that has nothing to do with the test.
      { host: '127.0.0.1', port, method, path, headers: { Host: `127.0.0.1:${port}`, ...opts.headers }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    if (opts.body !== undefined) r.write(opts.body);
    r.end();
  });
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

/** Polls `fn` until it returns a value (not undefined), every `poll` ms, failing after `ms`. */
export async function waitFor<T>(fn: () => Promise<T | undefined>, ms: number, what: string, poll = 250): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, poll));
  }
}
