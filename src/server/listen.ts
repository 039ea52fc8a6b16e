/**
 * `--listen` and `--token` checking (pure): where the daemon binds, and whether that needs a token.
 */
import { isIP } from 'node:net';

export interface ListenAddress {
  /** IP literal (IPv6 without brackets), or `localhost`. */
  host: string;
  port: number;
}

export const DEFAULT_LISTEN = '127.0.0.1:9555';

/** Parses `HOST:PORT` (`[V6]:PORT` for IPv6). Returns an error sentence for anything else. */
export function parseListen(text: string): ListenAddress | string {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return `'${text}' is not HOST:PORT (e.g. 127.0.0.1:9555, [::1]:9555, 0.0.0.0:9555)`;
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  if (port > 65535) return `port ${port} is out of range (0..65535)`;
  if (host !== 'localhost' && isIP(host) === 0) return `'${host}' is not an IP address (or localhost)`;
  if (m[1] !== undefined && isIP(host) !== 6) return `'[${host}]' is not an IPv6 address`;
  return { host, port };
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return /^::ffff:127\./.test(h);
}

/** A bearer token: 16 to 256 printable ASCII characters, no spaces or quotes. Returns an error sentence or undefined. */
export function checkToken(token: string): string | undefined {
  if (!/^[\x21-\x7e]{16,256}$/.test(token) || /["';,\\]/.test(token)) {
    return 'a token is 16 to 256 printable ASCII characters without spaces, quotes, commas, semicolons or backslashes';
  }
  return undefined;
}

/** The host part of a `Host` header (`127.0.0.1:9555`, `[::1]:9555`, `localhost`), lower case; undefined if bad. */
export function hostOfHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(header.trim());
  if (m === null) return undefined;
  return (m[1] ?? m[2]).toLowerCase();
}
