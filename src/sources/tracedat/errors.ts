/**
 * The one error a trace.dat file can cause: something at a file offset is not what the format says. Thrown while
 * opening (headers, options, metadata sections); problems inside CPU data are counted in `SourceStats.errors`
 * instead, and the valid part is still delivered.
 */
export class TraceDatError extends Error {
  constructor(
    readonly file: string,
    /** Absolute file offset of the bad or missing bytes. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`${file}: offset ${offset}: ${reason}`);
    this.name = 'TraceDatError';
  }
}
