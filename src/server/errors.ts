/** An error answered to an HTTP client: a status and one sentence (`{"error": "..."}`), never a stack trace. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
