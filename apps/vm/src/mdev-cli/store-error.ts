/** A store problem (a malformed file, a bad field): one line, naming the file. */
export class MdevStoreError extends Error {
  override readonly name = 'MdevStoreError';
}
