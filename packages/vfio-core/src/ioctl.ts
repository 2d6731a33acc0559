import { type FdTable, fail } from '@tsvirt/core-bus';
import { VfioFile } from './vfio-file.ts';

/**
 * ioctl(2) on a descriptor of `fds`: EBADF for a closed descriptor, ENOTTY
 * for a file that has no ioctls (not a VFIO file). `fds` is also the
 * caller's table the ioctl resolves fd arguments in (current->files).
 */
export function ioctl(fds: FdTable, fd: number, cmd: number, arg?: unknown): number {
  const f = fds.get(fd);
  if (!(f instanceof VfioFile)) fail('ENOTTY', `fd ${fd} has no VFIO ioctls`);
  return f.ioctl(cmd, arg, fds);
}
