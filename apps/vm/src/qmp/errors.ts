/**
 * The error classes QMP replies carry (QEMU's QapiErrorClass). QEMU uses
 * GenericError for nearly everything; the others survive for compatibility
 * and are used where QEMU still uses them.
 */
export type QmpErrorClass =
  | 'GenericError'
  | 'CommandNotFound'
  | 'DeviceNotActive'
  | 'DeviceNotFound'
  | 'KVMMissingCap';

/** A command's failure, sent to the client as `{"error": {"class", "desc"}}`. */
export class QmpError extends Error {
  override readonly name = 'QmpError';

  constructor(
    readonly errorClass: QmpErrorClass,
    readonly desc: string,
  ) {
    super(desc);
  }
}

export const genericError = (desc: string) => new QmpError('GenericError', desc);
