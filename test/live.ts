/**
 * Helpers for live tests: run the real `latency-tracker` command in a child process, wait until it traces, provoke
 * something, and collect its JSON Lines as they stream.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/latency-tracker.js', import.meta.url));
export const isRoot = process.getuid?.() === 0;

export type Json = Record<string, unknown>;

/** Parses a JSON line keeping integers beyond 2^53 exact (as bigint). */
export function parseJsonLine(s: string): Json {
  return JSON.parse(s.replace(/:(-?\d{16,})([,}])/g, ':"$1n"$2'), (_k, v) =>
    typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v,
  );
}

/** Every run started and not yet exited: `killLiveRuns` ends them (a test that failed half-way must not leak one). */
const running = new Set<LiveRun>();

/** Ends every `LiveRun` still running (SIGINT, then SIGKILL after 3 s). Use in `afterEach`. */
export async function killLiveRuns(): Promise<void> {
  await Promise.all(
    [...running].map(async (r) => {
      const t = setTimeout(() => r.child.kill('SIGKILL'), 3000);
      await r.stop();
      clearTimeout(t);
    }),
  );
}

export class LiveRun {
  readonly child: ChildProcess;
  readonly records: Json[] = [];
  stdout = '';
  stderr = '';
  private waiters: (() => void)[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** Runs `latency-tracker COMMAND ARGS...` (`live` by default; `record` and `serve` read the same way). */
  constructor(args: string[], command = 'live') {
    this.child = spawn(process.execPath, [BIN, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout?.setEncoding('utf8');
    this.child.stdout?.on('data', (d: string) => {
      this.stdout += d;
      partial += d;
      let nl = partial.indexOf('\n');
      while (nl >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line.startsWith('{')) this.records.push(parseJsonLine(line));
        nl = partial.indexOf('\n');
      }
      this.notify();
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (d: string) => {
      this.stderr += d;
      this.notify();
    });
    running.add(this);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
      }),
    );
    this.exited.then(() => this.notify());
  }

  private notify() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `cond()` holds (checked on every output chunk), rejects after `ms` or if the child exits first. */
  async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`latency-tracker exited before ${what}: ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Waits for the "Tracing ... Hit Ctrl-C to end." line: tracing is on. */
  ready(ms = 15_000): Promise<void> {
    return this.until(() => /Hit Ctrl-C to end\./.test(this.stderr + this.stdout), ms, 'the tracing header');
  }

  /** Latency records of one analysis. */
  latencies(analysis: string): Json[] {
    return this.records.filter((r) => r.type === 'latency' && r.analysis === analysis);
  }

  /** Ends the run like Ctrl-C and waits for the exit. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    return this.exited;
  }
}

/** Runs a command to completion; resolves with its pid and exit code. */
export function runChild(cmd: string, args: string[]): Promise<{ pid: number; code: number | null; endedAt: number }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', (code) => resolve({ pid: c.pid as number, code, endedAt: Date.now() }));
  });
}

/** Instances of ours whose process is gone (there must never be any). */
export function orphanInstances(): string[] {
  return readdirSync('/sys/kernel/tracing/instances').filter((n) => {
    const m = /^latency-tracker-(\d+)$/.exec(n);
    if (m === null) return false;
    try {
      process.kill(Number(m[1]), 0);
      return false;
    } catch {
      return true;
    }
  });
}
