/**
 * The Linux errno numbers (include/uapi/asm-generic/errno-base.h and errno.h),
 * as used on RISC-V, arm64 and x86. Names and values are the ABI: user code
 * compares `err.code` or `err.errno` exactly as it would after a failed ioctl.
 */
export const ERRNO = {
  /** Not permitted (lacking privilege or ownership). */
  EPERM: 1,
  /** No such file, directory or entry. */
  ENOENT: 2,
  /** No such process. */
  ESRCH: 3,
  /** Interrupted by a signal. */
  EINTR: 4,
  /** I/O error. */
  EIO: 5,
  /** No such device or address. */
  ENXIO: 6,
  /** Argument list too long. */
  E2BIG: 7,
  /** Not an executable format. */
  ENOEXEC: 8,
  /** Bad file descriptor. */
  EBADF: 9,
  /** No child processes. */
  ECHILD: 10,
  /** Try again (also EWOULDBLOCK). */
  EAGAIN: 11,
  /** Out of memory. */
  ENOMEM: 12,
  /** Permission denied. */
  EACCES: 13,
  /** Bad user address. */
  EFAULT: 14,
  /** A block device is required. */
  ENOTBLK: 15,
  /** Device or resource busy. */
  EBUSY: 16,
  /** Already exists. */
  EEXIST: 17,
  /** Cross-device link. */
  EXDEV: 18,
  /** No such device. */
  ENODEV: 19,
  /** Not a directory. */
  ENOTDIR: 20,
  /** Is a directory. */
  EISDIR: 21,
  /** Invalid argument. */
  EINVAL: 22,
  /** Too many open files system-wide. */
  ENFILE: 23,
  /** Too many open files in this process. */
  EMFILE: 24,
  /** Not a tty (unknown ioctl for this file). */
  ENOTTY: 25,
  /** Text file busy. */
  ETXTBSY: 26,
  /** File too large. */
  EFBIG: 27,
  /** No space left on device. */
  ENOSPC: 28,
  /** Illegal seek. */
  ESPIPE: 29,
  /** Read-only file system. */
  EROFS: 30,
  /** Too many links. */
  EMLINK: 31,
  /** Broken pipe. */
  EPIPE: 32,
  /** Argument outside the function's domain. */
  EDOM: 33,
  /** Result out of range. */
  ERANGE: 34,
  /** Deadlock would occur (also EDEADLOCK). */
  EDEADLK: 35,
  /** Name too long. */
  ENAMETOOLONG: 36,
  /** No record locks available. */
  ENOLCK: 37,
  /** Function not implemented. */
  ENOSYS: 38,
  /** Directory not empty. */
  ENOTEMPTY: 39,
  /** Too many symbolic links. */
  ELOOP: 40,
  /** No message of the desired type. */
  ENOMSG: 42,
  /** Identifier removed. */
  EIDRM: 43,
  /** Not a stream. */
  ENOSTR: 60,
  /** No data available. */
  ENODATA: 61,
  /** Timer expired. */
  ETIME: 62,
  /** Out of stream resources. */
  ENOSR: 63,
  /** Link has been severed. */
  ENOLINK: 67,
  /** Protocol error. */
  EPROTO: 71,
  /** Bad message. */
  EBADMSG: 74,
  /** Value too large for its type. */
  EOVERFLOW: 75,
  /** File descriptor in bad state. */
  EBADFD: 77,
  /** Illegal byte sequence. */
  EILSEQ: 84,
  /** Too many users. */
  EUSERS: 87,
  /** Not a socket. */
  ENOTSOCK: 88,
  /** Message too long. */
  EMSGSIZE: 90,
  /** Protocol not supported. */
  EPROTONOSUPPORT: 93,
  /** Operation not supported (also ENOTSUP). */
  EOPNOTSUPP: 95,
  /** Address already in use. */
  EADDRINUSE: 98,
  /** Address not available. */
  EADDRNOTAVAIL: 99,
  /** Network is down. */
  ENETDOWN: 100,
  /** Connection reset by peer. */
  ECONNRESET: 104,
  /** No buffer space available. */
  ENOBUFS: 105,
  /** Already connected. */
  EISCONN: 106,
  /** Not connected. */
  ENOTCONN: 107,
  /** Timed out. */
  ETIMEDOUT: 110,
  /** Connection refused. */
  ECONNREFUSED: 111,
  /** No route to host. */
  EHOSTUNREACH: 113,
  /** Operation already in progress. */
  EALREADY: 114,
  /** Operation now in progress. */
  EINPROGRESS: 115,
  /** Stale file handle. */
  ESTALE: 116,
  /** Quota exceeded. */
  EDQUOT: 122,
  /** Operation canceled. */
  ECANCELED: 125,
  /** Owner of a robust mutex died. */
  EOWNERDEAD: 130,
  /** State not recoverable. */
  ENOTRECOVERABLE: 131,
  /** Blocked by RF-kill. */
  ERFKILL: 132,
  /** Memory page has a hardware error. */
  EHWPOISON: 133,
} as const;

/** An errno name (`'EINVAL'`, `'EFAULT'`, ...), the `code` of a `KernelError`. */
export type ErrnoCode = keyof typeof ERRNO;

/** EWOULDBLOCK and EDEADLOCK are aliases in Linux, not distinct numbers. */
export const ERRNO_ALIASES = {
  /** Same number as EAGAIN. */
  EWOULDBLOCK: 'EAGAIN',
  /** Same number as EDEADLK. */
  EDEADLOCK: 'EDEADLK',
  /** Same number as EOPNOTSUPP. */
  ENOTSUP: 'EOPNOTSUPP',
} as const;

const BY_NUMBER = new Map<number, ErrnoCode>(
  (Object.entries(ERRNO) as [ErrnoCode, number][]).map(([code, n]) => [n, code]),
);

/** The errno name for a number, as `strerrorname_np` would give it. */
export function errnoName(errno: number): ErrnoCode | undefined {
  return BY_NUMBER.get(errno);
}

/** Short strerror() texts for the errnos this project returns most. */
export const STRERROR: Partial<Record<ErrnoCode, string>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long',
  EBADF: 'Bad file descriptor',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  ENODEV: 'No such device',
  EINVAL: 'Invalid argument',
  ENOTTY: 'Inappropriate ioctl for device',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  ERANGE: 'Numerical result out of range',
  ENOSYS: 'Function not implemented',
  EOVERFLOW: 'Value too large for defined data type',
  EUSERS: 'Too many users',
  EOPNOTSUPP: 'Operation not supported',
  EALREADY: 'Operation already in progress',
};
