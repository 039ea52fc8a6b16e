/** Setup failure the user can act on (not root, no tracefs, missing event, bad file): one sentence, exit code 2. */
export class SetupError extends Error {
  override name = 'SetupError';
  readonly exitCode = 2;
}

/** What an operating-system error code means, in words (no raw `ENOENT` in a message). */
const SYSTEM_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'already exists',
  EBUSY: 'busy',
  ENODEV: 'no such device',
  ENOSPC: 'no space left on the device',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EINVAL: 'invalid argument',
  EIO: 'input/output error',
  ENOMEM: 'out of memory',
  EAGAIN: 'resource temporarily unavailable',
  EADDRINUSE: 'address in use (another program listens there)',
  EADDRNOTAVAIL: 'no such address on this machine',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EPIPE: 'broken pipe',
};

/**
 * A thrown error as words for a one-line message: an operating-system error by what its code means
 * (`no such file or directory`, `address in use ...`), anything else by its first message line.
 */
export function systemErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && SYSTEM_ERRORS[code] !== undefined) return SYSTEM_ERRORS[code];
  const msg = String((e as Error | undefined)?.message ?? e).split('\n')[0];
  // Node's form "ECODE: words, syscall 'path'": keep the words.
  const m = /^E[A-Z0-9]+: ([^,]+)/.exec(msg);
  return m !== null ? m[1] : msg;
}

/** True for an error the operating system raised (it has an `E...` code). */
export function isSystemError(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}
