import { fail } from './kernel-error.ts';

/** Anything a file descriptor can refer to: an eventfd, a VFIO group, a KVM VM... */
export interface KernelFile {
  /** Called when the last descriptor referring to this file is closed (fput -> release). */
  release?(): void;
}

/**
 * A process's descriptor table (struct files_struct): small integers naming
 * open files, lowest free number first, as POSIX requires. The same file may
 * sit behind several descriptors (dup); `release()` runs when the last one
 * closes. Lookups of a closed or never-opened descriptor are EBADF.
 */
export class FdTable {
  private readonly files: (KernelFile | undefined)[] = [];
  private readonly refs = new Map<KernelFile, number>();

  /** fd_install(): the lowest free descriptor now refers to `file`. */
  install(file: KernelFile): number {
    let fd = this.files.indexOf(undefined);
    if (fd < 0) fd = this.files.length;
    this.files[fd] = file;
    this.refs.set(file, (this.refs.get(file) ?? 0) + 1);
    return fd;
  }

  /** fget(): the file behind `fd`, or EBADF. */
  get(fd: number): KernelFile {
    const f = Number.isInteger(fd) && fd >= 0 ? this.files[fd] : undefined;
    if (f === undefined) fail('EBADF', `fd ${fd} is not open`);
    return f;
  }

  /** The file behind `fd` if it is of class `cls`; EBADF if not open, `wrong` (EINVAL by default) if another kind. */
  getAs<T extends KernelFile>(
    fd: number,
    cls: abstract new (...a: any[]) => T,
    wrong: 'EINVAL' | 'EBADF' = 'EINVAL',
  ): T {
    const f = this.get(fd);
    if (!(f instanceof cls)) fail(wrong, `fd ${fd} is not a ${cls.name}`);
    return f;
  }

  /** Duplicate a descriptor onto the lowest free number (dup(2)). */
  dup(fd: number): number {
    return this.install(this.get(fd));
  }

  /** Close a descriptor; the file is released with its last reference. */
  close(fd: number): void {
    const f = this.get(fd);
    this.files[fd] = undefined;
    const n = this.refs.get(f)! - 1;
    if (n === 0) {
      this.refs.delete(f);
      f.release?.();
    } else {
      this.refs.set(f, n);
    }
  }

  /** Process exit: close every descriptor, highest first. */
  closeAll(): void {
    for (let fd = this.files.length - 1; fd >= 0; fd--) if (this.files[fd] !== undefined) this.close(fd);
  }

  /** Number of open descriptors. */
  get openCount(): number {
    return this.files.filter((f) => f !== undefined).length;
  }
}
