/**
 * The dashboard's files (`ui/dist`), loaded into memory once at start: a request is answered from a map keyed by
 * URL path, so no request ever reaches the filesystem and no path can escape the directory. Text files are also
 * kept gzipped. Bounded: at most `MAX_FILES` files and `MAX_BYTES` in all.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

const MAX_FILES = 500;
const MAX_BYTES = 20 * 1024 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export interface StaticFile {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  /** Content-hashed asset (under `/assets/`): cached for a year. */
  immutable: boolean;
}

export class StaticFiles {
  private readonly files = new Map<string, StaticFile>();

  /** Loads `dir`; a missing directory gives an empty set (the daemon then answers 503 for the dashboard). */
  constructor(readonly dir: string) {
    let total = 0;
    const walk = (d: string, prefix: string) => {
      let names: string[];
      try {
        names = readdirSync(d).sort();
      } catch {
        return;
      }
      for (const n of names) {
        if (n.startsWith('.')) continue;
        const p = join(d, n);
        const st = statSync(p);
        if (st.isDirectory()) {
          walk(p, `${prefix}${n}/`);
          continue;
        }
        const type = TYPES[extname(n).toLowerCase()];
        if (!st.isFile() || type === undefined) continue;
        if (this.files.size >= MAX_FILES || total + st.size > MAX_BYTES) {
          throw new Error(`${dir} holds more than ${MAX_FILES} files or ${MAX_BYTES} bytes: not a dashboard build`);
        }
        const body = readFileSync(p);
        total += body.length;
        const text = type.startsWith('text/') || type.startsWith('application/json') || type === 'image/svg+xml';
        const gz = text && body.length >= 1024 ? gzipSync(body, { level: 9 }) : undefined;
        this.files.set(`${prefix}${n}`, {
          body,
          gzip: gz !== undefined && gz.length < body.length ? gz : undefined,
          type,
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
          immutable: prefix.startsWith('/assets/'),
        });
      }
    };
    walk(dir, '/');
  }

  /** True when the build has an `index.html`. */
  get built(): boolean {
    return this.files.has('/index.html');
  }

  get size(): number {
    return this.files.size;
  }

  /** The file for a URL path (`/` is `/index.html`); undefined for anything else. */
  get(path: string): StaticFile | undefined {
    return this.files.get(path === '/' ? '/index.html' : path);
  }
}
