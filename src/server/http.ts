/**
 * The daemon's HTTP server (DESIGN §6): routing, authentication, request limits and JSON errors around a `Daemon`.
 *
 * Security (issue 6): every request is checked before routing —
 * - with a token: `Authorization: Bearer <token>` or the `lt_token` cookie (set by opening `/?token=<token>` once),
 *   compared in constant time; without one, 401;
 * - without a token (loopback only): the `Host` header must name a loopback address, so a web page that rebinds its
 *   DNS name to 127.0.0.1 cannot drive the API;
 * - `PUT` needs `Content-Type: application/json`, a same-origin `Origin` if any, and a body of at most
 *   `maxBodyBytes`; bodies are validated field by field (`validate.ts`);
 * - static files come from memory (`static.ts`); the only files read from disk are the flight recorder's own
 *   trace.dat files (`/api/trace-files/{name}`): a name of its exact pattern, of a file it wrote into its directory
 *   (no path, no `..`, nothing else there); no request reaches tracefs;
 * - every error is `{"error": "..."}` with a 4xx/5xx status — those of Node's own HTTP parser too (400, 431, and our
 *   408); unexpected exceptions answer 500 "internal error" and are logged on the daemon's stderr, never sent.
 *
 * Connections (issue 18): idle sockets must not lock anyone out. A connection has `HEADER_TIMEOUT_MS` to send a
 * request's headers (from its start, or from the end of its previous response); after that it gets a 408 and is
 * closed, whether it sent nothing or one byte a second. At most `MAX_CONNECTIONS` connections are open, at most
 * `MAX_PER_ADDRESS` from one address; a new connection beyond either limit takes the place of the oldest idle one
 * (no request in progress) — of its own address first — so a scrape always gets in while idle sockets are open;
 * only when every connection is busy is the new one refused (503). Each is counted in `/metrics`.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { cgroupPathProblem } from '../analyses/container.ts';
import { jsonLine } from '../sinks/json.ts';
import { systemErrorText } from '../sources/errors.ts';
import { type Daemon, PROFILE_WINDOWS, type ProfileWindow } from './daemon.ts';
import { ApiError } from './errors.ts';
import { hostOfHeader, isLoopback } from './listen.ts';
import type { StaticFiles } from './static.ts';
import { validateChange } from './validate.ts';

export interface ServerOptions {
  daemon: Daemon;
  files: StaticFiles;
  /** Bearer token; required when the daemon listens beyond loopback. */
  token?: string;
  /** Largest request body, bytes (default 4096). */
  maxBodyBytes?: number;
  /** One line per unexpected server error (default: stderr). */
  log?(line: string): void;
}

const COOKIE = 'lt_token';
const MAX_URL = 2048;
const MAX_STATUS_SERIES = 32;
/** Time a connection has to send a request's headers, from its start or the end of its previous response. */
export const HEADER_TIMEOUT_MS = 5000;
/** Open connections at most, and from one remote address at most. */
export const MAX_CONNECTIONS = 256;
export const MAX_PER_ADDRESS = 64;
/** The largest `since` (ns): end_ns is an unsigned 64-bit integer. */
const MAX_U64 = 0xffff_ffff_ffff_ffffn;

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time token comparison (hashes first, so lengths leak nothing either). */
export function tokenMatches(given: string | undefined, expected: Buffer): boolean {
  return given !== undefined && timingSafeEqual(digest(given), expected);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string>): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, obj: object, headers: Record<string, string> = {}): void {
  send(res, status, `${jsonLine(obj)}\n`, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  });
}

function sendError(res: ServerResponse, e: ApiError): void {
  sendJson(res, e.status, { error: e.message }, e.headers);
}

/** Query parameters, each at most once, only the allowed ones. */
function query(url: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of url.searchParams) {
    if (!allowed.includes(k)) {
      throw new ApiError(400, `unknown query parameter '${k.slice(0, 40)}' (allowed: ${allowed.join(', ') || 'none'})`);
    }
    if (out.has(k)) throw new ApiError(400, `query parameter '${k}' given twice`);
    out.set(k, v);
  }
  return out;
}

