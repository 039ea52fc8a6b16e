/** Setup failure the user can act on (not root, no tracefs, missing event, bad file): one sentence, exit code 2. */
export class SetupError extends Error {
  override name = 'SetupError';
  readonly exitCode = 2;
}
