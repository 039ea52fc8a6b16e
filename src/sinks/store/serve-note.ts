/**
 * A store admits one process: while `serve` holds it, `query` asks the daemon instead (`POST /api/query`). The
 * daemon says where it listens in a small file beside the store, `<store>.serve` (`{"pid":…,"url":…}`, no secret),
 * written once it listens and removed when it stops; a note whose process is gone is ignored.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export interface ServeNote {
  pid: number;
  /** Base URL of the daemon's API, e.g. `http://127.0.0.1:9555`. */
  url: string;
}

export function serveNotePath(storePath: string): string {
  return `${resolve(storePath)}.serve`;
}

/** Writes the note of this process; a failure (read-only directory) only means `query` cannot find the daemon. */
export function writeServeNote(storePath: string, url: string): boolean {
  try {
    writeFileSync(serveNotePath(storePath), `${JSON.stringify({ pid: process.pid, url })}\n`, { mode: 0o644 });
    return true;
  } catch {
    return false;
  }
}

/** Removes the note if it is this process's. */
export function removeServeNote(storePath: string): void {
  if (readServeNote(storePath)?.pid === process.pid) rmSync(serveNotePath(storePath), { force: true });
}

/** The note of a running daemon holding `storePath`, or undefined (none, unreadable, or its process is gone). */
export function readServeNote(storePath: string): ServeNote | undefined {
  let o: unknown;
  try {
    o = JSON.parse(readFileSync(serveNotePath(storePath), 'utf8'));
  } catch {
    return undefined;
  }
  const n = o as Partial<ServeNote>;
  if (typeof n.pid !== 'number' || !Number.isInteger(n.pid) || n.pid <= 0) return undefined;
  if (typeof n.url !== 'string' || !/^http:\/\/[\w.:[\]-]+$/.test(n.url)) return undefined;
  try {
    process.kill(n.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return { pid: n.pid, url: n.url };
}
