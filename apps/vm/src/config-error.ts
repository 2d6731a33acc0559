/**
 * A problem with what the user asked for (a flag, a file): reported as one
 * line on stderr and exit status 2, never as a stack trace.
 */
export class VmConfigError extends Error {
  override readonly name = 'VmConfigError';
}

/** Exit statuses of the VMM process, as `--help` documents them. */
export const EXIT_SHUTDOWN = 0;
export const EXIT_GUEST_FAILURE = 1;
export const EXIT_BAD_CONFIG = 2;
export const EXIT_VM_ERROR = 3;
export const EXIT_GUEST_RESET = 4;
export const EXIT_USER_QUIT = 130;
/** stdout was closed (its reader, e.g. `head`, exited): 128 + SIGPIPE, as a process SIGPIPE ended. */
export const EXIT_STDOUT_CLOSED = 141;
