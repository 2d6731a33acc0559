import { ERRNO, type ErrnoCode, STRERROR } from './errno.ts';

/**
 * A failed "system call", shaped like Node's SystemError: `code` is the errno
 * name, `errno` its number, and `syscall` the operation (an ioctl name such as
 * `VFIO_IOMMU_MAP_DMA`). The message says what was wrong with the input, which
 * the kernel cannot, but the code is always exactly the kernel's.
 */
export class KernelError extends Error {
  /** Always 'KernelError'. */
  override readonly name = 'KernelError';
  /** The errno name, e.g. 'EINVAL'. */
  readonly code: ErrnoCode;
  /** The errno number, e.g. 22. */
  readonly errno: number;
  /** The failed operation (an ioctl or function name), if known. */
  readonly syscall: string | undefined;
  /** What was wrong, without the syscall and errno prefix (the `message` argument). */
  readonly detail: string | undefined;

  constructor(code: ErrnoCode, message?: string, syscall?: string) {
    const text = STRERROR[code] ?? code;
    super(`${syscall ? `${syscall}: ` : ''}${code} (${text})${message ? `: ${message}` : ''}`);
    this.code = code;
    this.errno = ERRNO[code];
    this.syscall = syscall;
    this.detail = message || undefined;
  }

  /** The negative return value a kernel function would give, e.g. -22. */
  get ret(): number {
    return -this.errno;
  }
}

/** Throws a KernelError; reads like the kernel's `return -EINVAL;`. */
export function fail(code: ErrnoCode, message?: string, syscall?: string): never {
  throw new KernelError(code, message, syscall);
}

/** True when `e` is a `KernelError`, and, if `code` is given, one with that errno. */
export function isKernelError(e: unknown, code?: ErrnoCode): e is KernelError {
  return e instanceof KernelError && (code === undefined || e.code === code);
}