function windowParam(q: Map<string, string>, key: string, dflt: ProfileWindow): ProfileWindow {
  const v = q.get(key);
  if (v === undefined) return dflt;
  if (!(PROFILE_WINDOWS as readonly string[]).includes(v)) {
    throw new ApiError(400, `${key}: '${v.slice(0, 20)}' is not a window (one of ${PROFILE_WINDOWS.join(', ')})`);
  }
  return v as ProfileWindow;
}

function methodNotAllowed(allow: string): ApiError {
  return new ApiError(405, `method not allowed here (allowed: ${allow})`, { Allow: allow });
}

/** Reads a request body of at most `max` bytes (413 beyond, without reading the rest). */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    return Promise.reject(new ApiError(413, `request body over ${max} bytes`, { Connection: 'close' }));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        req.pause();
        reject(new ApiError(413, `request body over ${max} bytes`, { Connection: 'close' }));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks).toString('utf8'));
      }
    });
    req.on('error', (e) => {
      if (!done) {
        done = true;
        reject(new ApiError(400, `request body could not be read (${systemErrorText(e)})`));
      }
    });
  });
}

export function createApiServer(opts: ServerOptions): Server {
  const { daemon, files } = opts;
  const maxBody = opts.maxBodyBytes ?? 4096;
  const expected = opts.token !== undefined ? digest(opts.token) : undefined;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));

  const count = (status: number) => {
    const m = daemon.http;
    if (m.has(status) || m.size < MAX_STATUS_SERIES) m.set(status, (m.get(status) ?? 0) + 1);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > MAX_URL) throw new ApiError(414, `URL longer than ${MAX_URL} characters`);
    if (!rawUrl.startsWith('/')) throw new ApiError(400, 'bad request target');
    let url: URL;
    try {
      url = new URL(rawUrl, 'http://daemon');
    } catch {
      throw new ApiError(400, 'bad URL');
    }
    const path = url.pathname;

    if (expected === undefined) {
      // Loopback without a token: only requests addressed to a loopback name (no DNS rebinding).
      const host = hostOfHeader(req.headers.host);
      if (host === undefined || !isLoopback(host)) {
        throw new ApiError(403, 'this daemon answers only requests addressed to a loopback host (Host header)');
      }
    } else {
      // Logging in from a browser: `/?token=...` once sets a same-site cookie.
      if (path === '/' && method === 'GET' && url.searchParams.has('token')) {
        if (!tokenMatches(url.searchParams.get('token') ?? '', expected)) throw new ApiError(401, 'wrong token');
        res.writeHead(303, {
          ...SECURITY_HEADERS,
          Location: '/',
          'Set-Cookie': `${COOKIE}=${url.searchParams.get('token')}; HttpOnly; SameSite=Strict; Path=/`,
          'Cache-Control': 'no-store',
          'Content-Length': '0',
        });
        res.end();
        return;
      }
      const auth = req.headers.authorization;
      const bearer = auth !== undefined && /^Bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
      const given = bearer ?? cookieValue(req.headers.cookie, COOKIE);
      if (!tokenMatches(given, expected)) {
        throw new ApiError(401, given === undefined ? 'this daemon needs a bearer token' : 'wrong token', {
          'WWW-Authenticate': 'Bearer realm="latency-tracker"',
        });
      }
    }

    const get = method === 'GET' || method === 'HEAD';

    if (path === '/metrics') {
      if (!get) throw methodNotAllowed('GET, HEAD');
      query(url, []);
      send(res, 200, daemon.metrics(), {
        'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
        'Cache-Control': 'no-store',
      });
      return;
    }

    if (path.startsWith('/api/')) {
      await api(req, res, method, url, path);
      return;
    }

    if (!get) throw methodNotAllowed('GET, HEAD');
    const f = files.get(path);
    if (f === undefined) {
      if (path === '/' || path === '/index.html') {
        throw new ApiError(503, `the dashboard is not built (no ${files.dir}/index.html): run sh scripts/prepare.sh`);
      }
      throw new ApiError(404, 'not found');
    }
    const headers: Record<string, string> = {
      'Content-Type': f.type,
      ETag: f.etag,
      'Cache-Control': f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      Vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match'] === f.etag) {
      res.writeHead(304, { ...SECURITY_HEADERS, ...headers });
      res.end();
      return;
    }
    const gz = f.gzip !== undefined && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gz) headers['Content-Encoding'] = 'gzip';
    send(res, 200, gz ? (f.gzip as Buffer) : f.body, headers);
  }

  /** A JSON request body (`PUT`/`POST`): JSON content type, same origin if an Origin is sent, at most `maxBody`. */
  async function jsonBody(req: IncomingMessage): Promise<unknown> {
    const ct = String(req.headers['content-type'] ?? '');
    if (!/^application\/json\s*(;|$)/i.test(ct)) {
      throw new ApiError(415, 'the body must be JSON (Content-Type: application/json)');
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let oh: string | undefined;
      try {
        oh = new URL(origin).host;
      } catch {
        oh = undefined;
      }
      if (oh !== req.headers.host) throw new ApiError(403, 'cross-origin requests may not change settings');
    }
    const text = await readBody(req, maxBody);
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(400, 'the body is not valid JSON');
    }
  }

  async function api(req: IncomingMessage, res: ServerResponse, method: string, url: URL, path: string) {
    const get = method === 'GET' || method === 'HEAD';
    const parts = path.slice(5).split('/');
    // Before the analysis name is decoded: file names have dots.
    if (parts[0] === 'trace-files' && parts.length === 2) {
      if (!get) throw methodNotAllowed('GET, HEAD');
      query(url, []);
      let file: string;
      try {
        file = decodeURIComponent(parts[1]);
      } catch {
        throw new ApiError(400, 'bad percent-encoding in the path');
      }
      const path = daemon.traceFile(file);
      if (path === undefined) throw new ApiError(404, 'no such trace file (removed, or never written here)');
      let size: number;
      try {
        size = statSync(path).size;
      } catch {
        throw new ApiError(404, 'no such trace file (removed meanwhile)');
      }
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': `attachment; filename="${file}"`,
        'Content-Length': String(size),
        'Cache-Control': 'no-store',
      });
      if (method === 'HEAD') {
        res.end();
        return;
      }
      await new Promise<void>((resolve) => {
        const rs = createReadStream(path, { start: 0, end: Math.max(0, size - 1) });
        rs.on('error', () => {
          res.destroy();
          resolve();
        });
        rs.on('end', resolve);
        rs.pipe(res);
      });
      return;
    }
    if (parts[0] === 'report' && parts.length === 1) {
      if (!get) throw methodNotAllowed('GET, HEAD');
      query(url, []);
      const html = daemon.report();
      if (html === undefined) {
        throw new ApiError(503, 'the report page is not built (ui/dist-report/report.html): run sh scripts/prepare.sh');
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const host = daemon.hostName.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
      send(res, 200, method === 'HEAD' ? '' : html, {
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Disposition': `attachment; filename="latency-report-${host}-${stamp}.html"`,
        'Cache-Control': 'no-store',
      });
      return;
    }
    const name = parts[1] !== undefined ? decodeName(parts[1]) : undefined;

    if (parts[0] === 'analyses' && parts.length === 1) {
      if (!get) throw methodNotAllowed('GET, HEAD');
      query(url, []);
      sendJson(res, 200, {
        host: daemon.hostName,
        ...daemon.clock(),
        processed_ns: daemon.processedNs(),
        analyses: daemon.analyses(),
      });
      return;
    }
    if (parts[0] === 'analyses' && parts.length === 2 && name !== undefined) {
      if (get) {
        query(url, []);
        sendJson(res, 200, daemon.analysisInfo(name));
        return;
      }
      if (method !== 'PUT') throw methodNotAllowed('GET, HEAD, PUT');
      query(url, []);
      daemon.analysisInfo(name); // 404 before reading the body
      const body = await jsonBody(req);
      sendJson(res, 200, daemon.update(name, validateChange(body)));
      return;
    }
    if (parts[0] === 'query' && parts.length === 1) {
      // `latency-tracker query` while this daemon holds the store: one read-only statement on it.
      if (method !== 'POST') throw methodNotAllowed('POST');
      query(url, []);
      const body = await jsonBody(req);
      const sql = (body as { sql?: unknown } | null)?.sql;
      if (typeof sql !== 'string' || sql.trim() === '' || Object.keys(body as object).length !== 1) {
        throw new ApiError(400, 'the body must be {"sql": "SELECT ..."}');
      }
      sendJson(res, 200, await daemon.sql(sql));
      return;
    }
    if (parts[0] === 'events' && parts.length === 1) {
      if (!get) throw methodNotAllowed('GET, HEAD');
      const q = query(url, ['analysis', 'since', 'before', 'limit', 'cgroup']);
      const cgroup = q.get('cgroup');
      const bad = cgroup === undefined ? undefined : cgroupPathProblem(cgroup);
      if (bad !== undefined) throw new ApiError(400, `cgroup: ${bad}`);
      const limitText = q.get('limit') ?? '100';
      if (!/^\d{1,7}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 1000) {
        throw new ApiError(400, `limit: '${limitText.slice(0, 20)}' is not an integer in 1..1000`);
      }
      const sinceText = q.get('since');
      if (sinceText !== undefined && !/^\d{1,20}$/.test(sinceText)) {
        throw new ApiError(400, `since: '${sinceText.slice(0, 24)}' is not a time in ns (a non-negative integer)`);
      }
      if (sinceText !== undefined && BigInt(sinceText) > MAX_U64) {
        throw new ApiError(400, `since: ${sinceText} is beyond the largest time in ns (2^64 - 1)`);
      }
      const beforeText = q.get('before');
      if (beforeText !== undefined && !/^\d{1,20}$/.test(beforeText)) {
        throw new ApiError(400, `before: '${beforeText.slice(0, 24)}' is not a time in ns (a non-negative integer)`);
      }
      if (beforeText !== undefined && BigInt(beforeText) > MAX_U64) {
        throw new ApiError(400, `before: ${beforeText} is beyond the largest time in ns (2^64 - 1)`);
      }
      const events = await daemon.events({
        analysis: q.get('analysis'),
        since: sinceText === undefined ? undefined : BigInt(sinceText),
        before: beforeText === undefined ? undefined : BigInt(beforeText),
        limit: Number(limitText),
        cgroup,
      });
      sendJson(res, 200, { events });
      return;
    }
    if (parts[0] === 'events' && parts.length === 2 && parts[1] === 'stream') {
      if (method !== 'GET') throw methodNotAllowed('GET');
      const q = query(url, ['analysis']);
      const analysis = q.get('analysis');
      if (analysis !== undefined) daemon.analysisInfo(analysis); // 404 for an unknown one
      const hello = { type: 'hello', host: daemon.hostName, ...daemon.clock() };
      if (!daemon.hub.open(res, analysis, hello, SECURITY_HEADERS)) {
        throw new ApiError(503, 'too many event streams are open; try again later', { 'Retry-After': '5' });
      }
      return;
    }
    if (parts[0] === 'profiles' && parts.length === 2 && name !== undefined) {
      if (!get) throw methodNotAllowed('GET, HEAD');
      const q = query(url, ['window']);
      sendJson(res, 200, daemon.profile(name, windowParam(q, 'window', '1m')));
      return;
    }
    if (parts[0] === 'compare' && parts.length === 1) {
      if (!get) throw methodNotAllowed('GET, HEAD');
      const q = query(url, ['analysis', 'current', 'baseline']);
      sendJson(
        res,
        200,
        daemon.compare(q.get('analysis'), windowParam(q, 'current', '1m'), windowParam(q, 'baseline', '1h')),
      );
      return;
    }
    throw new ApiError(404, 'no such API endpoint');
  }

  const server = createServer(
    { requestTimeout: 10_000, headersTimeout: HEADER_TIMEOUT_MS, keepAliveTimeout: 5_000 },
    (req, res) => {
      const conn = conns.get(req.socket);
      if (conn !== undefined) {
        conn.active++;
        clearTimeout(conn.timer);
        res.on('close', () => {
          conn.active--;
          if (conn.active === 0) arm(req.socket, conn);
        });
      }
      res.on('finish', () => count(res.statusCode));
      handle(req, res).catch((e: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (e instanceof ApiError) sendError(res, e);
        else {
          log(`latency-tracker: internal error answering ${req.method} ${String(req.url).slice(0, 200)}: ${String(e)}`);
          sendError(res, new ApiError(500, 'internal error'));
        }
      });
    },
  );
  server.maxHeadersCount = 64;

  /** Open connections, oldest first (a Map keeps insertion order), and how many each address has. */
  interface Conn {
    addr: string;
    /** Requests in progress (0 = idle: none sent yet, or between keep-alive requests). */
    active: number;
    timer: NodeJS.Timeout | undefined;
  }
  const conns = new Map<Socket, Conn>();
  const perAddress = new Map<string, number>();

  /** An answer written straight to a socket the HTTP layer has not answered (parser errors, timeouts, refusals). */
  const rawError = (socket: Socket, status: number, message: string): void => {
    count(status);
    if (socket.writable) {
      const body = `${jsonLine({ error: message })}\n`;
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    // A client that never reads must not keep the socket: close it for good shortly after the answer.
    setTimeout(() => socket.destroy(), 1000).unref();
  };

  /**
   * Gives an idle connection `HEADER_TIMEOUT_MS` to send its next request's headers. One that sent nothing since is
   * closed silently (as an idle keep-alive connection is); one stuck in the middle of its headers gets a 408.
   */
  const arm = (socket: Socket, conn: Conn): void => {
    clearTimeout(conn.timer);
    if (!conns.has(socket)) return; // closed already (its response ended after the socket)
    const bytesBefore = socket.bytesRead;
    conn.timer = setTimeout(() => {
      if (conn.active > 0 || !conns.has(socket)) return;
      daemon.connections.timedOut++;
      if (socket.bytesRead === bytesBefore) socket.destroy();
      else rawError(socket, 408, `request headers not received within ${HEADER_TIMEOUT_MS / 1000} s`);
    }, HEADER_TIMEOUT_MS);
    conn.timer.unref();
  };

  /** Closes the oldest idle connection (of `addr` if given); false when every one is busy. */
  const evictIdle = (addr: string | undefined): boolean => {
    for (const [socket, c] of conns) {
      if (c.active === 0 && (addr === undefined || c.addr === addr)) {
        daemon.connections.evicted++;
        socket.destroy();
        forget(socket);
        return true;
      }
    }
    return false;
  };

  const forget = (socket: Socket): void => {
    const c = conns.get(socket);
    if (c === undefined) return;
    clearTimeout(c.timer);
    conns.delete(socket);
    const n = (perAddress.get(c.addr) ?? 1) - 1;
    if (n <= 0) perAddress.delete(c.addr);
    else perAddress.set(c.addr, n);
  };

  server.on('connection', (socket: Socket) => {
    const addr = socket.remoteAddress ?? '?';
    if ((perAddress.get(addr) ?? 0) >= MAX_PER_ADDRESS && !evictIdle(addr)) {
      daemon.connections.refused++;
      rawError(socket, 503, `too many busy connections from ${addr.slice(0, 60)}; try again later`);
      return;
    }
    if (conns.size >= MAX_CONNECTIONS && !evictIdle(undefined)) {
      daemon.connections.refused++;
      rawError(socket, 503, 'too many busy connections; try again later');
      return;
    }
    const conn: Conn = { addr, active: 0, timer: undefined };
    conns.set(socket, conn);
    perAddress.set(addr, (perAddress.get(addr) ?? 0) + 1);
    socket.on('close', () => forget(socket));
    arm(socket, conn);
  });

  // Requests Node's own HTTP parser refuses (a bad request line, headers over 16 KiB, headers too slow) get the
  // same JSON error body as every other error.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const inResponse = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (inResponse) {
      socket.destroy();
      return;
    }
    if (err.code === 'HPE_HEADER_OVERFLOW') rawError(socket, 431, 'request headers too large (over 16 KiB)');
    else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      daemon.connections.timedOut++;
      rawError(socket, 408, `request not received within ${HEADER_TIMEOUT_MS / 1000} s`);
    } else rawError(socket, 400, `bad HTTP request (${String(err.code ?? 'parse error').slice(0, 40)})`);
  });
  return server;
}

/** A path segment naming an analysis: decoded, and only characters analysis names use. */
function decodeName(seg: string): string {
  let s: string;
  try {
    s = decodeURIComponent(seg);
  } catch {
    throw new ApiError(400, 'bad percent-encoding in the path');
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(s)) throw new ApiError(404, `unknown analysis '${s.slice(0, 40)}'`);
  return s;
}
