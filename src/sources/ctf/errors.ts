/**
 * Errors of the CTF reader. Every message is one line that names the file and the byte offset, so the CLI can print
 * it as is (`latency-tracker: <message>`): never a stack trace.
 */

export class CtfError extends Error {
  override readonly name: string = 'CtfError';
  /**
   * @param file the file the problem is in (metadata or stream file)
   * @param offset byte offset in that file, or -1 when it does not apply
   * @param detail what is wrong, one line, no trailing period
   */
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(offset >= 0 ? `${file}: offset ${offset} (0x${offset.toString(16)}): ${detail}` : `${file}: ${detail}`);
  }
}

/** The metadata cannot be read or parsed, or declares something this reader cannot decode. */
export class CtfMetadataError extends CtfError {
  override readonly name = 'CtfMetadataError';
}

/** A data stream is damaged (bad magic, truncated packet, unknown event id, ...), raised only in strict mode. */
export class CtfStreamError extends CtfError {
  override readonly name = 'CtfStreamError';
}
